"""Seconds from pressing Explain to the first map, and to the final one, in Chromium, per image
and text built-in (plus the fusion model), against a fixed 50-step IG called in this process.

    python bench/first_map_browser.py [--port 8632] [--models a,b] [--out timings.json]

Starts `streamlit run dashboard/app.py` on a loopback port, drives Debian's Chromium with
Playwright, gives each model a fresh input (nothing cached), presses Explain with the page's
default methods, and times the first heatmap / highlighted token and the "Done:" line. The
reference column is explain(model, input, "integrated_gradients", n_steps=50) in this process
(the page's IG before it became adaptive: one Captum IntegratedGradients call). It prints one
markdown table; absolute seconds move with the machine's load (printed with it), compare ratios.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import APP_PATH, CHROMIUM, CHROMIUM_ARGS, _stop, _wait_healthy  # noqa: E402
from tests.e2e import test_interactive_e2e as flows  # noqa: E402

MODELS = ("mnist-cnn", "imagenet-efficientnet", "sentiment-minilm", "sentiment-bag",
          "digit-text-fusion")
TIMEOUT_MS = 300_000


def serve(port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_PATH), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    _wait_healthy(f"http://127.0.0.1:{port}", proc, 120)
    return proc


def fresh(page, tmp: Path, model: str, seed: int) -> None:
    """A new input for the model (fusion: a new phrase beside its sample digit)."""
    if model == "digit-text-fusion":
        flows.type_text(page, f"a handwritten digit, run {seed}")
    else:
        flows.fresh_input(page, tmp, model, seed)


def browser_times(page, url: str, model: str, tmp: Path) -> tuple[float, float]:
    from playwright.sync_api import expect

    page.goto(url)
    flows.wait_for_app_idle(page, TIMEOUT_MS)
    flows.need(page, model)
    fresh(page, tmp, model, seed=int(time.time()) % 100_000)
    flows.wait_for_app_idle(page, TIMEOUT_MS)
    start = time.perf_counter()
    flows.click_explain(page)
    page.locator(flows.FIRST_MAP).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    first = time.perf_counter() - start
    expect(page.get_by_text("Done:").first).to_be_visible(timeout=TIMEOUT_MS)
    return first, time.perf_counter() - start


def reference_ig(model: str) -> float:
    """Median seconds of a fixed 50-step IG (explain, Captum IntegratedGradients) here."""
    from explainers import explain
    from models import load_model

    m = load_model(model)
    raw = sample_raw(m)
    explain(m, raw, "integrated_gradients", n_steps=50)  # warm-up
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        explain(m, raw, "integrated_gradients", n_steps=50)
        runs.append(time.perf_counter() - t)
    return sorted(runs)[1]


def sample_raw(m):
    if m.info.name == "imagenet-efficientnet":
        from PIL import Image

        return Image.open(io.BytesIO(flows.noisy_cat(0)))
    return m.samples(1, 0)[0][0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8632)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "glassbox-first-map"
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    proc = serve(args.port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_ARGS)
            for model in args.models.split(","):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
                page = ctx.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                first, final = browser_times(page, f"http://127.0.0.1:{args.port}", model, tmp)
                ctx.close()
                rows.append({"model": model, "first_map_s": round(first, 2),
                             "final_s": round(final, 2), "ig50_s": round(reference_ig(model), 2)})
                print(rows[-1], flush=True)
            browser.close()
    finally:
        _stop(proc)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| built-in | first map (s, Chromium) | final map (s) | fixed 50-step IG here (s) |"
          " first map / IG-50 |\n|---|---|---|---|---|")
    for r in rows:  # a ratio only where IG-50 is not lost in the page's own overhead
        ratio = f"{r['first_map_s'] / r['ig50_s']:.2f}" if r["ig50_s"] >= 0.2 else "–"
        print(f"| {r['model']} | {r['first_map_s']:.2f} | {r['final_s']:.2f} | "
              f"{r['ig50_s']:.2f} | {ratio} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
