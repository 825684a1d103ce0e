"""Compression lab results in reports: the section's table, charts and JSON numbers, and the CLI."""
from __future__ import annotations

import dataclasses
import html
import json
import re

import pytest

from explainers import compare_models as cm
from explainers.compress_cli import EXIT_OK, EXIT_USAGE, main
from explainers.report import render_html, save
from explainers.report.compression import TITLE, compression_report, compression_section
from models.errors import InputError

MODEL = "mnist-cnn"
KW = {"n_explain": 2, "n_accuracy": 40, "latency_runs": 2, "batch_size": 8}


@pytest.fixture(scope="module")
def model():
    from models import load_model

    return load_model(MODEL, device="cpu")


@pytest.fixture(scope="module")
def rows(model):
    return cm.sweep(model, [0.0, 0.5], ["saliency"], **KW)


@pytest.fixture(scope="module")
def page(model, rows):
    return render_html(compression_report(model, rows, seed=0))


def section_html(page: str) -> str:
    """The compression section of a rendered report (its <section> element)."""
    start = page.index(f"<h2>{TITLE}</h2>")
    return page[start:page.index("</section>", start)]


def table_cells(page: str) -> tuple[list[str], list[list[str]]]:
    """(header, body rows) of the section's table, cells unescaped."""
    table = re.search(r'<table class="compression">(.*?)</table>', page, re.S).group(1)
    rows = [[html.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", r)]
            for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    return rows[0], rows[1:]


def test_table_numbers_are_the_comparisons(page, rows):
    head, body = table_cells(section_html(page))
    comps = [c for _, c in rows]
    assert [r[0] for r in body] == [c.compressed for c in comps]
    col = {h: i for i, h in enumerate(head)}
    for r, c in zip(body, comps, strict=True):
        assert float(r[col["accuracy"]]) == pytest.approx(c.accuracy, abs=5e-5)
        assert float(r[col["agreement"]]) == pytest.approx(c.agreement, abs=5e-5)
        assert float(r[col["sparsity"]]) == pytest.approx(c.size["sparsity"], abs=5e-5)
        rho, top = r[col["saliency drift: Spearman / top-k"]].split(" / ")
        assert float(rho) == pytest.approx(c.drift["saliency"].spearman, abs=5e-4)
        assert float(top) == pytest.approx(c.drift["saliency"].topk_overlap, abs=5e-4)
    assert body[0][col["saliency drift: Spearman / top-k"]] == "1.000 / 1.000"  # amount 0


def test_sweep_section_has_two_charts_and_the_original_maps(page):
    sec = section_html(page)
    assert sec.count('class="plotly-graph-div"') == 2
    assert "Held-out accuracy vs sparsity" in sec and "Explanation agreement vs sparsity" in sec
    assert "<h2>saliency</h2>" in page  # the original's map of the same held-out input
    assert page.count('class="plotly-graph-div"') > 2


def test_json_report_carries_every_number(model, rows, tmp_path):
    path = save(compression_report(model, rows, seed=0), tmp_path / "r.json")
    doc = json.loads(path.read_text())
    [sec] = [s for s in doc["sections"] if s["title"] == TITLE]
    assert sec["data"] == {"results": [c.to_dict() for _, c in rows]}
    single = rows[1][1]
    assert compression_section(single).data == single.to_dict()
    assert compression_section(single).figures == []  # one model: no sweep charts


def test_user_strings_are_escaped(rows):
    c = dataclasses.replace(rows[1][1], compressed='<img src=x onerror="alert(1)">',
                            notices=["<script>bad()</script>"])
    sec = compression_section([c])
    assert "<img" not in sec.html and "<script>" not in sec.html
    assert "&lt;img src=x" in sec.html and "&lt;script&gt;bad()" in sec.html


def test_nan_drift_reads_n_a(rows):
    c = rows[1][1]
    d = dataclasses.replace(c.drift["saliency"], spearman=float("nan"))
    _, body = table_cells(compression_section([dataclasses.replace(c, drift={"saliency": d})]).html)
    assert body[0][-1].startswith("n/a / ")


@pytest.mark.parametrize("bad", [[], ["not a comparison"]])
def test_bad_result_is_an_input_error(bad):
    with pytest.raises(InputError, match="Comparison"):
        compression_section(bad)


@pytest.mark.slow
def test_cli_writes_an_html_report(tmp_path, capsys):
    out = tmp_path / "x.html"
    code = main(["--model", MODEL, "--op", "prune", "--amount", "0,0.5", "--methods", "saliency",
                 "--n-explain", "2", "--n-accuracy", "40", "--runs", "2", "--batch-size", "8",
                 "--quiet", "--out", str(out)])
    assert code == EXIT_OK
    page = out.read_text(encoding="utf-8")
    assert f"<h2>{TITLE}</h2>" in page and "Glassbox compression report: mnist-cnn (prune)" in page
    _, body = table_cells(section_html(page))
    assert [r[0] for r in body] == [f"{MODEL} (pruned 0% L1)", f"{MODEL} (pruned 50% L1)"]
    assert f"wrote {out}" in capsys.readouterr().out


def test_cli_bad_method_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "x.html"
    code = main(["--model", MODEL, "--op", "prune", "--amount", "0", "--methods", "nope",
                 "--quiet", "--out", str(out)])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert "unknown method 'nope'" in err and "\n" not in err
    assert not out.exists()
