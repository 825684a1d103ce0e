"""Plot functions: trace types, data equal to the values, colour rules, escaping, waterfall ends."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import plotly.graph_objects as go
import pytest

from explainers import plots as P
from explainers.base import Attribution
from models.errors import InputError

EVIL = "<script>alert(1)</script>"
RNG = np.random.default_rng(0)


def image_attr(values: np.ndarray, label: str = "seven") -> Attribution:
    return Attribution(values=values, units=(), method="integrated_gradients", target=7,
                       target_label=label, modality="image")


def text_attr(values, tokens) -> Attribution:
    return Attribution(values=np.asarray(values, float), units=tuple(tokens), method="saliency",
                       target=1, target_label="positive", modality="text")


def tab_attr(values, names, base=0.25) -> Attribution:
    return Attribution(values=np.asarray(values, float), units=tuple(names), method="kernel_shap",
                       target=0, target_label="malignant", modality="tabular", base_value=base)


def test_overlay_has_image_then_heatmap_with_the_values_and_symmetric_scale():
    values = RNG.normal(size=(8, 6))
    img = RNG.integers(0, 255, size=(8, 6, 3), dtype=np.uint8)
    fig = P.heatmap_overlay(image_attr(values), img, opacity=0.3)
    assert [t.type for t in fig.data] == ["image", "heatmap"]
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), img)
    heat = fig.data[1]
    np.testing.assert_allclose(np.asarray(heat.z), values)
    assert heat.opacity == pytest.approx(0.3)
    assert heat.zmin == pytest.approx(-heat.zmax) and heat.zmid == 0
    assert heat.zmax == pytest.approx(np.abs(values).max())
    assert "%{z" in heat.hovertemplate
    alphas = [float(c.rsplit(",", 1)[1].rstrip(")")) for _, c in heat.colorscale]
    assert alphas[len(alphas) // 2] == 0 and alphas[0] == alphas[-1] == 1  # clear at 0
    unsigned = P.heatmap_overlay(image_attr(np.abs(values)), img).data[1]
    assert unsigned.colorscale[0][1].endswith(",0.000)") and unsigned.zmin == 0


def test_unsigned_map_gets_a_sequential_scale_from_zero():
    values = RNG.uniform(0, 2, size=(5, 5))
    heat = P.raw_map(image_attr(values)).data[0]
    assert heat.zmin == 0 and heat.zmax == pytest.approx(values.max()) and heat.zmid is None
    signed = P.raw_map(image_attr(values - 1)).data[0]
    assert signed.zmin == pytest.approx(-signed.zmax)
    assert heat.colorscale != signed.colorscale


def test_overlay_stretches_a_coarse_map_and_accepts_gray_float_images():
    fig = P.heatmap_overlay(image_attr(np.ones((7, 7))), RNG.uniform(size=(28, 28)))
    assert np.asarray(fig.data[0].z).shape == (28, 28, 3)
    assert fig.data[1].dx == pytest.approx(4.0) and fig.data[1].dy == pytest.approx(4.0)


def test_overlay_rejects_bad_opacity_and_bad_image():
    a = image_attr(np.ones((4, 4)))
    with pytest.raises(InputError, match="opacity"):
        P.heatmap_overlay(a, np.zeros((4, 4, 3), np.uint8), opacity=2)
    with pytest.raises(InputError, match="shape"):
        P.heatmap_overlay(a, np.zeros((4, 4, 5), np.uint8))


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.titles, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.titles += [v for k, v in attrs if k == "title"]

    def handle_data(self, data):
        self.text.append(data)


def test_token_highlight_escapes_tokens_and_colours_by_sign():
    a = text_attr([0.8, -0.4, 0.0], [EVIL, "bad", '"q"'])
    html = P.token_highlight(a)
    parsed = _Collect()
    parsed.feed(html)
    assert "script" not in parsed.tags
    assert EVIL in "".join(parsed.text)  # shown as text
    assert f"{EVIL}: 0.8" in parsed.titles and "bad: -0.4" in parsed.titles
    spans = html.split("<span")[1:]
    assert "rgba(214,39,40,1.000)" in spans[0] and "rgba(31,119,180,0.500)" in spans[1]


def test_top_units_bar_keeps_the_k_largest_by_magnitude_largest_on_top():
    values = np.array([0.1, -0.9, 0.5, 0.05, -0.3])
    fig = P.top_units_bar(text_attr(values, ["a", "b", "a", EVIL, "e"]), k=3)
    bar = fig.data[0]
    assert bar.type == "bar" and bar.orientation == "h"
    np.testing.assert_allclose(bar.x, [-0.3, 0.5, -0.9])
    assert list(bar.y) == ["e", "a #2", "b"]  # repeated tokens stay distinct
    assert EVIL not in fig.to_json()


def test_waterfall_runs_from_base_value_to_base_plus_sum():
    values = RNG.normal(size=20)
    a = tab_attr(values, [f"f{i}" for i in range(20)], base=0.4)
    fig = P.waterfall(a, max_display=8)
    wf = fig.data[0]
    assert wf.type == "waterfall" and wf.base == pytest.approx(0.4)
    assert len(wf.x) == 8 and wf.y[0] == "13 other features"
    assert 0.4 + sum(wf.x) == pytest.approx(0.4 + values.sum())
    top = np.argsort(-np.abs(values))[:7]
    np.testing.assert_allclose(wf.x[::-1][:7], values[top])
    lines = sorted(s.x0 for s in fig.layout.shapes)
    assert lines == pytest.approx(sorted([0.4, 0.4 + values.sum()]))


def test_waterfall_labels_show_feature_values_escaped():
    a = tab_attr([1.0, -2.0], ["radius", EVIL])
    fig = P.waterfall(a, feature_values={"radius": 14.25, EVIL: 3})
    assert set(fig.data[0].y) == {"14.25 = radius", "3 = &lt;script&gt;alert(1)&lt;/script&gt;"}
    with pytest.raises(InputError, match="feature_values"):
        P.waterfall(a, feature_values=[1, 2, 3])


def test_bar_and_beeswarm():
    names = [f"f{i}" for i in range(4)]
    attrs = [tab_attr(RNG.normal(size=4) * [4, 0.1, 2, 1], names) for _ in range(10)]
    assert P.bar(attrs[0], 2).data[0].type == "bar"
    fv = RNG.normal(size=(10, 4))
    fig = P.beeswarm(attrs, fv, max_display=3)
    sc = fig.data[0]
    assert sc.type == "scatter" and len(sc.x) == 30
    mean_abs = np.abs(np.stack([a.values for a in attrs])).mean(0)
    assert fig.layout.yaxis.ticktext[-1] == names[int(np.argmax(mean_abs))]
    with pytest.raises(InputError):
        P.beeswarm(np.ones((3, 4)), np.ones((2, 4)))


def test_attention_grid_matrix_and_from_token():
    attn = RNG.uniform(size=(2, 3, 4, 4))
    tokens = ["[CLS]", EVIL, "a", "a"]
    grid = P.attention_grid(attn, tokens)
    assert len(grid.data) == 6 and all(t.type == "heatmap" for t in grid.data)
    np.testing.assert_allclose(grid.data[4].z, attn[1, 1])
    m = P.attention_matrix(attn[0, 2], tokens, title=EVIL)
    np.testing.assert_allclose(m.data[0].z, attn[0, 2])
    assert len(set(m.data[0].x)) == 4 and EVIL not in m.to_json()
    bar = P.attention_from_token(attn[0, 0], tokens, 1).data[0]
    np.testing.assert_allclose(bar.y, attn[0, 0, 1])
    with pytest.raises(InputError):
        P.attention_grid(attn[0], tokens)
    with pytest.raises(InputError):
        P.attention_from_token(attn[0, 0], tokens, 9)


def test_agreement_probabilities_and_modality_share():
    m = np.array([[1.0, -0.5], [-0.5, 1.0]])
    heat = P.agreement_matrix(m, ["ig", EVIL], "Spearman").data[0]
    assert heat.zmin == -1 and heat.zmax == 1 and heat.texttemplate
    assert P.agreement_matrix(np.abs(m), ["a", "b"]).data[0].zmin == 0
    probs = np.array([0.1, 0.6, 0.05, 0.25])
    bar = P.probabilities_bar(probs, ["a", "b", "c", EVIL], k=2).data[0]
    np.testing.assert_allclose(bar.x, [0.25, 0.6])
    assert bar.y[0] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    share = P.modality_share({"image": 0.3, "text": 0.7}).data[0]
    assert list(share.x) == ["image", "text"] and list(share.y) == [0.3, 0.7]


def test_fusion_attribution_feeds_image_and_token_plots():
    a = Attribution(values={"image": np.ones((4, 4)), "text": np.array([0.2, -0.1])},
                    units={"text": ("a", "b")}, method="ig", target=0, target_label="3",
                    modality="fusion")
    assert isinstance(P.heatmap_overlay(a, np.zeros((4, 4, 3), np.uint8)), go.Figure)
    assert "gb-token" in P.token_highlight(a)
    for name in a.plots():
        assert hasattr(P, name)


def test_figures_serialise_without_raw_user_strings():
    a = image_attr(np.ones((3, 3)), label=EVIL)
    text = json.dumps([P.raw_map(a).to_plotly_json()], default=str)
    assert EVIL not in text


def test_large_maps_saturate_at_a_high_percentile_but_keep_their_values():
    """A few extreme pixels must not wash out a 224x224 map; hover data stay exact."""
    values = RNG.normal(0, 1, size=(224, 224))
    values[0, 0] = 1000.0  # one outlier, as pixel-level IG often has
    heat = P.raw_map(image_attr(values)).data[0]
    limit = np.percentile(np.abs(values), 99.5)
    assert heat.zmax == pytest.approx(limit) and heat.zmin == pytest.approx(-limit)
    assert heat.zmax < 10  # not the outlier
    np.testing.assert_allclose(np.asarray(heat.z), values)
    small = RNG.normal(0, 1, size=(28, 28))
    assert P.raw_map(image_attr(small)).data[0].zmax == pytest.approx(np.abs(small).max())


def test_quote_tokens_are_escaped_in_a_form_plotly_decodes():
    """plotly.js decodes numeric references but shows '&quot;' literally."""
    a = text_attr([0.5, -0.2, 0.1], ['"', "it's", EVIL])
    labels = list(P.top_units_bar(a).data[0].y)
    assert "&#34;" in labels and all("&quot;" not in s for s in labels)
    assert "<" not in "".join(labels)  # still escaped
    assert 'title="&#34;: 0.5"' in P.token_highlight(a)  # and safe inside HTML attributes
