"""Misbehaving user models (tests/models/misbehaving.py) through the Python API and the CLI:
one line naming the model (never TorchScript's traceback), exit 2; a good model still runs."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import explain
from models import load_model
from models.errors import ModelRuntimeError
from tests.explainers.test_bad_input_corpus import cli, observe, said
from tests.models.misbehaving import HOW, save_misbehaving

BRIGHT = np.full((8, 8), 255, np.uint8)
SAYS = {"raises": "forward failed on this input: RuntimeError: this model refuses bright pixels",
        "nan": "returned NaN logits", "inf": "returned infinite logits",
        "classes": "returned [1, 6] for this input; its 3 class names need logits [batch, 3]"}


@pytest.mark.parametrize("how", HOW)
def test_python_api_says_one_line(how, tmp_path):
    model = load_model(save_misbehaving(tmp_path, how))
    assert model.predict(np.zeros((8, 8), np.uint8)).shape == (3,)  # a dark input is fine
    for call in (lambda: model.predict(BRIGHT), lambda: explain(model, BRIGHT, "saliency"),
                 lambda: explain(model, BRIGHT, "occlusion", target=0)):
        with pytest.raises(ModelRuntimeError) as exc:
            call()
        line = str(exc.value)
        assert "\n" not in line and SAYS[how] in line and line.startswith(f"bad-{how}"), line
    observe(f"model: forward {how}", "Python API", "error", line)


@pytest.mark.parametrize("how", HOW)
def test_command_line_exits_2_with_one_line(how, tmp_path, capsys):
    from PIL import Image

    Image.fromarray(BRIGHT).save(tmp_path / "bright.png")
    code, err = cli(capsys, "report", "--model", save_misbehaving(tmp_path, how), "--input",
                    tmp_path / "bright.png", "--methods", "saliency", "--out", tmp_path / "r.json")
    (line,) = said(err)
    assert code == 2 and SAYS[how] in line and "TorchScript" not in err, err
    observe(f"model: forward {how}", "CLI", "error (exit 2)", line)


def test_a_hugging_face_model_gone_nan_is_one_line_too(tmp_path):
    import torch

    from tests.models.user_fixtures import save_bert

    model = load_model(save_bert(tmp_path / "bert"))
    assert np.isfinite(model.predict("a great movie")).all()
    with torch.no_grad():
        model.module.classifier.weight.fill_(float("nan"))  # a broken checkpoint, say
    with pytest.raises(ModelRuntimeError, match="returned NaN logits for this input") as exc:
        explain(model, "a great movie", "saliency")
    assert "\n" not in str(exc.value)
