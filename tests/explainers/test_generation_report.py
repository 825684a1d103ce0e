"""Reports and the command line on a language model: target continuation, HTML/JSON, reproduce."""
from __future__ import annotations

import json

import pytest

from explainers.cli import main
from tests.models.lm_fixtures import save


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(save("gpt2", tmp_path_factory.mktemp("lm") / "tiny-gpt2"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_json_records_the_continuation_and_reproduces(folder, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, _, err = run(capsys, "report", "--model", folder, "--input", "the acting is",
                       "--methods", "feature_ablation,integrated_gradients,lime",
                       "--target= superb", "--param", "integrated_gradients.n_steps=8",
                       "--out", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text())
    fa = doc["attributions"][0]
    assert fa["target_label"] == " superb" and fa["modality"] == "generation"
    gen = fa["generation"]
    assert gen["token_attr"]["shape"] == [len(gen["output_tokens"]), len(fa["units"])]
    assert "token_attr" not in doc["attributions"][2]["generation"]  # lime: sequence only
    assert doc["sections"][0]["data"]["continuation"] == " superb"
    assert doc["sections"][0]["data"]["logit_lens"]["layers"][-1] == "output"
    code, printed, err = run(capsys, "reproduce", str(out))
    assert code == 0, printed + err
    assert printed.count(" ok") == 3


def test_report_html_has_heatmap_and_continuation(folder, tmp_path, capsys):
    out = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "--model", folder, "--input", "the acting is",
                       "--methods", "saliency,attention", "--param", "saliency.max_new_tokens=3",
                       "--param", "attention.max_new_tokens=3", "--out", str(out))
    assert code == 0, err
    html = out.read_text()
    assert "Continuation: <b>" in html and "logit lens" in html
    # saliency heatmap, attention heatmap + grid, logit lens
    assert 'name="glassbox-figures" content="4"' in html
    assert "http://" not in html.replace("http://www.w3.org", "")


@pytest.mark.parametrize("args,needle", [
    (["--target= "], "empty"),
    (["--param", "saliency.contrast= superb", "--target= superb"], "contrast"),
    (["--param", "saliency.spans=0:9"], "span"),
])
def test_bad_generation_input_exits_2_with_one_line(folder, tmp_path, capsys, args, needle):
    code, _, err = run(capsys, "report", "--model", folder, "--input", "the acting is",
                       "--methods", "saliency", "--out", str(tmp_path / "x.json"), *args)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0], err


def test_continuation_target_on_a_classifier_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "report", "--model", "sentiment-bag", "--input", "a fine film",
                       "--methods", "saliency", "--target= superb",
                       "--out", str(tmp_path / "x.json"))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "continuation" in errors[0]
