"""Many users at once: 1, 4 and 8 concurrent Chromium sessions explain the same digits on one dashboard.

Run: `.venv/bin/python bench/load_sessions.py [--sessions 1,4,8] [--inputs 6] [--quick]`.
Loopback only: it starts its own `streamlit run dashboard/app.py` on 127.0.0.1 (a free port, or
--port), drives one headless Chromium (Debian's /usr/bin/chromium, as tests/conftest.py does)
with one browser context per session (each is its own Streamlit session), and stops the server
and itself: at the end, on error, or after --timeout seconds (a watchdog kills the server and
exits 3). Each session opens the Explain page on mnist-cnn (the first page explains sample #0
with its default methods, integrated gradients + Grad-CAM), then for each of --inputs samples
(#1..#N, every session in its own rotated order, so sessions hit different inputs at once)
picks it, presses Explain and waits for the results. "Latency" is the press-to-rendered time of
one request (one input, both methods); throughput counts method results per second of the
level's wall time. The numbers compared with the serial run (the 1-session level) are what the
page shows: the prediction line, each result's summary (without its time) and every Plotly
chart's data (read from the chart element, exact float64). By default the server keeps no
explanations (GLASSBOX_CACHE_MB=0), so every request is computed; --cache keeps the shipped cache.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import APP_PATH, CHROMIUM, _stop, _wait_healthy  # noqa: E402
from tests.conftest import CHROMIUM_ARGS as ARGS  # noqa: E402
from tests.conftest import _free_port as free_port  # noqa: E402

stop_server = _stop  # by PID only: SIGTERM, then SIGKILL if it lingers
IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]')
ASK = re.compile(r"^Press Explain to run")  # the info line, not the caption above
WAIT = 240_000  # ms: one step on 2 busy shared cores
CHART_DATA = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot'))
  .map(gd => JSON.stringify(gd.data.map(t => [t.type, t.x, t.y, t.z])))"""


def start_server(port: int, keep_cache: bool, log: Path) -> subprocess.Popen:
    """`streamlit run` on 127.0.0.1:port; returns once /_stcore/health answers ok."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    if not keep_cache:
        env["GLASSBOX_CACHE_MB"] = "0"
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_PATH),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port",
           str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, 120)
    except (RuntimeError, TimeoutError) as exc:
        stop_server(proc)
        raise RuntimeError(f"{exc}; log: {log}") from exc
    return proc


def watchdog(seconds: float, proc: subprocess.Popen) -> threading.Timer:
    """After `seconds`, stop the server and leave (exit 3), whatever the browsers are doing."""
    def fire() -> None:
        print(f"load: hard timeout after {seconds:.0f} s; stopping the server and exiting",
              flush=True)
        stop_server(proc)
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


async def open_session(browser, url: str):
    """A fresh context (its own Streamlit session) on the Explain page, first result drawn."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1100})
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_text("Done:").first.wait_for(timeout=WAIT)
    await page.wait_for_selector(IDLE, timeout=WAIT)
    return page


async def pick_sample(page, i: int) -> None:
    """Choose sample #i in the main area's Sample box; wait for the page to ask for Explain."""
    main = page.get_by_test_id("stMain")
    box = main.get_by_test_id("stSelectbox").filter(has=page.get_by_text("Sample", exact=True))
    combo = box.locator('input[role="combobox"]')
    await combo.click()
    await combo.fill(f"#{i} ·")
    await page.get_by_role("option", name=re.compile(rf"^#{i} ·")).first.click()
    await main.get_by_text(ASK).first.wait_for(timeout=WAIT)
    await page.get_by_text("Done:").first.wait_for(state="detached", timeout=WAIT)  # old results gone
    await page.wait_for_selector(IDLE, timeout=WAIT)


async def read_numbers(page, n_methods: int) -> dict:
    """What the page shows: prediction line, result summaries (minus time), chart data digest."""
    main = page.get_by_test_id("stMain")
    predicted = await main.get_by_text("Predicted").first.inner_text()
    captions = await main.get_by_test_id("stCaptionContainer").all_inner_texts()
    summaries = [re.sub(r"^[\d.]+ s · ", "", c) for c in captions if " · target: " in c]
    charts = await page.evaluate(CHART_DATA)
    if len(summaries) != n_methods:
        raise RuntimeError(f"expected {n_methods} result summaries, read {summaries}")
    digest = hashlib.sha256("\n".join(charts).encode()).hexdigest()[:16]
    return {"predicted": predicted, "summaries": summaries, "charts": len(charts),
            "digest": digest}


