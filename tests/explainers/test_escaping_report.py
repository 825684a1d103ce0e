"""Every user string in a report and in the batch index, hostile and kept whole by the model's
tokenizer: the parsed HTML has the same elements as its harmless twin, no on* handler, and shows
each string as text. Sinks: report title, input text, tokens, class, feature and section names,
file names, sidecar name, description and class names of a user's model."""
from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import torch
from torch import nn

from explainers import explain
from explainers.report import Section, build_report
from explainers.report.batch import index_html
from explainers.report.html import render_html
from models import BaseAdapter, InputError, ModelInfo, load_model
from tests.html_audit import BENIGN, HOSTILE, assert_nothing_injected, twin


class VerbatimText(BaseAdapter):
    """Whitespace tokens shown exactly as typed (a hostile string survives tokenization)."""

    mask_token_id = None
    pad_token_id = 0

    def __init__(self, words: tuple[str, ...]):
        torch.manual_seed(1)
        self.embedding_layer = nn.Embedding(101, 6)
        module = nn.ModuleDict({"emb": self.embedding_layer, "out": nn.Linear(6, 2)})
        info = ModelInfo(name=words[0], modality="text", class_names=(words[1], words[2]),
                         description=words[3])
        super().__init__(module, info, "cpu")

    def tokens(self, raw: str) -> tuple[str, ...]:
        if not isinstance(raw, str) or not raw.strip():
            raise InputError("the text is empty")
        return tuple(raw.split())

    def preprocess(self, raw: str) -> torch.Tensor:
        ids = [1 + zlib.crc32(t.encode()) % 100 for t in self.tokens(raw)]
        return torch.tensor([ids], device=self.device)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.module["out"](self.module["emb"](ids).mean(dim=1))


class NamedTable(BaseAdapter):
    """Four features and two classes, all named by the caller."""

    def __init__(self, words: tuple[str, ...]):
        torch.manual_seed(0)
        info = ModelInfo(name=words[4], modality="tabular", class_names=(words[0], words[1]),
                         feature_names=words[:4])
        super().__init__(nn.Linear(4, 2), info, "cpu")

    def preprocess(self, raw: Any) -> torch.Tensor:
        return torch.tensor([[float(raw[k]) for k in self.info.feature_names]])

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        return [({w: float(i) for i, w in enumerate(self.info.feature_names)}, 1)]


def text_report(words: tuple[str, ...]) -> str:
    model = VerbatimText(words)
    text = " ".join(words) + " film"
    attributions = [explain(model, text, m) for m in ("saliency", "integrated_gradients")]
    return render_html(build_report(model, text, attributions, title=words[4],
                                    sections=[Section(words[2], text=words[3])]))


def table_report(words: tuple[str, ...]) -> str:
    model = NamedTable(words)
    row = model.samples()[0][0]
    return render_html(build_report(model, row, [explain(model, row, "saliency")]))


def test_text_report_title_tokens_classes_and_sections():
    hostile = text_report(HOSTILE)
    assert_nothing_injected(hostile, text_report(BENIGN))


def test_table_report_feature_and_class_names():
    hostile = table_report(HOSTILE)
    assert_nothing_injected(hostile, table_report(BENIGN), HOSTILE[:4])


def test_batch_index_file_names_labels_and_reasons():
    def page(words):
        return index_html([(words[0], words[1] + ".html", words[2], 0.5)], words[3],
                          failed=[(words[4], words[0])])

    shown = (HOSTILE[0], HOSTILE[2], HOSTILE[3], HOSTILE[4])  # HOSTILE[1] is the link's href
    assert_nothing_injected(page(HOSTILE), page(BENIGN), shown)


def _user_model(tmp_path, words: tuple[str, ...], tag: str):
    from tests.models.user_fixtures import IMAGE_SIDECAR, tiny_cnn

    path = tmp_path / f"{tag}.ts"
    torch.jit.save(torch.jit.script(tiny_cnn()), str(path))
    sidecar = {**IMAGE_SIDECAR, "name": words[0], "description": words[1],
               "class_names": list(words[2:5])}
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return load_model(path)


def test_user_model_sidecar_name_description_and_class_names(tmp_path):
    def page(words, tag):
        model = _user_model(tmp_path, words, tag)
        img = np.zeros((8, 8), np.uint8)
        img[2:6, 3:5] = 255
        a = explain(model, img, "saliency", target=2)  # the target label is words[4]
        return render_html(build_report(model, img, [a]))

    hostile = page(HOSTILE, "hostile")
    assert_nothing_injected(hostile, page(BENIGN, "benign"), (HOSTILE[0], HOSTILE[4]))


def test_twin_is_a_real_control():
    """The check can fail: the same page with one string left unescaped is caught."""
    import pytest

    good = index_html([("a", "a.html", "b", 0.5)], "t")
    with pytest.raises(AssertionError):
        assert_nothing_injected(good.replace("<td>b</td>", f"<td>{HOSTILE[1]}</td>"), good, ())
    assert twin(" ".join(HOSTILE)) == " ".join(BENIGN)
