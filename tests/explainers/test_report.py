"""Reports from stand-in models: offline HTML, escaping, JSON/NPZ records, reproduce."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from explainers import explain
from explainers.report import (
    Section,
    build_report,
    read_document,
    render_html,
    reproduce,
    save,
    to_json_bytes,
)
from explainers.report.html import plotly_js
from explainers.report.inputs import input_record, raw_from_record
from models.errors import InputError
from tests.explainers.test_report_stubs import (
    EVIL,
    FEATURES,
    ImageStub,
    TabularStub,
    TextStub,
    digit_image,
    stubs_fixture,  # noqa: F401  (the `stubs` fixture)
)

ROW = {"f0": 0.5, "f1": -1.0, "f2": 2.0, "<b>f3</b>": 0.25}
URL = re.compile(r"https?://[^\s\"'<>)]*")


class Page(HTMLParser):
    """Collects elements, attributes, script bodies and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def tab_report(stubs):
    m = stubs["stub-tabular"]()
    results = [explain(m, ROW, "stub_ixg", scale=2.0), explain(m, ROW, "stub_noise", seed=3)]
    return m, build_report(m, ROW, results, seed=3)


def test_report_value_holds_card_prediction_and_environment(stubs):
    m, rep = tab_report(stubs)
    assert rep.model["name"] == "stub-tabular" and rep.model["sha256"] == "0" * 64
    np.testing.assert_allclose(rep.probabilities, m.predict(ROW))
    assert rep.predicted_label == m.info.class_names[int(np.argmax(m.predict(ROW)))]
    for key in ("python", "torch", "captum", "shap", "plotly", "device", "seed", "timestamp"):
        assert key in rep.environment
    assert rep.environment["seed"] == 3 and rep.input == {"kind": "tabular", "row": ROW,
                                                           "raw_type": "dict"}


def test_html_inlines_plotly_once_and_one_script_per_figure(stubs):
    _, rep = tab_report(stubs)
    html = render_html(rep)
    page = parse(html)
    figures = html.count('class="plotly-graph-div"')
    assert figures == 1 + 2 * 2  # probabilities + waterfall and bar per method
    assert len(page.scripts) == 1 + figures
    assert sum("Plotly.newPlot" in s for s in page.scripts) == figures
    assert page.scripts[0] == plotly_js() and html.count(plotly_js()[:300]) == 1  # once
    assert f'content="{figures}"' in html


def test_html_has_no_url_to_another_host(stubs):
    _, rep = tab_report(stubs)
    html = render_html(rep)
    page = parse(html)
    # 1. every http(s) string in the file (plotly.js included) is an XML namespace name
    assert {u.split("/")[2] for u in URL.findall(html)} <= {"www.w3.org"}
    # 2. nothing loads or links: no src/href/action/srcset to a scheme other than data:/#
    for tag, key, value in page.attrs:
        if key in ("src", "href", "action", "srcset", "poster", "data"):
            assert value.startswith(("data:", "#")), (tag, key, value[:60])
    assert not {"link", "iframe", "object", "embed", "base", "frame"} & set(page.tags)
    # 3. the Content-Security-Policy forbids any fetch
    csp = [v for t, k, v in page.attrs if t == "meta" and k == "content" and "default-src" in v]
    assert csp and "default-src 'none'" in csp[0] and "connect-src 'none'" in csp[0]


def test_user_strings_are_escaped_and_run_nothing(stubs):
    m = stubs["stub-text"]()
    text = f"good {EVIL} film"
    rep = build_report(m, text, [explain(m, text, "stub_noise", target="pos", seed=1)],
                       sections=[Section(EVIL, text=EVIL)], title=EVIL)
    html = render_html(rep)
    page = parse(html)
    assert len(page.scripts) == 1 + html.count('class="plotly-graph-div"')
    assert not any("<script" in s.lower() or "</script" in s.lower() for s in page.scripts[1:])
    visible = "".join(page.text)
    assert visible.count(EVIL) >= 4  # title, input text, highlighted token, section
    assert "<script>alert" not in html.replace("&lt;", "")  # only escaped forms in the file


def test_image_report_embeds_a_png_thumbnail_and_overlay(stubs):
    m = stubs["stub-image"]()
    img = digit_image()
    rep = build_report(m, img, [explain(m, img, "stub_ixg")])
    html = render_html(rep)
    assert '<img class="thumb" alt="input image" src="data:image/png;base64,' in html
    assert html.count('class="plotly-graph-div"') == 3  # prediction, overlay, raw map


def test_sections_hook_adds_titled_blocks_with_figures(stubs):
    _, rep = tab_report(stubs)
    before = render_html(rep).count('class="plotly-graph-div"')
    rep.add_section(Section("Trust", text="scores", html="<p>ok</p>",
                            figures=[go.Figure(go.Bar(x=[1], y=[2]))], data={"x": 1}))
    html = render_html(rep)
    assert html.count('class="plotly-graph-div"') == before + 1 and "<h2>Trust</h2>" in html
    doc = json.loads(to_json_bytes(rep)[0])
    assert doc["sections"] == [{"title": "Trust", "text": "scores", "data": {"x": 1}}]


