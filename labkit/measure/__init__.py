"""Measuring and judging: latency, memory, speed claims under noise, parity, the roofline, the machine."""
