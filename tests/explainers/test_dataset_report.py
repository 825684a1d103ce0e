"""Data-set report: parses, carries the job's own numbers, offline, every user string escaped."""
from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, confusion_matrix

from explainers import dataset
from explainers.plots import esc
from explainers.report import dataset_report as R
from models.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def mnist_job(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("job") / "mnist"
    dataset.run_job("mnist-cnn", "builtin", ["saliency"], out, limit=40)
    return out


@pytest.fixture(scope="module")
def hostile_job(tmp_path_factory) -> Path:
    """A user-style image folder whose file names are HTML."""
    from models import load_model

    model = load_model("mnist-cnn")
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    for i, (raw, y) in enumerate(model.samples(6, 0)):
        folder = data / str(y)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(raw, np.uint8)).save(folder / f"{HOSTILE}{i}.png")
    out = root / "job"
    dataset.run_job(model, data, ["saliency"], out)
    return out


class Tables(HTMLParser):
    """The text of every cell of every <table class="... confusion"> in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._in = "confusion" in (dict(attrs).get("class") or "")
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif self._in and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_json_report_has_the_jobs_numbers(mnist_job):
    doc = json.loads(R.report_bytes(mnist_job, ".json"))
    df = dataset.load(mnist_job)
    y, p = df["label"].astype(int), df["pred"].astype(int)
    assert doc["format"] == R.FORMAT and doc["n_rows"] == len(df) == 40
    assert doc["metrics"]["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert doc["metrics"]["confusion_matrix"] == confusion_matrix(y, p, labels=range(10)).tolist()
    assert [r["id"] for r in doc["misclassified"]] == list(df["id"][y != p])
    assert doc["about"]["model"] == "mnist-cnn" and doc["about"]["methods"] == ["saliency"]
    maps = doc["summaries"]["saliency"]["class_mean"]
    mean7 = np.mean(np.stack(list(df["attr:saliency"][p == 7])), axis=0)
    np.testing.assert_allclose(maps["7"], mean7, rtol=1e-5, atol=1e-7)


def test_html_report_is_offline_and_holds_the_confusion_matrix(mnist_job):
    html = R.report_bytes(mnist_job, ".html").decode()
    df = dataset.load(mnist_job)
    cm = confusion_matrix(df["label"].astype(int), df["pred"].astype(int), labels=range(10))
    tables = Tables()
    tables.feed(html)
    head, *body = tables.rows
    assert head[1:] == [str(i) for i in range(10)]
    assert [[int(v) for v in row[1:]] for row in body] == cm.tolist()
    assert html.count(R.plotly_js()[:2000]) == 1  # plotly.js inlined once
    assert 'http-equiv="Content-Security-Policy"' in html
    assert "https://" not in html.replace("https://www.w3.org", "")
    n_figs = int(html.split('name="glassbox-figures" content="')[1].split('"')[0])
    assert n_figs == html.count('class="plotly-graph-div"') >= 4  # per-class, cm, calibration, map


def test_hostile_ids_are_escaped(hostile_job):
    html = R.report_bytes(hostile_job, ".html").decode()
    assert HOSTILE not in html and "<img src=x" not in html
    assert esc(HOSTILE) in html and HOSTILE not in html  # the escaped form, never the raw one
    doc = json.loads(R.report_bytes(hostile_job, ".json"))
    assert all(HOSTILE in r["id"] for r in doc["predictions"])


def test_hostile_class_names_are_escaped_in_tables_and_charts():
    names = ["<script>alert(1)</script>", "a&b"]
    doc = {"title": f"t {names[0]}", "about": {"model": names[1]}, "n_rows": 2,
           "metrics": {"accuracy": 0.5, "class_names": names,
                       "confusion_matrix": [[1, 0], [1, 0]],
                       "per_class": {n: {"precision": 0.5, "recall": 1.0, "f1": 0.6, "support": 1}
                                     for n in names}},
           "summaries": {}, "skipped": [[names[0], "bad"]],
           "predictions": [{"id": names[0], "true": names[0], "predicted": names[1],
                            "confidence": 0.9, "correct": False}],
           "misclassified": []}
    html = R.render_html(doc)
    body = html.split("</head>", 1)[1]
    assert "<script>alert(1)" not in body.replace('<script type="text/javascript">', "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_not_a_job_folder_is_one_line(tmp_path):
    with pytest.raises(InputError, match="not a data-set job folder"):
        R.report_bytes(tmp_path, ".html")
    with pytest.raises(InputError, match="allowed"):
        R.report_bytes(tmp_path, ".pdf")


def test_cli_writes_the_report_and_exits_2_on_bad_input(mnist_job, tmp_path):
    run = [sys.executable, "-m", "explainers", "dataset-report"]
    ok = subprocess.run([*run, str(mnist_job), "--out", str(tmp_path / "r.json")], cwd=ROOT,
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["metrics"] == dataset.read_metrics(mnist_job)
    bad = subprocess.run([*run, str(tmp_path), "--out", str(tmp_path / "r.html")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "not a data-set job folder" in bad.stderr
