"""The command line: reports from stand-ins, exit codes, batch inputs, reproduce, built-ins."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explainers.cli import main
from explainers.report import read_document
from tests.explainers.test_report_stubs import EVIL, StubNoise, digit_image, stubs_fixture  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ROW = json.dumps({"f0": 0.5, "f1": -1.0, "f2": 2.0, "<b>f3</b>": 0.25})


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys, out, model="stub-tabular", inp=ROW, methods="stub_ixg,stub_noise", *extra):
    return run(capsys, "report", "--model", model, "--input", inp, "--methods", methods,
               "--out", out, *extra)


def test_report_writes_html_and_json_with_params_and_seed(stubs, capsys, tmp_path):
    code, out, _ = report(capsys, tmp_path / "r.html")
    assert code == 0 and "wrote" in out and (tmp_path / "r.html").stat().st_size > 1_000_000
    code, _, _ = report(capsys, tmp_path / "r.json", "stub-tabular", ROW, "stub_ixg,stub_noise",
                        "--param", "stub_ixg.scale=2.5", "--param", "stub_ixg.absolute=yes",
                        "--param", "stub_noise.n_samples=3", "--seed", "11", "--target", "b")
    assert code == 0
    doc, _ = read_document(tmp_path / "r.json")
    ixg, noise = doc["attributions"]
    assert ixg["params"] == {"scale": 2.5, "absolute": True} and ixg["target"] == 1
    assert noise["params"]["n_samples"] == 3 and noise["seed"] == 11 and doc["seed"] == 11
    assert min(ixg["values"]["data"]) >= 0  # absolute=yes was applied


BAD = {
    "unknown model": (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    "unknown method": (["--methods", "stub_ixg,nope"], "unknown method 'nope'"),
    "unsupported method": (["--model", "stub-text", "--input", "hi", "--methods", "stub_ixg"],
                           "stub_ixg works on"),
    "missing image file": (["--model", "stub-image", "--input", "/no/such.png"],
                           "no such image file"),
    "bad target name": (["--target", "zebra"], "unknown target 'zebra'"),
    "bad target index": (["--target", "9"], "out of range"),
    "unknown param": (["--param", "stub_ixg.nope=1"], "no parameter 'nope'"),
    "param out of range": (["--param", "stub_ixg.scale=99"], "outside"),
    "param bad bool": (["--param", "stub_ixg.absolute=maybe"], "true or false"),
    "param bad form": (["--param", "scale=2"], "METHOD.NAME=VALUE"),
    "param other method": (["--param", "stub_other.x=2"], "not in --methods"),
    "bad extension": (["--out", "r.docx"], "unknown format '.docx'"),
    "empty methods": (["--methods", " , "], "--methods is empty"),
    "bad json row": (["--input", "{not json"], "not valid JSON"),
    "bad seed": (["--seed", "x"], "invalid int value"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_user_errors_exit_2_with_one_line(stubs, capsys, tmp_path, case):
    changes, expected = BAD[case]
    args = {"--model": "stub-tabular", "--input": ROW, "--methods": "stub_ixg",
            "--out": str(tmp_path / "r.html")}
    extra = []
    for flag, value in zip(changes[::2], changes[1::2], strict=True):
        if flag in args and flag != "--param":
            args[flag] = value
        else:
            extra += [flag, value]
    argv = ["report", *[x for kv in args.items() for x in kv], *extra]
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err
    assert "Traceback" not in err and not (tmp_path / "r.html").exists()


def test_missing_arguments_exit_2_with_one_line(capsys):
    code, _, err = run(capsys, "report", "--model", "x")
    assert code == 2 and err.count("\n") == 1 and "required" in err


def test_unexpected_errors_exit_1_with_a_debug_hint(stubs, capsys, tmp_path, monkeypatch):
    def boom(self, model, raw, target, **params):
        raise RuntimeError("kaput\nsecond line")

    monkeypatch.setattr(StubNoise, "explain", boom)
    code, _, err = report(capsys, tmp_path / "r.html")
    assert code == 1 and err.count("\n") == 1
    assert "RuntimeError: kaput second line" in err and "--debug" in err
    code, _, err = report(capsys, tmp_path / "r.html", "stub-tabular", ROW, "stub_noise", "--debug")
    assert code == 1 and "Traceback" in err


def test_folder_of_images_gives_one_report_each_and_an_index(stubs, capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b c.png", "<evil>&.png"]):
        Image.fromarray(digit_image(i)).save(folder / name)
    (folder / "notes.txt").write_text("ignored")
    code, out, err = report(capsys, tmp_path / "out" / "rep.json", "stub-image", folder)
    assert code == 0, err
    made = sorted(p.name for p in (tmp_path / "out" / "rep").iterdir())
    stems = ["000-evil", "001-a", "002-b_c"]  # sorted input names, sanitised
    assert made == sorted([f"{s}.{ext}" for s in stems for ext in ("json", "npz")] + ["index.html"])
    index = (tmp_path / "out" / "rep" / "index.html").read_text()
    assert index.count("<tr>") == 4 and "&lt;evil&gt;&amp;" in index and "<evil>" not in index


def test_text_file_gives_one_report_per_line(stubs, capsys, tmp_path):
    texts = tmp_path / "t.txt"
    texts.write_text(f"good film\n\n{EVIL}\nbad film\n")
    code, _, _ = report(capsys, tmp_path / "t.html", "stub-text", texts, "stub_noise")
    assert code == 0
    made = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert made == ["000-t-000.html", "001-t-001.html", "002-t-002.html", "index.html"]
    assert "<script>alert" not in (tmp_path / "t" / "001-t-001.html").read_text()


def test_batch_continues_past_a_bad_file_and_exits_2(stubs, capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(digit_image()).save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"not a png")
    code, _, err = report(capsys, tmp_path / "r.html", "stub-image", folder, "stub_noise")
    assert code == 2 and "broken" in err
    assert (tmp_path / "r" / "001-good.html").exists() and (tmp_path / "r" / "index.html").exists()


def test_reproduce_command_exit_codes(stubs, capsys, tmp_path):
    assert report(capsys, tmp_path / "r.json")[0] == 0
    code, out, _ = run(capsys, "reproduce", tmp_path / "r.json")
    assert code == 0 and out.count(" ok") == 2 and "max|diff| 0" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    doc["attributions"][0]["values"]["data"][0] += 1.0
    (tmp_path / "r.json").write_text(json.dumps(doc))
    code, out, _ = run(capsys, "reproduce", tmp_path / "r.json")
    assert code == 1 and "DIFFERS" in out
    assert run(capsys, "reproduce", tmp_path / "r.json", "--atol", "2")[0] == 0
    assert run(capsys, "reproduce", tmp_path / "none.json")[0] == 2
    (tmp_path / "bad.json").write_text("{}")
    assert run(capsys, "reproduce", tmp_path / "bad.json")[0] == 2


@pytest.mark.slow
def test_module_entry_point_in_a_fresh_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "explainers", "report", "--model", "no-such", "--input", "x",
         "--methods", "saliency", "--out", str(tmp_path / "r.html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown model")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# ----------------------------------------------------------------- built-in models
def _builtin(name: str):
    from models import load_model
    from models.errors import ModelLoadError

    try:
        return load_model(name, device="cpu")
    except (ModelLoadError, ImportError, OSError) as exc:
        pytest.fail(f"built-in {name} did not load: {exc}")


CHEAP = {"n_steps": 8, "n_samples": 24, "n_background": 8, "max_evals": 64}


def _cheap_params(method: str) -> list[str]:
    from explainers.base import get_method

    out = []
    for p in get_method(method).params:
        if p.name in CHEAP and p.kind == "int":
            value = max(int(p.min or 1), min(CHEAP[p.name], int(p.default)))
            out += ["--param", f"{method}.{p.name}={value}"]
    return out


CHEAP_METHODS = {
    "image": ("saliency", "integrated_gradients", "grad_cam"),
    "tabular": ("integrated_gradients", "kernel_shap", "lime"),
    "text": ("integrated_gradients", "occlusion", "attention"),
    "fusion": ("saliency", "integrated_gradients"),
}
INPUTS = {"image": ROOT / "assets" / "samples" / "mnist-digit-7.png",
          "text": "a warm, funny and moving film", "tabular": None, "fusion": None}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["breast-cancer-mlp", "mnist-cnn", "sentiment-bag",
                                  "sentiment-minilm", "imagenet-efficientnet",
                                  "digit-text-fusion"])
def test_reproduce_round_trips_on_builtin_models(capsys, tmp_path, name):
    from explainers.base import list_methods
    from models import HasSamples

    model = _builtin(name)
    modality = model.info.modality
    if isinstance(model, HasSamples):
        raw = model.samples(1, seed=0)[0][0]
    else:
        raw = INPUTS[modality]
    if modality == "tabular":
        inp = json.dumps({k: float(v) for k, v in raw.items()})
    elif modality == "fusion":
        Image.fromarray(np.asarray(model.display_image(raw))).save(tmp_path / "x.png")
        inp = json.dumps({"image": str(tmp_path / "x.png"), "text": raw["text"]})
    elif modality == "image":
        inp = tmp_path / "x.png"
        Image.fromarray(np.asarray(model.display_image(raw))).save(inp)
    else:
        inp = raw
    cheap = ("grad_cam",) if name == "imagenet-efficientnet" else CHEAP_METHODS[modality]
    methods = [m for m in cheap if m in list_methods(model)]  # 224 x 224 on CPU: one method
    if not methods:
        pytest.fail(f"no cheap method applies to {name}")
    extra = [x for m in methods for x in _cheap_params(m)]
    code, _, err = report(capsys, tmp_path / "r.json", name, inp, ",".join(methods), *extra)
    assert code == 0, err
    code, out, err = run(capsys, "reproduce", tmp_path / "r.json")
    assert code == 0, out + err
    assert out.count(" ok") == len(methods)


def test_csv_of_rows_and_csv_of_texts(stubs, capsys, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("f0,f1,f2,<b>f3</b>\n1,2,3,4\n0.5,0,-1,2\n")
    assert report(capsys, tmp_path / "t.json", "stub-tabular", rows, "stub_ixg")[0] == 0
    doc, _ = read_document(tmp_path / "t" / "001-rows-001.json")
    assert doc["input"]["row"] == {"f0": 0.5, "f1": 0.0, "f2": -1.0, "<b>f3</b>": 2.0}
    texts = tmp_path / "texts.csv"
    texts.write_text('id,text\n1,"good, fine film"\n2,bad film\n')
    assert report(capsys, tmp_path / "x.json", "stub-text", texts, "stub_noise")[0] == 0
    doc, _ = read_document(tmp_path / "x" / "000-texts-000.json")
    assert doc["input"]["text"] == "good, fine film"
    (tmp_path / "empty.txt").write_text("\n \n")
    code, _, err = report(capsys, tmp_path / "e.json", "stub-text", tmp_path / "empty.txt",
                          "stub_noise")
    assert code == 2 and "holds no text" in err
