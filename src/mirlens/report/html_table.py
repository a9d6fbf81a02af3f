"""HTML pieces the report pages share: escaping, numbers as the tables print them, a DataFrame as an HTML table."""

from __future__ import annotations

import html
import math

import pandas as pd


def esc(x) -> str:
    """``x`` as HTML text."""
    return html.escape(str(x))


def fmt_num(v, nd: int = 4) -> str:
    """A table cell's number: thousands separators for ints, ``NA`` for NaN, ``nd`` decimals (3 significant digits
    for very small or large values)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "NA"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.3g}"
        return f"{v:.{nd}f}"
    return str(v)


def html_table(df: pd.DataFrame, *, columns: list[str] | None = None, nd: int = 4, verdict_col: str | None = None,
               max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table (numbers right-aligned; a verdict column colours its rows)."""
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    if max_rows is not None:
        df = df.head(max_rows)
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    body = []
    for rec in df.to_dict("records"):
        cls = ""
        if verdict_col is not None:
            v = rec.get(verdict_col, "")
            cls = f' class="{"reproduced" if v == "reproduced" else "differs" if v == "differs" else "na"}"'
        cells = []
        for c in df.columns:
            v = rec[c]
            if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
                cells.append(f'<td class="num">{esc(fmt_num(v, nd))}</td>')
            else:
                cells.append(f"<td>{esc(v)}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<div class='tw'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
