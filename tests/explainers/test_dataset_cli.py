"""`python -m explainers dataset`: bad data exits 2 with one line; good inputs are still written."""
from __future__ import annotations

import csv

import pytest
from PIL import Image

from explainers import dataset
from explainers.cli import main
from models import load_model


def run(capsys, *argv) -> tuple[int, str]:
    try:
        code = main(["dataset", *map(str, argv)])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def error_lines(err: str) -> list[str]:
    return [ln for ln in err.replace("\r", "\n").splitlines() if ln.startswith("error:")]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    for i, (raw, y) in enumerate(load_model("mnist-cnn").samples(6, seed=4)):
        (root / str(y)).mkdir(exist_ok=True)
        Image.fromarray(raw).save(root / str(y) / f"{i}.png")
    return root


def job(capsys, tmp_path, data, model="mnist-cnn", methods="saliency", *extra):
    return run(capsys, "--model", model, "--data", data, "--methods", methods,
               "--out", tmp_path / "out", *extra)


@pytest.mark.parametrize("case", ["missing", "empty", "not-images"])
def test_missing_or_empty_folder_exits_2_with_one_line(capsys, tmp_path, case):
    data = tmp_path / "data"
    if case != "missing":
        data.mkdir()
    if case == "not-images":
        (data / "readme.txt").write_text("no pictures here")
    code, err = job(capsys, tmp_path, data)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert str(data) in err


def test_unreadable_files_and_unknown_labels_are_skipped_and_the_rest_written(
        capsys, tmp_path, digits):
    data = tmp_path / "data"
    data.mkdir()
    for p in digits.rglob("*.png"):
        (data / p.parent.name).mkdir(exist_ok=True)
        (data / p.parent.name / p.name).write_bytes(p.read_bytes())
    cls = next(d.name for d in data.iterdir())
    (data / cls / "broken.png").write_bytes(b"not a png")
    (data / "cat").mkdir()
    (data / "cat" / "x.png").write_bytes(next(digits.rglob("*.png")).read_bytes())
    code, err = job(capsys, tmp_path, data)
    assert code == 2 and len(error_lines(err)) == 1
    assert "skipped 2" in err and "broken.png" in err and "cat/x.png" in err
    assert "is not a class" in err
    df = dataset.load(tmp_path / "out")
    assert len(df) == 6 and "broken.png" not in " ".join(df["id"])
    skipped = dict(dataset.read_manifest(tmp_path / "out")["skipped"])
    assert set(skipped) == {f"{cls}/broken.png", "cat/x.png"}


def test_csv_without_the_needed_columns_exits_2(capsys, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("mean radius,label\n12.0,0\n")
    code, err = job(capsys, tmp_path, path, "breast-cancer-mlp")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "lacks the column" in err
    path.write_text("review,label\nfine,positive\n")
    code, err = job(capsys, tmp_path, path, "sentiment-bag")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "'text'" in err


def test_text_labels_that_are_not_classes_are_skipped(capsys, tmp_path):
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([["text", "label"], ["a fine film", "positive"],
                                  ["dull", "meh"], ["great", "7"], ["slow", "negative"]])
    code, err = job(capsys, tmp_path, path, "sentiment-bag")
    assert code == 2 and len(error_lines(err)) == 1 and "skipped 2" in err and "'meh'" in err
    df = dataset.load(tmp_path / "out")
    assert df["id"].tolist() == ["0", "3"] and df["label"].tolist() == [1, 0]
    assert dataset.read_metrics(tmp_path / "out")["n"] == 2


def test_all_inputs_bad_exits_2_and_bad_arguments_too(capsys, tmp_path, digits):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nfine,meh\n")
    code, err = job(capsys, tmp_path, path, "sentiment-bag")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "none of its 1 inputs" in err
    code, err = run(capsys, "--model", "mnist-cnn", "--data", digits, "--methods", "nope",
                    "--out", tmp_path / "o2")
    assert code == 2 and "unknown method 'nope'" in err
    code, err = run(capsys, "--model", "mnist-cnn", "--data", digits, "--methods", "saliency",
                    "--out", tmp_path / "o3", "--engine", "spark")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_good_data_exits_0_with_a_progress_bar(capsys, tmp_path, digits):
    code, err = job(capsys, tmp_path, digits, "mnist-cnn", "saliency,grad_cam", "--limit", "4")
    assert code == 0 and "input/s" in err and not error_lines(err)
    assert len(dataset.load(tmp_path / "out")) == 4
