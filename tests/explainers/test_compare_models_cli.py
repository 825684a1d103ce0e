"""`python -m explainers compress` (explainers.compress_cli.main) on the tabular built-in."""
from __future__ import annotations

import json

import pytest

from explainers.compress_cli import EXIT_OK, EXIT_USAGE, main

MODEL = "breast-cancer-mlp"
FAST = ["--n-explain", "2", "--runs", "2", "--quiet"]


def test_prune_sweep_writes_json_and_a_summary(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["--model", MODEL, "--op", "prune", "--amount", "0,0.6", "--methods", "saliency",
                 "--out", str(out), *FAST])
    assert code == EXIT_OK
    doc = json.loads(out.read_text())
    first, second = doc["results"]
    assert first["compressed"] == f"{MODEL} (pruned 0% L1)"
    assert first["drift"]["saliency"]["spearman"] == 1.0
    assert first["accuracy"] == first["accuracy_original"]
    assert second["details"]["sparsity"] == pytest.approx(0.6, abs=0.005)  # pruned weights
    assert 0.5 < second["size"]["sparsity"] < 0.6  # biases and buffers dilute it
    assert doc["environment"]["torch"] and doc["args"]["amount"] == "0,0.6"
    assert f"wrote {out}" in capsys.readouterr().out


def test_quantize_falls_back_and_says_so(tmp_path, capsys):
    out = tmp_path / "q.json"
    assert main(["--model", MODEL, "--op", "quantize", "--methods", "integrated_gradients",
                 "--out", str(out), *FAST]) == EXIT_OK
    r = json.loads(out.read_text())["results"][0]
    assert r["drift"]["integrated_gradients"]["used_method"] in ("occlusion", "feature_ablation")
    assert r["agreement"] >= 0.95
    assert "notice: integrated_gradients needs gradients" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--op", "prune", "--amount", "1.5"], "outside [0, 1]"),
    (["--op", "prune", "--amount", "half"], "comma-separated list"),
    (["--op", "distill"], "image models and text models"),
    (["--op", "prune", "--amount", "0", "--methods", "nope"], "unknown method 'nope'"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(["--model", MODEL, *argv, *FAST]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_op_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--model", MODEL, "--op", "shrink"])
    assert exc.value.code == EXIT_USAGE