def test_json_records_everything_needed_to_recompute(stubs, tmp_path):
    _, rep = tab_report(stubs)
    path = save(rep, tmp_path / "r.json")
    doc, arrays = read_document(path)
    assert doc["model"]["name"] == "stub-tabular" and doc["model"]["sha256"] == "0" * 64
    assert doc["input"]["row"] == ROW and doc["seed"] == 3 and arrays == {}
    ixg, noise = doc["attributions"]
    assert ixg["params"] == {"scale": 2.0, "absolute": False} and ixg["seed"] == 3
    assert noise["params"]["seed"] == 3 and noise["delta"] == 0.01
    np.testing.assert_allclose(ixg["values"]["data"], rep.attributions[0].values)
    assert doc["environment"]["torch"] == rep.environment["torch"]
    assert ixg["units"] == list(FEATURES)


@pytest.mark.parametrize("stub", ["stub-tabular", "stub-text", "stub-image"])
def test_reproduce_round_trips(stubs, tmp_path, stub):
    m = stubs[stub]()
    raw = {"stub-tabular": ROW, "stub-text": "a fine <b>film</b>", "stub-image": digit_image()}[stub]
    methods = [k for k in ("stub_ixg", "stub_noise") if REG_SUPPORTS(k, m)]
    rep = build_report(m, raw, [explain(m, raw, k, seed=7) for k in methods], seed=7)
    path = save(rep, tmp_path / "r.json")
    assert (tmp_path / "r.npz").exists() == (stub == "stub-image")
    checks = reproduce(path)
    assert [c.method for c in checks] == methods
    assert all(c.ok and c.max_abs_diff <= c.tolerance for c in checks), checks


def REG_SUPPORTS(name, model):  # noqa: N802
    from explainers.base import REGISTRY

    return REGISTRY[name].supports(model)


def test_reproduce_detects_changed_numbers(stubs, tmp_path):
    _, rep = tab_report(stubs)
    path = save(rep, tmp_path / "r.json")
    doc = json.loads(path.read_text())
    doc["attributions"][1]["values"]["data"][0] += 0.5
    doc["attributions"][1]["seed"] = 4  # another seed: other noise
    path.write_text(json.dumps(doc))
    ok = [c.ok for c in reproduce(path)]
    assert ok == [True, False]


def test_reproduce_rejects_what_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a Glassbox report"):
        reproduce(bad)
    with pytest.raises(InputError, match="cannot read"):
        reproduce(tmp_path / "missing.json")


@pytest.mark.parametrize("kind", ["uint8", "float", "pil", "path", "gray_gif"])
def test_image_inputs_round_trip_exactly(tmp_path, kind):
    img = digit_image(1)
    raw = {"uint8": np.stack([img] * 3, -1), "float": img / 255.0, "pil": Image.fromarray(img),
           "path": tmp_path / "d.png", "gray_gif": tmp_path / "d.gif"}[kind]
    if kind in ("path", "gray_gif"):
        Image.fromarray(img).save(raw)
    arrays: dict = {}
    rec = json.loads(json.dumps(input_record(raw, "image", (), arrays)))
    back = raw_from_record(rec, arrays)
    expect = np.asarray(Image.open(raw)) if isinstance(raw, Path) else np.asarray(raw)
    np.testing.assert_array_equal(np.asarray(back), expect)
    assert (kind == "float") == bool(arrays)


def test_tabular_and_text_inputs_round_trip():
    arrays: dict = {}
    frame = pd.DataFrame([ROW])
    assert raw_from_record(input_record(frame, "tabular", FEATURES, arrays), arrays) == ROW
    arr = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(raw_from_record(input_record(arr, "tabular", FEATURES, {}), {}),
                                  arr)
    assert raw_from_record(input_record(EVIL, "text", (), {}), {}) == EVIL
    with pytest.raises(InputError):
        input_record(3, "text", (), {})


def test_unknown_extension_and_missing_chromium(stubs, tmp_path, monkeypatch):
    from explainers.report import pdf
    from models.errors import UnsupportedError

    _, rep = tab_report(stubs)
    with pytest.raises(InputError, match="unknown report format"):
        save(rep, tmp_path / "r.docx")
    monkeypatch.setattr(pdf, "candidates", lambda: [str(tmp_path / "no-chromium")])
    with pytest.raises(UnsupportedError, match="apt-get install -y chromium"):
        save(rep, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_stubs_are_only_test_doubles():
    assert TabularStub().info.name == "stub-tabular" and TextStub().info.modality == "text"
    assert ImageStub().display_image(digit_image()).shape == (70, 70, 3)


def test_fusion_input_and_result_render(tmp_path):
    from explainers.base import Attribution
    from explainers.report import Report, environment

    arrays: dict = {}
    raw = {"image": digit_image(2), "text": f"three {EVIL}"}
    rec = json.loads(json.dumps(input_record(raw, "fusion", (), arrays)))
    back = raw_from_record(rec, arrays)
    np.testing.assert_array_equal(back["image"], raw["image"])
    a = Attribution(values={"image": np.ones((70, 70)), "text": np.array([0.5, -0.2])},
                    units={"text": ("three", EVIL)}, method="ig", target=3, target_label="3",
                    modality="fusion")
    rep = Report(model={"name": "fusion-stand-in", "source": "builtin", "sha256": "",
                        "modality": "fusion", "class_names": list("0123"), "device": "cpu"},
                 input=rec, probabilities=np.array([0.1, 0.1, 0.1, 0.7]), attributions=[a],
                 environment=environment("cpu", 0), display_image=np.zeros((70, 70, 3), np.uint8))
    html = render_html(rep)
    # prediction, overlay, raw map, top tokens, modality share (a.plots()); tokens as HTML
    assert html.count('class="plotly-graph-div"') == 5 and 'class="gb-token"' in html
    assert back["text"] == raw["text"] and "<script>alert" not in html
