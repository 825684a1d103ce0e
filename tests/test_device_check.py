"""bench/device_check.py --quick as CI runs it: exit 0, the plain no-CUDA sentence, the rows."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick() -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "device_check.py"), "--quick"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)


def rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in out.splitlines() if line.startswith("| ") and "---" not in line]


def test_quick_mode_exits_0_and_prints_one_table(quick):
    assert quick.returncode == 0, quick.stdout[-2000:] + quick.stderr[-2000:]
    table = rows(quick.stdout)
    assert table[0][:4] == ["model", "case", "CPU s", "CUDA s"]
    cases = {(r[0], r[1]) for r in table[1:]}
    for model in ("mnist-cnn", "breast-cancer-mlp", "sentiment-bag"):
        for method in ("saliency", "integrated_gradients", "occlusion", "kernel_shap"):
            assert (model, method) in cases
    times = [float(r[2]) for r in table[1:] if r[1] == "integrated_gradients"]
    assert len(times) == 3 and all(t > 0 for t in times)
    assert quick.stdout.count("| model | case |") == 1


def test_the_cuda_sentence_matches_the_machine(quick):
    said = "CUDA was not available: GPU half not run" in quick.stdout
    assert said == (not torch.cuda.is_available())


def test_the_oom_retry_and_the_split_rows_pass(quick):
    table = {r[1]: r for r in rows(quick.stdout)[1:]}
    oom = next(r for case, r in table.items() if case.startswith("OOM retry, simulated OOM"))
    picked, used = (int(v) for v in oom[5].split(" -> "))
    assert used < picked and oom[-1] == "yes" and not oom[7].startswith("0 OOM")
    split = table["IG split over 2 CPU stand-ins"]
    assert split[-1] == "yes" and split[5].startswith("rows [")
