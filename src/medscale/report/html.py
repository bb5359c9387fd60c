"""A small builder for one-file HTML reports (no external assets, opens offline)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
p, h1, h2, figcaption { overflow-wrap: anywhere; }
h1 { border-bottom: 2px solid #2b6cb0; padding-bottom: .2em; }
h2 { color: #2b6cb0; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #edf2f7; }
td:first-child, th:first-child { text-align: left; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.table-wrap th, .table-wrap td { white-space: nowrap; }
figure { display: inline-block; margin: .5em .5em .5em 0; text-align: center; vertical-align: top;
         max-width: 100%; }
img { max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #555; }
.meta { color: #666; font-size: .85em; }
.note { background: #f7fafc; border-left: 4px solid #2b6cb0; padding: .5em 1em; }
.missing { background: #fffaf0; border-left: 4px solid #dd6b20; padding: .5em 1em; }
"""


def figure_to_png_base64(figure: Any, *, dpi: int = 100) -> str:
    """Render a matplotlib figure to a base64 PNG string and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class HtmlReport:
    """Collects sections and writes one self-contained HTML file.

    Examples
    --------
    >>> report = HtmlReport("Cohort")
    >>> report.add_heading("Summary")
    >>> report.add_text("Three cases.")
    >>> "<h2>Summary</h2>" in report.render()
    True
    """

    title: str
    parts: list[str] = field(default_factory=list)

    def add_heading(self, text: str, *, anchor: str | None = None) -> None:
        """A section heading; `anchor` becomes its ``id`` (links, tests)."""
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.parts.append(f"<h2{ident}>{html.escape(text)}</h2>")

    def add_missing(self, text: str) -> None:
        """Say what input a section lacks (and how to make it) instead of showing it."""
        self.parts.append(f'<p class="missing">{html.escape(text)}</p>')

    def add_text(self, text: str, *, note: bool = False) -> None:
        css = ' class="note"' if note else ""
        self.parts.append(f"<p{css}>{html.escape(text)}</p>")

    def add_table(self, table: Any, *, float_format: str = "{:.4g}", max_rows: int = 200) -> None:
        """Add a pandas DataFrame (or anything with ``to_html``) as a table."""
        shown = table.head(max_rows)
        self.parts.append(
            '<div class="table-wrap">'
            + shown.to_html(index=False, border=0, float_format=float_format.format, na_rep="–")
            + "</div>"
        )
        if len(table) > max_rows:
            self.add_text(f"({len(table) - max_rows} more rows not shown)")

    def add_figure(self, figure: Any, caption: str = "") -> None:
        """Add a matplotlib figure, embedded as PNG."""
        self.add_png(figure_to_png_base64(figure), caption)

    def add_png(self, png_base64: str, caption: str = "") -> None:
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{png_base64}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def add_figures(self, figures: Sequence[tuple[str, str]]) -> None:
        """Add several (png_base64, caption) thumbnails side by side."""
        self.parts.append("<div>")
        for png, caption in figures:
            self.add_png(png, caption)
        self.parts.append("</div>")

    def render(self) -> str:
        from medscale import __version__

        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        body = "\n".join(self.parts)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            f'<p class="meta">medscale {__version__} · generated {stamp}</p>\n{body}\n'
            "</body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
