"""The course, workshop and kit tooling: the ``labkit`` command, course map, progress, sweeps, collect, doctor."""
