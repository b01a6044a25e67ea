"""The shell of Pitwall's self-contained HTML reports: one stylesheet, plotly.js inline once, escaped text.

A report opens offline: plotly.js is inlined once in the head and every chart after it refers to it.
Text from users or their data goes through `escape`, since it may hold markup or scripts.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #d1d5db; } h3 { font-size: 1rem; margin-bottom: 0.3rem; }
.meta, .note { color: #4b5563; font-size: 0.9rem; }
.scorecard { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 0.5rem; }
.tile { border: 1px solid #d1d5db; border-radius: 6px; padding: 0.5rem 0.7rem; }
.tile .value { font-size: 1.4rem; font-weight: 600; } .tile .label { font-size: 0.85rem; color: #4b5563; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #d1d5db; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
.passed { color: #15803d; font-weight: 600; } .failed { color: #b91c1c; font-weight: 600; }
.unchecked { color: #6b7280; }
.example { font-family: ui-monospace, monospace; font-size: 0.8rem; white-space: pre-wrap; word-break: break-word; }
.rows { font-size: 0.85rem; word-break: break-word; }
.chart { break-inside: avoid; page-break-inside: avoid; margin: 0.5rem 0; }
.finding { break-inside: avoid; page-break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } }
"""


def html_page(title: str, body: str, extra_css: str = "") -> str:
    """A whole HTML document: `title` (escaped here), the stylesheet, plotly.js, and `body` (already HTML)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}{extra_css}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def chart_html(figure: go.Figure) -> str:
    """A figure's div and script, without plotly.js (the head has it once)."""
    return '<div class="chart">' + figure.to_html(full_html=False, include_plotlyjs=False) + "</div>"


def escape(value: Any) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes as well)."""
    return html.escape(str(value), quote=True)
