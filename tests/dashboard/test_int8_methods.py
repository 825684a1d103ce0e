"""A kept int8 model offers no method that needs gradients (declared by Explainer.gradients,
refused through Method.missing), on the Explain, Compare and Trust pages (issue 15: Grad-CAM was
selected by default and failed with a raw autograd message)."""
from __future__ import annotations

from dashboard import cache, state
from tests.dashboard.helpers import errors, start


def test_kept_int8_model_offers_and_picks_no_gradient_method():
    from explainers import get_method, list_methods
    from models import load_model
    from models.compress import quantize_adapter

    model = load_model("mnist-cnn")
    q = quantize_adapter(model, "int8")
    offered = list_methods(q)
    assert offered and not any(get_method(m).gradients for m in offered)
    assert {"grad_cam", "guided_grad_cam", "saliency"} <= set(list_methods(model)) - set(offered)
    name = q.info.name
    key = cache.kept_key(q)
    at = start(key, **{state.COMPRESSED_MODELS: {name: q}})
    for page, widget in (("app_pages/explain.py", f"methods::{key}"),
                         ("app_pages/compare.py", f"compare_methods::{key}"),
                         ("app_pages/trust.py", f"trust_methods::{key}")):
        at.switch_page(page).run()
        assert not at.exception and not errors(at), (page, errors(at))
        box = at.multiselect(key=widget)
        assert set(box.options) <= {get_method(m).label for m in offered} | set(offered), page
        assert box.value and not any(get_method(m).gradients for m in box.value), page
