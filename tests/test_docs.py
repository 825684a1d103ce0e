"""README and docs/: every relative link and picture resolves, pictures stay small, README short."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
WRITTEN_ELSEWHERE = {"docs/language-models.md", "docs/datasets.md"}  # by the LM / data-set issues


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # not inside code blocks
    return [t.split("#")[0] for t in LINK.findall(text) if not t.startswith(("http", "#", "mailto:"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    missing = [t for t in links(page) if not (page.parent / t).exists()
               and str((page.parent / t).resolve().relative_to(ROOT)) not in WRITTEN_ELSEWHERE]
    assert not missing, missing


def test_readme_is_short_and_shows_each_main_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    shown = {Path(t).name for t in links(ROOT / "README.md") if t.endswith(".png")}
    assert {"explain.png", "compare.png", "attention.png", "trust.png", "compression.png",
            "byom.png"} <= shown
    assert "scripts/run.sh" in readme and "scripts/test.sh" in readme


def test_screenshots_are_small_pngs():
    shots = sorted((ROOT / "docs" / "screenshots").glob("*.png"))
    assert shots
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.name
        assert shot.stat().st_size < 150_000, f"{shot.name}: {shot.stat().st_size} bytes"
