"""The parameter contract every lab shares: check each value in the lab's first cells, stop with the allowed values.

Every lab takes ``SMOKE``, ``MODEL``, ``PRETRAINED`` and ``THREADS`` plus knobs of its own.
:func:`check_common` checks the four shared ones (and that pretrained weights can really be had for
``MODEL``); :func:`check_int`, :func:`check_ints`, :func:`check_float`, :func:`check_choice` and
:func:`check_choices` check a lab's own knobs (and labkit's own arguments). Each raises :class:`ParameterError`,
which a notebook shows as its message alone: what was given, what is allowed, what to change.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.errors import ParameterError


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_bool(name: str, value: object) -> bool:
    """``value`` must be True or False."""
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r} ({type(value).__name__}); "
                             f"in papermill pass -p {name} True (not a quoted string)")
    return value


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` must be a whole number in ``[low, high]``."""
    upper = "" if high is None else f" and ≤ {high}"
    if not _is_int(value) or value < low or (high is not None and value > high):
        raise ParameterError(f"{name} must be a whole number ≥ {low}{upper}, got {value!r}")
    return value


def check_ints(name: str, values: object, low: int, high: int | None = None, example: str = "[8, 32]") -> list[int]:
    """``values`` must be a non-empty list of distinct whole numbers in ``[low, high]``; returned sorted."""
    span = f"≥ {low}" if high is None else f"from {low} to {high}"
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
        raise ParameterError(f"{name} must be a non-empty list of whole numbers {span}, got {values!r}; "
                             f"e.g. {name} = {example}")
    bad = [v for v in values if not _is_int(v) or v < low or (high is not None and v > high)]
    if bad:
        raise ParameterError(f"{name} has {bad}: each entry must be a whole number {span}; got {list(values)}")
    if len(set(values)) != len(values):
        raise ParameterError(f"{name} lists a value twice: {list(values)}; give each once, e.g. {name} = {sorted(set(values))}")
    return sorted(values)


def check_float(name: str, value: object, low: float, high: float | None = None, low_inclusive: bool = False) -> float:
    """``value`` must be a number above ``low`` (or equal, with ``low_inclusive``) and at most ``high``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value >= low if low_inclusive else value > low) and (high is None or value <= high)
    if not ok:
        bound = f"{'≥' if low_inclusive else '>'} {low:g}" + ("" if high is None else f" and ≤ {high:g}")
        raise ParameterError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _member(value: object, allowed: Sequence[object]) -> bool:
    """``value`` is in ``allowed`` with the same type (True is not 1, 1.0 is not 1)."""
    return any(type(value) is type(option) and value == option for option in allowed)


def check_choice(name: str, value: object, allowed: Sequence[object]) -> object:
    """``value`` must be one of ``allowed`` (and of the same type)."""
    if not _member(value, allowed):
        raise ParameterError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_choices(name: str, values: object, allowed: Sequence[object], min_count: int = 1) -> list:
    """``values`` must be a list of distinct members of ``allowed`` (at least ``min_count``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ParameterError(f"{name} must be a list drawn from {list(allowed)}, got {values!r}; "
                             f"e.g. {name} = {list(allowed)[:2]}")
    unknown = [v for v in values if not _member(v, allowed)]
    if unknown:
        raise ParameterError(f"{name} has {unknown}, not among the allowed {list(allowed)}")
    if any(values[j] == values[i] for i in range(len(values)) for j in range(i)):
        raise ParameterError(f"{name} lists a value twice: {list(values)}; give each once")
    if len(values) < min_count:
        raise ParameterError(f"{name} needs at least {min_count} value(s) from {list(allowed)}, got {list(values)}")
    return list(values)


def max_threads() -> int:
    """The most threads a lab admits: the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def check_threads(value: object, as_list: bool) -> list[int] | int:
    """``THREADS``: a whole number (``as_list=False``) or a list of distinct ones, each 1 … cores."""
    cores = max_threads()
    if not as_list:
        if not _is_int(value) or not 1 <= value <= cores:
            raise ParameterError(f"THREADS must be one whole number from 1 to {cores} (this machine's cores), "
                                 f"got {value!r}; e.g. THREADS = {min(2, cores)}")
        return value
    try:
        return check_ints("THREADS", value, 1, cores, example=str(list(range(1, min(2, cores) + 1))))
    except ParameterError as error:
        raise ParameterError(f"{error} ({cores} = this machine's cores)") from None


@dataclass(frozen=True)
class Common:
    """The four shared parameters, checked (``threads`` sorted when a list)."""

    smoke: bool
    model: str
    pretrained: bool
    threads: list[int] | int


def check_common(SMOKE: object, MODEL: object, PRETRAINED: object, THREADS: object,
                 threads_as_list: bool, models: Sequence[str] | None = None) -> Common:
    """Check ``SMOKE``, ``MODEL``, ``PRETRAINED`` and ``THREADS``; stop with the allowed values.

    ``models`` limits ``MODEL`` to what the lab serves (default: every registry model). With
    ``PRETRAINED=True`` the model's real weights must be obtainable now (offline: installed or cached).
    """
    from labkit.model.models import REGISTRY, weights_availability

    check_bool("SMOKE", SMOKE)
    allowed = list(models) if models is not None else sorted(REGISTRY)
    if not isinstance(MODEL, str) or MODEL not in allowed:
        raise ParameterError(f"MODEL must be one of {allowed}, got {MODEL!r}")
    check_bool("PRETRAINED", PRETRAINED)
    if PRETRAINED:
        available, why = weights_availability(MODEL)
        if not available:
            with_weights = [name for name in allowed if weights_availability(name)[0]]
            raise ParameterError(f"PRETRAINED=True needs {MODEL}'s real weights, and {why}. Either set "
                                 f"PRETRAINED = False (random weights: timing and export still mean something, "
                                 f"predictions do not) or choose a MODEL with weights here: {with_weights}")
    threads = check_threads(THREADS, threads_as_list)
    return Common(SMOKE, MODEL, PRETRAINED, threads)
