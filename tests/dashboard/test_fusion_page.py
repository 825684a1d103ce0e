"""AppTest: digit-text-fusion on the Explain page: both maps, modality shares, cross-modal view."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard import state
from dashboard.runner import IG_TOLERANCE
from tests.dashboard.helpers import decode, errors, figures, start

MODEL = "digit-text-fusion"
PHRASE = "definitely the number 3"


def _by_title(at, prefix: str) -> list[dict]:
    return [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith(prefix)]


@pytest.mark.slow
def test_fusion_ig_maps_tokens_share_and_cross_modal_match_direct_calls():
    from explainers import explain, get_method
    from explainers.fusion import cross_modal, modality_share
    from models import load_model

    model = load_model(MODEL)
    at = start(MODEL, **{state.FUSION_TEXT: PHRASE, state.AUTO_RAN: True})
    at.multiselect(key=f"methods::{MODEL}").set_value(["integrated_gradients"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not errors(at), errors(at)
    # the widgets are the fusion spec of the method, not the image/text one
    names = {p.name for p in get_method("integrated_gradients").params_for(model)}
    assert {k.split("::")[-1] for k in at.session_state if k.startswith(
        "param::integrated_gradients::")} >= names
    raw = {"image": model.samples(200, 0)[0][0]["image"], "text": PHRASE}
    (name, a), = at.session_state[state.RESULTS]["items"]
    direct = explain(model, raw, "integrated_gradients", tolerance=IG_TOLERANCE)  # adaptive
    assert a.kind == "fusion" and a.target == direct.target
    overlay = _by_title(at, "integrated_gradients")[0]
    heat = [t for t in overlay["data"] if t["type"] == "heatmap"][0]
    np.testing.assert_allclose(decode(heat["z"]), direct.values["image"], rtol=1e-5, atol=1e-8)
    bar = [f for f in _by_title(at, "integrated_gradients") if "top" in f["layout"]["title"]["text"]]
    shown = np.sort(np.asarray(decode(bar[0]["data"][0]["x"]), float))
    np.testing.assert_allclose(shown, np.sort(direct.values["text"]), rtol=1e-5, atol=1e-8)
    html = "".join(m.value for m in at.markdown if "gb-tokens" in m.value)
    assert all(f">{tok}</span>" in html for tok in direct.units["text"])
    share = _by_title(at, "share of |attribution|")[0]["data"][0]
    expected = modality_share(model, raw, direct)["attribution"]
    np.testing.assert_allclose(decode(share["y"]), [expected["image"], expected["text"]],
                               rtol=1e-6)
    # the cross-modal view runs only when asked, then matches explainers.fusion.cross_modal
    assert not _by_title(at, "output change when the token is masked")
    at.button(key="explain::integrated_gradients::cross_run").click().run()
    assert not at.exception and not errors(at), errors(at)
    cm = cross_modal(model, raw, direct.target, "integrated_gradients", **direct.params)
    change = _by_title(at, "output change when the token is masked")[0]["data"][0]
    np.testing.assert_allclose(np.sort(decode(change["x"])), np.sort(cm.output_change),
                               rtol=1e-5, atol=1e-9)
    token = int(np.argmax(cm.influence))
    diff = [t for t in _by_title(at, "what ")[0]["data"] if t["type"] == "heatmap"][0]
    np.testing.assert_allclose(decode(diff["z"]), cm.difference[token], rtol=1e-5, atol=1e-9)


def test_fusion_example_phrase_fills_its_own_text_box():
    at = start(MODEL, **{state.TEXT: "a film review for the text models", state.AUTO_RAN: True})
    box = at.text_area(key=state.FUSION_TEXT)
    assert box.value != "a film review for the text models"  # its own box, not the text models'
    example = at.button(key="example::1")
    example.click().run()
    assert not at.exception and not errors(at)
    assert at.text_area(key=state.FUSION_TEXT).value == example.label
    assert f"+ {example.label[:40]}" in " ".join(c.value for c in at.caption)
