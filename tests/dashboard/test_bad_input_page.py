"""The bad-input corpus uploaded on the Explain page (AppTest, the real small models): the line
shows in place, never a traceback, and the prediction, the earlier results, the target and the
seed stay."""
from __future__ import annotations

import pytest

from dashboard import state
from tests.bad_inputs import (
    IMAGE_MODEL,
    IMAGES,
    TABLE_MODEL,
    TABLES,
    TEXT_MODEL,
    TEXTS,
    csv_bytes,
    digit,
    ids,
    table_rows,
)
from tests.dashboard.helpers import start
from tests.explainers.test_bad_input_corpus import observe

UPLOADER = {IMAGE_MODEL: state.IMAGE_UPLOAD, TEXT_MODEL: state.TEXT_UPLOAD,
            TABLE_MODEL: state.CSV_UPLOAD}
MIME = {IMAGE_MODEL: "image/png", TEXT_MODEL: "text/plain", TABLE_MODEL: "text/csv"}


def good_file(model: str) -> tuple[str, bytes]:
    from tests.bad_inputs import _save

    if model == IMAGE_MODEL:
        return "good.png", _save(digit().rotate(90), "PNG")  # unlike every case
    if model == TEXT_MODEL:
        return "good.txt", b"a warm and wonderful film"
    names, rows = table_rows(2)
    return "good.csv", csv_bytes(names, rows[1:])  # another row than the cases' own


def explained_page(model: str):
    """The Explain page with a good upload explained by saliency, target 3 / 1 and seed 7."""
    at = start(model)
    if model == IMAGE_MODEL:
        at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    if model == TABLE_MODEL:
        at.radio(key=state.TABLE_SOURCE).set_value("Upload CSV").run()
    name, data = good_file(model)
    at.file_uploader(key=UPLOADER[model]).upload(name, data, MIME[model]).run()
    at.multiselect(key=f"methods::{model}").set_value(["saliency"]).run()
    at.sidebar.selectbox(key=state.TARGET).set_value(1).run()
    at.sidebar.number_input(key=state.SEED).set_value(7).run()
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def shown(at) -> dict:
    """What must survive a bad upload: input label, chart count, results key, target, seed."""
    return {"input": at.session_state[state.CURRENT]["key"],
            "charts": len(at.get("plotly_chart")),
            "results": at.session_state[state.RESULTS]["key"],
            "target": at.sidebar.selectbox(key=state.TARGET).value,
            "seed": at.sidebar.number_input(key=state.SEED).value}


CASES = IMAGES + TEXTS + TABLES


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_upload_on_the_explain_page(case):
    at = explained_page(case.model)
    before = shown(at)
    assert before["charts"] >= 2  # the prediction and the saliency map
    at.file_uploader(key=UPLOADER[case.model]).upload(case.file, case.data, MIME[case.model])
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    said = [m.value for m in [*at.warning, *at.info] if case.says and case.says in m.value.lower()]
    if case.outcome == "error":
        assert len(errors) == 1 and "\n" not in errors[0], errors
        assert case.says in errors[0].lower(), errors
        assert shown(at) == before  # the last good input, its prediction and results stay
        observe(case.id, "dashboard", "error in place, last good input kept", errors[0])
        return
    assert not errors, errors
    assert at.sidebar.selectbox(key=state.TARGET).value == 1
    assert at.sidebar.number_input(key=state.SEED).value == 7
    assert at.session_state[state.CURRENT]["key"] != before["input"]  # the new input is used
    if case.outcome == "notice":
        assert said, [m.value for m in [*at.warning, *at.info]]
    observe(case.id, "dashboard", case.outcome, "; ".join(said))


def test_a_long_text_is_cut_the_same_way_as_on_the_command_line():
    """Issue 15: the dashboard cut silently to 5,000 characters; now the box holds what the
    model reads and the notice is fit_text's, word for word."""
    from models import load_model
    from models.text_fit import fit_text

    long = next(c for c in TEXTS if c.id == "one-megabyte")
    at = explained_page(TEXT_MODEL)
    at.file_uploader(key=state.TEXT_UPLOAD).upload(long.file, long.data, "text/plain").run()
    fit = fit_text(load_model(TEXT_MODEL), long.data.decode())
    assert at.text_area(key=state.TEXT).value == fit.text
    assert [m.value for m in at.info if "characters" in m.value] == [fit.notice]
