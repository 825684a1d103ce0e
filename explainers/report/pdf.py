"""Report -> PDF through headless Chromium's print-to-PDF of the interactive HTML."""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import tempfile
from pathlib import Path

from models.errors import UnsupportedError

INSTALL = ("PDF export needs Chromium: `apt-get install -y chromium fonts-liberation` (Debian/"
           "Ubuntu), or set GLASSBOX_CHROMIUM to a Chromium/Chrome executable")
# The page is laid out at the printable width of A4 (210 mm less 2 x 10 mm margins, at 96 px per
# inch): charts are sized once, so a wider window cut their right edge (and the "100%" label) off.
MARGIN_MM = 10
VIEWPORT_WIDTH = int((210 - 2 * MARGIN_MM) / 25.4 * 96)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def candidates() -> list[str | None]:
    """Where Chromium may be, in order of preference."""
    return [os.environ.get("GLASSBOX_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
            shutil.which("chromium-browser")]


def chromium_path() -> str:
    """The Chromium executable: $GLASSBOX_CHROMIUM, /usr/bin/chromium, or `chromium` on PATH."""
    for candidate in candidates():
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise UnsupportedError(INSTALL)


def _print(html_path: Path, pdf_path: Path, figures: int, executable: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": VIEWPORT_WIDTH, "height": 1000})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                       else r.abort())
            page.goto(html_path.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => [...document.querySelectorAll('.js-plotly-plot')]"
                ".filter(d => d.querySelector('.main-svg')).length >= n", arg=figures,
                timeout=60_000)
            page.pdf(path=str(pdf_path), format="A4", print_background=True,
                     margin={"top": "12mm", "bottom": "12mm", "left": f"{MARGIN_MM}mm",
                             "right": f"{MARGIN_MM}mm"})
        finally:
            browser.close()


def html_to_pdf(html: str, pdf_path: str | Path, figures: int) -> Path:
    """Print an HTML page to PDF once its `figures` Plotly charts have drawn."""
    executable = chromium_path()
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="glassbox-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        # its own thread: Playwright's sync API refuses to run inside a live asyncio loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(_print, page, pdf_path, figures, executable).result()
    return pdf_path
