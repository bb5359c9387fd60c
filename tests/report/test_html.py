import base64

import numpy as np
import pandas as pd

from medscale import Image, Mask
from medscale.report import HtmlReport, overlay_thumbnail


def test_report_is_self_contained_and_escaped(tmp_path):
    report = HtmlReport("Cohort <1>")
    report.add_heading("Table")
    report.add_table(pd.DataFrame({"case_id": ["a", "b"], "volume_ml": [1.23456, np.nan]}))
    report.add_text("5 < 6")
    path = report.write(tmp_path / "r.html")
    text = path.read_text()
    assert "Cohort &lt;1&gt;" in text and "5 &lt; 6" in text
    assert "1.235" in text and "–" in text
    assert "http" not in text.split("<body>")[1]  # nothing fetched from outside


def test_overlay_thumbnail_is_png():
    array = np.zeros((3, 20, 30))
    array[1, 5:15, 10:20] = 100
    image = Image(array, spacing=(2, 1, 1))
    mask = Mask.like(image, array > 50)
    png = base64.b64decode(overlay_thumbnail(image, mask))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 500
