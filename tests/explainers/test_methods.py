"""Every registered method on the stand-in models; params, targets, units, errors, progress."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import explain, get_method, list_methods
from explainers.base import REGISTRY, _load_methods
from explainers.methods import method_table
from explainers.preflight import MINIMUM
from models.errors import CancelledError, InputError, UnknownNameError, UnsupportedError
from tests.explainers.conftest import TEXT, image_raw

X = np.array([1.5, -2.0, 3.0, 0.5, -1.0, 2.5])
STANDINS = {"mlp": X, "cnn": image_raw(), "bag": TEXT, "bert": TEXT, "gpt2_lm": "the film is a"}
CONTINUATION = " mess and"  # the generation stand-in's target
# small counts so each call takes milliseconds
CHEAP = {"n_steps": 8, "n_samples": 24, "nt_samples": 4, "max_evals": 60, "n_baselines": 4,
         "n_background": 5}
SLOW = {"shap_partition"}  # numba compiles on first use


def cheap(method: str) -> dict:
    names = {p.name for p in get_method(method).params}
    return {k: v for k, v in CHEAP.items() if k in names}


def cases():
    _load_methods()
    for fixture in STANDINS:
        for method in REGISTRY:
            marks = [pytest.mark.slow] if method in SLOW else []
            yield pytest.param(fixture, method, id=f"{fixture}-{method}", marks=marks)


def test_every_design_method_is_registered():
    assert set(MINIMUM) <= set(list_methods())


@pytest.mark.parametrize("fixture,method", cases())
def test_method_on_standin(request, fixture, method):
    model = request.getfixturevalue(fixture)
    raw = STANDINS[fixture]
    explainer = get_method(method)
    if not explainer.supports(model):
        assert explainer.why_not(model)  # says why, and explain() refuses with that reason
        with pytest.raises(UnsupportedError, match=method):
            explain(model, raw, method)
        return
    if model.info.modality == "generation":
        return check_generation(model, raw, method, explainer)
    target = model.info.num_classes - 1
    a = explain(model, raw, method, target=target, **cheap(method))
    values = np.asarray(a.values)
    assert np.isfinite(values).all()
    if model.info.modality == "image":
        assert values.shape == model.info.input_size and a.units == ()
    else:
        assert values.shape == (len(model.units(raw)),) and a.units == model.units(raw)
    assert (a.target, a.target_label) == (target, model.info.class_names[target])
    assert a.method == method and a.model_name == model.info.name and a.seconds > 0
    spec = {p.name for p in explainer.params_for(model)}
    assert spec <= set(a.params) and "seed" in a.params  # every parameter used is recorded
    assert a.output == pytest.approx(float(model.forward(*_x(model, raw))[0, target]), abs=1e-5)


def check_generation(model, raw, method, explainer):
    """A language model: the continuation is the target; output = log p(continuation)."""
    accepted = {p.name for p in explainer.params_for(model)}
    a = explain(model, raw, method, target=CONTINUATION,
                **{k: v for k, v in cheap(method).items() if k in accepted})
    assert np.isfinite(np.asarray(a.values)).all()
    assert a.values.shape == (len(model.units(raw)),) and a.units == model.units(raw)
    assert (a.target, a.target_label) == (-1, CONTINUATION) and a.method == method
    assert accepted <= set(a.params) and "seed" in a.params
    assert a.output == pytest.approx(model.log_prob(raw, CONTINUATION), abs=1e-4)
    n_out = len(model.continuation_ids(CONTINUATION))
    if "token_attr" in a.extras:
        assert a.extras["token_attr"].shape == (n_out, len(a.units))
    assert len(a.extras["output_tokens"]) == n_out


def _x(model, raw):
    x = model.preprocess(raw)
    return x if isinstance(x, tuple) else (x,)


def test_default_target_is_the_predicted_class(cnn):
    a = explain(cnn, image_raw(1), "saliency")
    assert a.target == int(np.argmax(cnn.predict(image_raw(1))))
    assert explain(cnn, image_raw(1), "saliency", target="b").target == 1


def test_merge_words_sums_subword_pieces(bag):
    tokens = explain(bag, TEXT, "integrated_gradients", n_steps=8)
    words = explain(bag, TEXT, "integrated_gradients", n_steps=8, merge_words=True)
    assert "acting" in words.units and "funny" in words.units
    assert len(words.units) == len(tokens.units) - 2
    assert words.values.sum() == pytest.approx(tokens.values.sum(), abs=1e-9)
    i, j = tokens.units.index("act"), words.units.index("acting")
    assert words.values[j] == pytest.approx(tokens.values[i] + tokens.values[i + 1])


def test_text_baseline_keeps_special_tokens(bag):
    a = explain(bag, TEXT, "feature_ablation", baselines="mask")
    assert a.values[0] == 0.0 and a.values[-1] == 0.0  # [CLS]/[SEP] equal in the baseline
    assert a.params["baselines"] == "mask"


def test_custom_baseline_image(cnn):
    custom = image_raw(2)
    a = explain(cnn, image_raw(), "integrated_gradients", n_steps=8, baselines="custom",
                custom_baseline=custom)
    b = explain(cnn, image_raw(), "integrated_gradients", n_steps=8, baselines="black")
    assert not np.allclose(a.values, b.values)
    with pytest.raises(InputError, match="custom_baseline"):
        explain(cnn, image_raw(), "integrated_gradients", baselines="custom")


def test_attention_shapes_and_rollout(bert):
    a = explain(bert, TEXT, "attention", layer=0, head=1)
    att = a.extras["attention"]
    n = len(bert.tokens(TEXT))
    assert att.shape == (2, 2, n, n)
    np.testing.assert_allclose(a.values, att[0, 1, 0])
    r = explain(bert, TEXT, "attention_rollout")
    np.testing.assert_allclose(r.extras["rollout"].sum(-1), 1.0, atol=1e-5)  # rows stay stochastic
    g = explain(bert, TEXT, "attention_rollout", variant="gradient", target=0)
    assert g.extras["rollout"].shape == (n, n) and g.params["variant"] == "gradient"


def test_stochastic_methods_repeat_with_a_seed(cnn):
    a = explain(cnn, image_raw(), "lime", n_samples=30, seed=3)
    b = explain(cnn, image_raw(), "lime", n_samples=30, seed=3)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.params["seed"] == 3


@pytest.mark.parametrize("method,params,error,names", [
    ("integrated_gradients", {"n_stepz": 3}, UnknownNameError, "n_steps"),
    ("integrated_gradients", {"n_steps": 0}, InputError, "n_steps"),
    ("integrated_gradients", {"baselines": "pad"}, InputError, "black"),
    ("integrated_gradients", {"integration_method": "simpson"}, InputError, "riemann_left"),
    ("grad_cam", {"layer": "conv9"}, UnknownNameError, "conv1"),
    ("smoothgrad", {"nt_type": "x"}, InputError, "vargrad"),
    ("saliency", {"abs": "maybe"}, InputError, "bool"),
])
def test_bad_params_name_the_allowed_values(cnn, method, params, error, names):
    with pytest.raises(error, match=names):
        explain(cnn, image_raw(), method, **params)


def test_unknown_method_and_bad_target(cnn):
    with pytest.raises(UnknownNameError, match="integrated_gradients"):
        explain(cnn, image_raw(), "integrated_gradient")
    with pytest.raises(InputError, match="out of range"):
        explain(cnn, image_raw(), "saliency", target=7)


def test_progress_reaches_total_and_cancel_stops(cnn):
    seen = []
    explain(cnn, image_raw(), "occlusion", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and len(seen) >= 2
    with pytest.raises(CancelledError):
        explain(cnn, image_raw(), "integrated_gradients", progress=lambda d, t: False)

    def stop(done, total):
        if done > 0:
            raise CancelledError("user pressed stop")

    with pytest.raises(CancelledError, match="stop"):
        explain(cnn, image_raw(), "kernel_shap", n_samples=30, progress=stop)


def test_params_for_narrows_choices_to_the_model(cnn, bag, mlp):
    def choices(model, method, name):
        return next(p.choices for p in get_method(method).params_for(model) if p.name == name)

    assert set(choices(bag, "occlusion", "baselines")) == {"auto", "pad", "mask"}
    assert "blur" in choices(cnn, "occlusion", "baselines")
    assert choices(cnn, "grad_cam", "layer") == ("conv1", "conv2")
    assert "merge_words" not in {p.name for p in get_method("saliency").params_for(mlp)}


def test_method_table_covers_the_registry():
    rows = method_table()
    assert sorted(r["method"] for r in rows) == sorted(REGISTRY)
    assert set(MINIMUM) <= {r["method"] for r in rows}
    assert [r["method"] for r in rows] == list(REGISTRY)  # registration order, families first
    mods = ("image", "text", "tabular", "fusion", "generation")
    assert all(r["needs"] and any(r[m] for m in mods) for r in rows)


def test_bool_params_accept_strings(linear):
    a = explain(linear, X, "saliency", target=1, abs="false")
    assert a.params["abs"] is False and (a.values < 0).any()
