"""Self-contained HTML reports: tables and matplotlib figures embedded as PNG."""

from medscale.report.html import HtmlReport
from medscale.report.thumbnails import overlay_thumbnail

__all__ = ["HtmlReport", "overlay_thumbnail"]
