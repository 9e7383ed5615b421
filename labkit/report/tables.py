"""Tables a learner can read: whole sentences, text left-aligned, numbers right-aligned and rounded."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler


def _number(value: object, digits: int) -> object:
    """Floats with ``digits`` significant digits, but never in exponent form at or above 1 (1,234.5, not 1.23e+03)."""
    if not isinstance(value, float):
        return value
    if value != value:
        return "—"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:,.1f}"
    return f"{value:.{digits}g}"


def show(frame: pd.DataFrame, digits: int = 3, index: bool = False) -> Styler:
    """A styled view of ``frame`` for a notebook: no text is cut (pandas' plain display stops at 50
    characters), text columns are left-aligned, floats show ``digits`` significant digits."""
    text_columns = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    styler = frame.style.format(precision=digits, thousands=",", na_rep="—", subset=None)
    styler = styler.format(lambda v: _number(v, digits),
                           subset=[c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])])
    if text_columns:
        styler = styler.set_properties(subset=text_columns, **{"text-align": "left", "white-space": "normal"})
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    return styler if index else styler.hide(axis="index")


def plain(frame: pd.DataFrame) -> str:
    """The same table as text with nothing cut (for a print or a log)."""
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    widths = {c: max([len(str(c))] + [len(str(v)) for v in frame[c]]) for c in text}
    formatters = {c: (lambda v, w=widths[c]: f"{str(v):<{w}}") for c in text}
    with pd.option_context("display.max_colwidth", None, "display.width", 250, "display.max_columns", None):
        return frame.to_string(index=False, justify="left", formatters=formatters)
