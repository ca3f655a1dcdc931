"""The HTML report as a browser shows and prints it: headless Chromium, started once per session.

One Chromium run on the report of a tiny evaluation (``report_bench``) takes a screenshot,
dumps the DOM it built and prints to PDF. Chromium is installed here when missing and we
can (root and apt-get, as ``make browser-tool`` does); elsewhere these tests are skipped
with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import report_bench
from harness import evaluate

_NAMES = ("chromium", "chromium-browser")


def _chromium() -> str | None:
    found = next((p for p in map(shutil.which, _NAMES) if p), None)
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    for step in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        if subprocess.run(step, capture_output=True, timeout=900,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}).returncode != 0:
            return None
    return next((p for p in map(shutil.which, _NAMES) if p), None)


@dataclass(frozen=True)
class Shown:
    png: Path
    dom: str
    pdf: bytes


@pytest.fixture(scope="session")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Shown:
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get); "
                    "install the chromium package (or run make browser-tool) to check the report in a browser")
    folder = tmp_path_factory.mktemp("report-browser")
    profile, predictions, _ = report_bench.write(folder)
    bundle = evaluate(profile, predictions=predictions, out=folder / "out", tracking=False).bundle
    png, pdf = folder / "report.png", folder / "report.pdf"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1500",
         "--no-pdf-header-footer", f"--screenshot={png}", f"--print-to-pdf={pdf}", "--dump-dom",
         (bundle / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120, cwd=folder)
    assert done.returncode == 0 and png.is_file() and pdf.is_file(), done.stderr[-2000:]
    return Shown(png, done.stdout, pdf.read_bytes())


def _pixels(png: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(png) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _share_near(pixels: np.ndarray, hex_colour: str, *, tolerance: int = 12) -> float:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return float((np.abs(pixels - rgb).max(axis=-1) <= tolerance).mean())


def test_the_screenshot_is_not_blank(shown: Shown) -> None:
    pixels = _pixels(shown.png)
    assert pixels.shape[:2] == (1500, 1100)
    assert pixels.std() > 30  # a blank or single-colour page has (nearly) none
    assert _share_near(pixels, "#ffffff") > 0.5  # and the page is white paper, mostly


def test_the_banner_is_shown_in_the_verdicts_colour(shown: Shown) -> None:
    assert '<p class="verdict">Not compliant</p>' in shown.dom
    assert "Of 5 blocking requirements: 2 failed, 3 passed." in shown.dom
    top = _pixels(shown.png)[:400]
    assert _share_near(top, "#c62828") > 0.002  # the banner's red rule beside the verdict


def test_the_charts_are_drawn(shown: Shown) -> None:
    for kind in ("intervals", "confusion", "roc", "reliability"):
        assert re.search(rf'<svg [^>]*class="chart chart-{kind}"', shown.dom), kind
    below_banner = _pixels(shown.png)[400:]
    assert _share_near(below_banner, "#c62828") > 0  # failed groups' marks in the first requirement's chart
    assert _share_near(below_banner, "#2e7d32") > 0  # and passing ones


def test_printing_gives_a_paginated_document(shown: Shown) -> None:
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", shown.pdf))
    assert shown.pdf.startswith(b"%PDF-")
    assert 3 <= pages <= 8
    assert b"/MediaBox [0 0 594.9" in shown.pdf  # A4, from the report's @page rule
