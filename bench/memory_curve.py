"""Memory curve: resident memory after each Explain press (2 explanations) through the dashboard's code.

Run: `.venv/bin/python bench/memory_curve.py [--runs 400] [--quick] [--png docs/screenshots/memory-curve.png]`.
The Explain page runs under streamlit's AppTest in this process (dashboard/headless.py) (the same script, widgets,
session state and bounded caches as `streamlit run`): mnist-cnn, its default methods
(integrated gradients + Grad-CAM), a different bundled sample for each press (#0..#199, then
again: the explanation cache, 256 entries, has evicted them, so they are computed again).
After each press it reads this process's VmRSS from /proc/self/status. The first half is the
warm-up; RSS "stopped growing" when the least-squares growth over the second half is under
16 MB and under a quarter of the first half's. It prints both, the caches' entries and bytes
against their bounds, and writes a small Plotly PNG (kaleido).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
MODEL = "mnist-cnn"


def rss_mb() -> float:
    """Resident set size of this process (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def slope(y: np.ndarray) -> float:
    """Least-squares MB per press."""
    return float(np.polyfit(np.arange(len(y)), y, 1)[0]) if len(y) > 1 else 0.0


def figure(rss: list[float], verdict: str, png: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=list(range(1, len(rss) + 1)), y=rss, mode="lines",
                               line={"width": 2}))
    half = len(rss) // 2
    fig.add_vrect(x0=half + 0.5, x1=len(rss), fillcolor="#8fbc8f", opacity=0.15, line_width=0,
                  annotation_text="after warm-up (second half)", annotation_position="top left")
    fig.update_layout(title=f"Resident memory, {MODEL}, one Explain press each: {verdict}",
                      xaxis_title="Explain presses (IG + Grad-CAM, a new sample each)",
                      yaxis_title="RSS (MB)", width=820, height=360, template="plotly_white",
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, title_font_size=14)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(str(png), scale=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=400, help="Explain presses")
    ap.add_argument("--quick", action="store_true", help="30 presses, no PNG unless --png")
    ap.add_argument("--png", type=Path, default=None)
    args = ap.parse_args(argv)
    runs = 30 if args.quick else args.runs
    png = args.png or (None if args.quick else ROOT / "docs" / "screenshots" / "memory-curve.png")
    from dashboard.headless import press, start
    from explainers import bounded

    at, before = start(), rss_mb()
    rss, results, t0 = [], 0, time.perf_counter()
    for k in range(runs):
        results += press(at, k % 200)
        rss.append(rss_mb())
    y, half = np.asarray(rss), runs // 2
    first, last = slope(y[:half]) * half, slope(y[half:]) * (runs - half)  # fitted MB per half
    stopped = last < 16 and last < 0.25 * max(first, 0.0)
    verdict = "stopped growing" if stopped else "still growing"
    print(f"{runs} presses ({results} method results) in {time.perf_counter() - t0:.0f} s; RSS "
          f"{before:.0f} MB after the first page, {y[0]:.0f} MB after press 1, {y[-1]:.0f} MB "
          f"at the end (peak {y.max():.0f})")
    print(f"fitted growth: first half {first:+.1f} MB ({first / half * 1024:+.0f} KB/press), "
          f"second half {last:+.1f} MB ({last / (runs - half) * 1024:+.0f} KB/press): RSS "
          f"{verdict} after warm-up")
    for s in bounded.stats():
        if s["entries"]:
            print(f"  cache {s['name']}: {s['entries']}/{s['max_entries']} entries, "
                  f"{s['bytes'] / 2**20:.2f}/{s['max_bytes'] / 2**20:.0f} MB")
    if png is not None:
        figure(rss, verdict, png)
        print(f"figure: {png} ({png.stat().st_size // 1024} KB)")
    return 0 if stopped else 1


if __name__ == "__main__":
    sys.exit(main())
