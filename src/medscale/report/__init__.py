"""Self-contained HTML reports: tables and matplotlib figures embedded as PNG."""

from medscale.report.html import HtmlReport
from medscale.report.sections import SECTIONS, build_report
from medscale.report.thumbnails import overlay_thumbnail

__all__ = ["SECTIONS", "HtmlReport", "build_report", "overlay_thumbnail"]
