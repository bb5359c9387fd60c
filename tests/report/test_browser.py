"""The report in a real headless browser (Debian's chromium + chromedriver, via selenium) at
1280 px and 390 px: no console errors, every section present, nothing wider than the viewport
at phone width (tables scroll inside their own wrapper), screenshots saved under tests/artifacts/.

Skips, saying why, when chromium, chromedriver or selenium is absent; with CI=true it fails
instead (CI installs them: .ci/run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medscale.report import SECTIONS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Screenshots go here (gitignored; MEDSCALE_ARTIFACTS overrides): pytest's own temporary
# folders are rotated away by later runs.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

# Elements whose right edge passes the device width (arguments[0]), ignoring those inside a
# horizontal scroller. With mobile emulation a too-wide page also widens innerWidth itself.
_OVERFLOW_JS = """
const width = arguments[0];
const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const wide = [];
for (const el of document.querySelectorAll('body *')) {
  let parent = el.parentElement, inside = false;
  while (parent && parent !== document.body) {
    if (scrolls(parent)) { inside = true; break; }
    parent = parent.parentElement;
  }
  if (inside) continue;
  const right = el.getBoundingClientRect().right;
  if (right > width + 1) wide.push(`${el.tagName}.${el.className} right=${right.toFixed(0)}`);
}
return {width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, wide: wide};
"""


def _unavailable() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


def _require_browser() -> None:
    """Skip, saying why, when the browser is absent; fail instead when CI=true."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true, yet the browser test cannot run: {reason}")
        pytest.skip(reason)


def test_absent_browser_skips_but_fails_in_ci(monkeypatch):
    monkeypatch.setitem(globals(), "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="/nonexistent/chromium not found"):
        _require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true, yet the browser test cannot run"):
        _require_browser()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_report_in_headless_chromium(driver, report_html, width):
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    driver.get(report_html.resolve().as_uri())
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    for anchor, _ in SECTIONS:
        assert driver.find_element("id", anchor).is_displayed(), anchor
    images = driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
    )
    assert images == 0  # every embedded PNG decoded
    layout = driver.execute_script(_OVERFLOW_JS, width)
    assert layout["width"] == width
    if width <= 390:
        assert layout["wide"] == [], layout["wide"][:10]
        assert layout["scrollWidth"] <= width + 1
    folder = Path(os.environ.get("MEDSCALE_ARTIFACTS", ARTIFACTS))
    folder.mkdir(parents=True, exist_ok=True)
    top = folder / f"report_{width}px.png"
    driver.save_screenshot(str(top))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": width,
            "height": min(int(height), 12000),
            "deviceScaleFactor": 1,
            "mobile": width < 600,
        },
    )
    full = folder / f"report_{width}px_full.png"
    driver.save_screenshot(str(full))
    print(f"screenshots: {top} {full}")
    assert top.stat().st_size > 1000 and full.stat().st_size > top.stat().st_size


@pytest.mark.slow
def test_report_of_an_empty_folder_fits_a_phone(driver, tmp_path):
    """Every section says what is missing (long paths, commands) and still fits 390 px."""
    from medscale.report import build_report

    page = build_report(tmp_path, tmp_path / "report.html")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 900, "deviceScaleFactor": 1, "mobile": True},
    )
    driver.get(page.resolve().as_uri())
    assert [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []
    assert len(driver.find_elements("css selector", "p.missing")) >= len(SECTIONS)
    layout = driver.execute_script(_OVERFLOW_JS, 390)
    assert layout["wide"] == [] and layout["scrollWidth"] <= 391
