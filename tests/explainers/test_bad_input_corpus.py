"""The bad-input corpus (tests/bad_inputs.py) through the Python API and the command line:
ok, or a notice and ok, or one InputError line / exit 2 with one line; never a traceback."""
from __future__ import annotations

import html
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explainers import explain
from explainers.cli import main
from models import load_model
from models.errors import GlassboxError, InputNotice
from models.images import decode_image
from models.tables import check_columns, row_floats
from models.text_fit import decode_text
from tests.bad_inputs import (
    CORPUS,
    IMAGES,
    TEXTS,
    Case,
    csv_bytes,
    ids,
    noise16,
    table_rows,
)

ROOT = Path(__file__).resolve().parents[2]
OBSERVED = ROOT / "test-artifacts" / "bad-input-observed.jsonl"  # rows of docs/bad-input.md


def observe(case_id: str, surface: str, outcome: str, line: str) -> None:
    """Append what a surface showed, for scripts/bad_input_table.py (docs/bad-input.md)."""
    OBSERVED.parent.mkdir(exist_ok=True)
    with OBSERVED.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"case": case_id, "surface": surface, "outcome": outcome,
                             "line": line}) + "\n")


def api_raw(case: Case, tmp_path: Path):
    """What a Python user hands explain() for this file, through the core's own readers."""
    path = tmp_path / case.file
    path.write_bytes(case.data)
    if case in IMAGES:
        return path
    if case in TEXTS:
        return decode_text(case.data, repr(case.file))
    try:
        df = pd.read_csv(io.BytesIO(case.data))
    except pd.errors.EmptyDataError:
        raise GlassboxError(f"{case.file!r} is empty: no header, no rows") from None
    features = load_model(case.model).info.feature_names
    extra = check_columns(list(df.columns), features, repr(case.file))
    if extra:
        warnings.warn(f"column(s) {extra} are not features and were ignored", InputNotice,
                      stacklevel=2)
    if df.empty:
        raise GlassboxError(f"{case.file!r} has a header but no rows")
    return row_floats(df.iloc[0].to_dict(), features, "row 0")


@pytest.mark.parametrize("case", CORPUS, ids=ids(CORPUS))
def test_python_api(case, tmp_path):
    model = load_model(case.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputNotice)
        try:
            a = explain(model, api_raw(case, tmp_path), "saliency")
        except GlassboxError as exc:
            line = str(exc)
            assert case.outcome == "error", f"{case.id} failed: {line}"
            assert "\n" not in line and case.says in line.lower(), line
            observe(case.id, "Python API", "error", line)
            return
    assert case.outcome != "error", f"{case.id} ran; expected an error saying {case.says!r}"
    notices = sorted({str(w.message) for w in caught if issubclass(w.category, InputNotice)})
    assert np.isfinite(np.asarray(a.values, float)).all()
    if case.outcome == "notice":
        assert any(case.says in n.lower() for n in notices), notices
    else:
        assert not notices, notices
    observe(case.id, "Python API", case.outcome, "; ".join(notices))


def cli(capsys, *argv) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def said(err: str) -> list[str]:
    """The lines the command line said to the user (warnings of libraries left out)."""
    assert "Traceback" not in err, err
    return [ln for ln in err.splitlines() if ln.startswith(("error:", "notice:"))]


@pytest.mark.parametrize("case", CORPUS, ids=ids(CORPUS))
def test_command_line(case, capsys, tmp_path):
    path = tmp_path / case.file
    path.write_bytes(case.data)
    code, err = cli(capsys, "report", "--model", case.model, "--input", path, "--methods",
                    "saliency", "--out", tmp_path / "r.json")
    lines = said(err)
    errors = [ln for ln in lines if ln.startswith("error:")]
    if case.outcome == "error":
        assert code == 2 and len(errors) == 1 and case.says in errors[0].lower(), err
        observe(case.id, "CLI", "error (exit 2)", errors[0])
        return
    assert code == 0 and not errors, err
    assert (tmp_path / "r.json").is_file()
    notices = [ln for ln in lines if ln.startswith("notice:")]
    if case.outcome == "notice":
        assert any(case.says in n.lower() for n in notices), err
    else:
        assert not notices, err
    observe(case.id, "CLI", f"{case.outcome} (exit 0)", "; ".join(notices))


def test_sixteen_bit_grey_is_scaled_not_clipped_to_white():
    """Issue 15: 16-bit grey noise decoded so that 99.7 % of its pixels were 255."""
    png = next(c for c in IMAGES if c.id == "16-bit").data
    got = np.asarray(decode_image(png).image, float)
    np.testing.assert_allclose(got, np.round(noise16().astype(float) * 255 / 65535), atol=0)
    assert (got == 255).mean() == 0


