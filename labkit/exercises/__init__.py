"""Exercise checkers, one module per lab topic: ``from labkit.exercises import fusion as checks``.

Shared parts in :mod:`labkit.exercises.core`; the list of exercises and their solutions in
:mod:`labkit.exercises.catalog`."""