async def request(page, i: int, n_methods: int) -> tuple[float, dict]:
    """Pick sample i, press Explain, wait for the results; (seconds, numbers on the page)."""
    await pick_sample(page, i)
    start = time.perf_counter()
    await page.get_by_test_id("stButton").get_by_role("button", name="Explain").click()
    await page.get_by_text(f"Done: {n_methods} method(s)").first.wait_for(timeout=WAIT)
    await page.get_by_text(ASK).first.wait_for(state="detached", timeout=WAIT)
    await page.wait_for_selector(IDLE, timeout=WAIT)
    seconds = time.perf_counter() - start
    return seconds, await read_numbers(page, n_methods)


async def session(page, order: list[int], n_methods: int) -> list[tuple[int, float, dict]]:
    out = []
    for i in order:
        seconds, numbers = await request(page, i, n_methods)
        out.append((i, seconds, numbers))
    return out


async def level(browser, url: str, n: int, inputs: list[int], n_methods: int) -> dict:
    """n sessions at once, each through every input (rotated); wall time from the first press."""
    pages = await asyncio.gather(*(open_session(browser, url) for _ in range(n)))
    orders = [inputs[s % len(inputs):] + inputs[:s % len(inputs)] for s in range(n)]
    start = time.perf_counter()
    runs = await asyncio.gather(*(session(p, o, n_methods) for p, o in zip(pages, orders, strict=True)))
    wall = time.perf_counter() - start
    for p in pages:
        await p.context.close()
    return {"sessions": n, "wall": wall, "runs": runs}


def compare(result: dict, serial: dict[int, dict]) -> tuple[bool, int]:
    """(every session's numbers equal the serial run's, how many requests differ)."""
    bad = sum(1 for run in result["runs"] for i, _, nums in run if nums != serial[i])
    return bad == 0, bad


def row(result: dict, serial: dict[int, dict], n_methods: int) -> str:
    lat = [s for run in result["runs"] for _, s, _ in run]
    done = len(lat) * n_methods
    same, bad = compare(result, serial)
    verdict = "serial run" if result["sessions"] == 1 else ("yes" if same else f"no ({bad} differ)")
    return (f"| {result['sessions']} | {len(lat)} | {done} | {done / result['wall']:.2f} | "
            f"{np.percentile(lat, 50):.2f} | {np.percentile(lat, 95):.2f} | {verdict} |")


async def run_levels(url: str, levels: list[int], inputs: list[int], n_methods: int) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        warm = await open_session(browser, url)  # model load and first paint, not measured
        await warm.context.close()
        results = [await level(browser, url, n, inputs, n_methods) for n in levels]
        await browser.close()
    return results


def busy_share(seconds: float = 3.0) -> float:
    """Fraction of all CPU time the machine spent busy over `seconds` (/proc/stat)."""
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", default="1,4,8", help="comma-separated levels; 1 always runs")
    ap.add_argument("--inputs", type=int, default=6, help="samples #1..#N each session explains")
    ap.add_argument("--quick", action="store_true", help="smoke run: levels 1,2 and 2 inputs")
    ap.add_argument("--port", type=int, default=0, help="127.0.0.1 port (default: a free one)")
    ap.add_argument("--cache", action="store_true", help="keep explanations (shipped cache)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="hard limit for the whole run in seconds (default 1500, quick 400)")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args(argv)
    if args.quick:
        args.sessions, args.inputs = "1,2", 2
    args.timeout = args.timeout or (400 if args.quick else 1500)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    levels = sorted({1, *(int(v) for v in args.sessions.split(","))})
    inputs, n_methods = list(range(1, args.inputs + 1)), 2
    port = args.port or free_port()
    before = busy_share()
    load0 = os.getloadavg()[0]
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"glassbox-load-{port}.log"
    proc = start_server(port, args.cache, log)
    timer = watchdog(args.timeout, proc)
    try:
        results = asyncio.run(run_levels(f"http://127.0.0.1:{port}", levels, inputs, n_methods))
    finally:
        timer.cancel()
        stop_server(proc)
    serial = {i: nums for i, _, nums in results[0]["runs"][0]}
    print(f"machine: {os.cpu_count()} CPU cores, {before:.0%} busy before the run (other "
          f"processes), load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; mnist-cnn, "
          f"integrated gradients + Grad-CAM, samples #1..#{args.inputs}, result cache "
          f"{'on' if args.cache else 'off (every request computed)'}")
    print("| sessions | requests | explanations | explanations/s | p50 latency (s) | "
          "p95 latency (s) | numbers equal the serial run |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        print(row(result, serial, n_methods))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if all(compare(r, serial)[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