def test_every_row_failing_still_writes_the_index_with_each_reason(capsys, tmp_path):
    """Issue 15: all rows failing crashed with FileNotFoundError on index.html."""
    names, rows = table_rows(3)
    bad = [[*r[:3], word, *r[4:]] for r, word in zip(rows, ("twelve", "", "n/a"), strict=True)]
    path = tmp_path / "all-bad.csv"
    path.write_bytes(csv_bytes(names, bad))
    code, err = cli(capsys, "report", "--model", "breast-cancer-mlp", "--input", path,
                    "--methods", "saliency", "--out", tmp_path / "r.html")
    index = html.unescape((tmp_path / "r" / "index.html").read_text())
    assert code == 2 and len(said(err)) == 3
    for i, why in enumerate(("could not convert 'twelve'", "empty cell", "could not convert 'n/a'")):
        assert f"all-bad-00{i}" in index and why in index and f"row {i}" in index
        assert f"all-bad-00{i}: {why}" in err


PARAMS = {
    "out of range": (["--param", "integrated_gradients.n_steps=0"], "outside"),
    "unknown method": (["--methods", "integrated_gradients,shap_magic"], "unknown method 'shap_magic'"),
    "target outside classes": (["--target", "12"], "out of range 0..9"),
    "unknown class name": (["--target", "eleven"], "unknown target 'eleven'"),
    "continuation for a classifier": (["--target", " superb"], "a continuation text is a target only"),
    "unsupported method": (["--methods", "attention"], "attention works on"),
}


@pytest.mark.parametrize("extra,says", PARAMS.values(), ids=list(PARAMS))
def test_bad_parameters_exit_2_with_one_line(extra, says, capsys, tmp_path):
    path = tmp_path / "grey.png"
    path.write_bytes(next(c for c in IMAGES if c.id == "greyscale").data)
    argv = {"--methods": "integrated_gradients", **dict(zip(extra[::2], extra[1::2], strict=True))}
    code, err = cli(capsys, "report", "--model", "mnist-cnn", "--input", path,
                    *[x for kv in argv.items() for x in kv], "--out", tmp_path / "r.json")
    (line,) = said(err)
    assert code == 2 and line.startswith("error:") and says in line, err
    observe(f"param: {'/'.join(extra)}", "CLI", "error (exit 2)", line)


def _model_files(tmp_path: Path) -> dict[str, Path]:
    import torch
    from safetensors.torch import save_file

    from tests.models.user_fixtures import tiny_cnn

    files = {"garbage": tmp_path / "garbage.pt", "pickle": tmp_path / "full.pt",
             "truncated safetensors": tmp_path / "cut.safetensors",
             "wrong architecture": tmp_path / "other.safetensors"}
    files["garbage"].write_bytes(np.random.default_rng(0).bytes(512))
    torch.save(tiny_cnn(), files["pickle"])
    save_file(tiny_cnn().state_dict(), files["wrong architecture"])
    buf = files["wrong architecture"].read_bytes()
    files["truncated safetensors"].write_bytes(buf[: len(buf) // 2])
    for path in files.values():  # sidecars: the built-in mnist-cnn architecture
        path.with_suffix(".json").write_text(json.dumps({"architecture": "mnist-cnn"}))
    return files


MODEL_FILES = {"garbage": "garbage.pt is not a model file", "pickle": "pickle", "truncated safetensors": "cut.safetensors",
               "wrong architecture": "other.safetensors"}


@pytest.mark.parametrize("kind", list(MODEL_FILES))
def test_bad_model_files_exit_2_with_one_line(kind, capsys, tmp_path):
    path = _model_files(tmp_path)[kind]
    img = tmp_path / "grey.png"
    img.write_bytes(next(c for c in IMAGES if c.id == "greyscale").data)
    code, err = cli(capsys, "report", "--model", path, "--input", img, "--methods", "saliency",
                    "--out", tmp_path / "r.json")
    (line,) = said(err)
    assert code == 2 and MODEL_FILES[kind] in line, err
    observe(f"model file: {kind}", "CLI", "error (exit 2)", line)


@pytest.mark.slow
def test_a_bomb_in_a_fresh_process_exits_2_with_one_line(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(next(c for c in IMAGES if c.id == "decompression-bomb").data)
    proc = subprocess.run(
        [sys.executable, "-m", "explainers", "report", "--model", "mnist-cnn", "--input",
         str(path), "--methods", "saliency", "--out", str(tmp_path / "r.html")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "decompression bomb" in proc.stderr
    assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
