"""The report's HTML pieces: tables, CSV downloads (made safe for spreadsheets), charts."""

from __future__ import annotations

import base64
import csv
import html
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fmt(value) -> str:
    """A cell: floats up to 1 are shares (shown as %), larger ones amounts."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2%}" if value <= 1 else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def csv_safe(value):
    """OWASP CSV injection rule: a text cell a spreadsheet would run as a formula gets a
    leading apostrophe (shown as text, the value readable). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_link(rows: list[dict], columns: list[str], name: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_safe(c) for c in columns])
    writer.writerows([[csv_safe(r.get(c)) for c in columns] for r in rows])
    payload = base64.b64encode(buffer.getvalue().encode()).decode()
    return (f'<a class="csv" download="{name}" href="data:text/csv;base64,{payload}">'
            f"Download {name}</a>")


def chart(key: str, title: str, figure) -> str:
    """A section with one Plotly figure (plotly.js is embedded once, in the page head)."""
    return (f"<section><h2>{html.escape(title)}</h2>"
            + figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{key}",
                             config={"displaylogo": False})
            + "</section>")


def cards(items: list[tuple[str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{html.escape(k)}</div>'
        f'<div class="v">{html.escape(v)}</div></div>' for k, v in items) + "</div>"
