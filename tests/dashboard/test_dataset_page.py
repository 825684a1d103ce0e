"""AppTest: the Data set page runs real jobs (bundled mnist split, uploaded breast-cancer CSV)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix

from dashboard import dataset_job, state
from dashboard.inputs import row_dict
from tests.dashboard.helpers import decode, errors, figures, start

LIMIT = 40


@pytest.fixture(autouse=True)
def job_root(tmp_path, monkeypatch):
    """Each test's jobs and uploads in its own folder (no reuse across tests)."""
    monkeypatch.setattr(dataset_job, "ROOT", tmp_path / "glassbox-datasets")


def loadable(name: str):
    from models import load_model

    try:
        return load_model(name)
    except Exception as exc:  # noqa: BLE001 - the built-ins ship; say which one failed
        pytest.fail(f"built-in {name} did not load: {exc}")


def run_job(at, model: str, methods: list[str], limit: int = LIMIT):
    at.multiselect(key=state.widget_key(state.DS_METHODS, model)).set_value(methods)
    at.number_input(key=state.DS_LIMIT).set_value(limit)
    at.button(key=state.DS_RUN).click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    return at.session_state[state.DS_JOB]


def confusion_z(at) -> np.ndarray:
    fig = next(f for f in figures(at) if "confusion matrix" in f["layout"]["title"]["text"])
    return np.asarray(decode(fig["data"][0]["text"]), dtype=object).astype(int)


def off_diagonal(cm: np.ndarray) -> tuple[int, int]:
    cells = [(t, p) for t, p in zip(*np.nonzero(cm), strict=True) if t != p]
    assert cells, f"no misclassified input in this job: {cm.tolist()}"
    return int(cells[0][0]), int(cells[0][1])


def listed(at, tag: str) -> list[str]:
    """The ids of the inputs listed with an Open button in one section, in page order."""
    prefix = state.widget_key("ds_open", tag, "")
    return [str(b.key)[len(prefix):] for b in at.button if str(b.key).startswith(prefix)]


def test_bundled_mnist_job_metrics_cell_and_open_in_explain():
    from explainers import dataset

    at = start("mnist-cnn", page="app_pages/dataset.py")
    job = run_job(at, "mnist-cnn", ["saliency"])
    df = dataset.load(job["out"])
    assert job["n_done"] == len(df) == LIMIT
    y, p = df["label"].astype(int), df["pred"].astype(int)
    acc = next(m for m in at.metric if m.label == "Accuracy").value
    assert acc == f"{accuracy_score(y, p):.1%}"
    cm = confusion_matrix(y, p, labels=range(10))
    np.testing.assert_array_equal(confusion_z(at), cm)
    cell = off_diagonal(cm)  # the bundled split's first 40 hold a misclassified digit
    at.selectbox(key=state.DS_CELL).set_value(cell).run()  # the chart's click lands here too
    assert not at.exception
    assert any(m.value.startswith(f"**{cm[cell]}** input(s)") for m in at.markdown)
    members = df[(y == cell[0]) & (p == cell[1])].sort_values("confidence", ascending=False)
    assert listed(at, "cell") == list(members["id"])
    first = str(members["id"].iloc[0])
    at.button(key=state.widget_key("ds_open", "cell", first)).click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Explain a prediction"
    items = dict(at.session_state[state.RESULTS]["items"])  # explained on arrival
    np.testing.assert_allclose(items["saliency"].values, members["attr:saliency"].iloc[0],
                               rtol=1e-4, atol=1e-6)
    assert f"#{first.rpartition(':')[2]}" in at.session_state[state.CURRENT]["label"]


def breast_cancer_csv(model, n: int) -> tuple[bytes, list[int]]:
    rows, labels = [], []
    for raw, label in model.samples(n, 0):
        row = row_dict(model, raw)
        rows.append({**row, "label": model.info.class_names[label]})
        labels.append(int(label))
    buf = io.StringIO()
    pd.DataFrame(rows).to_csv(buf, index=False)
    return buf.getvalue().encode(), labels


def test_uploaded_csv_for_breast_cancer_then_bad_uploads_keep_the_results():
    from explainers import dataset

    model = loadable("breast-cancer-mlp")
    data, labels = breast_cancer_csv(model, 30)
    at = start("breast-cancer-mlp", page="app_pages/dataset.py")
    at.radio(key=state.DS_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.DS_UPLOAD).upload("rows.csv", data, "text/csv").run()
    job = run_job(at, "breast-cancer-mlp", ["integrated_gradients"], limit=0)
    df = dataset.load(job["out"])
    assert list(df["label"].astype(int)) == labels
    frame = pd.read_csv(io.BytesIO(data))
    preds = [int(np.argmax(model.predict(r))) for r in
             frame[list(model.info.feature_names)].to_dict("records")]
    assert list(df["pred"].astype(int)) == preds
    np.testing.assert_array_equal(confusion_z(at), confusion_matrix(labels, preds, labels=[0, 1]))
    metrics = json.loads((Path(job["out"]) / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, preds))

    at.file_uploader(key=state.DS_UPLOAD).upload("bad.zip", b"not a zip", "application/zip").run()
    assert not at.exception
    assert errors(at) == ["'bad.zip' is not a zip file"]
    assert at.session_state[state.DS_JOB]["out"] == job["out"]
    assert len(confusion_z(at)) == 2  # the earlier results are still on the page

    cols = b"mean radius,label\n1.0,0\n"
    at.file_uploader(key=state.DS_UPLOAD).upload("cols.csv", cols, "text/csv").run()
    at.button(key=state.DS_RUN).click().run()
    assert not at.exception
    (line,) = errors(at)
    assert line.startswith("The job failed:") and "lacks the column(s)" in line
    assert "\n" not in line and len(confusion_z(at)) == 2


def test_open_a_csv_row_in_explain_uses_that_row():
    model = loadable("breast-cancer-mlp")
    data, _ = breast_cancer_csv(model, 6)
    at = start("breast-cancer-mlp", page="app_pages/dataset.py")
    at.radio(key=state.DS_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.DS_UPLOAD).upload("rows.csv", data, "text/csv").run()
    job = run_job(at, "breast-cancer-mlp", ["saliency"], limit=0)
    cm = np.asarray(dataset_job.metrics(job["out"])["confusion_matrix"])
    cell = tuple(int(v) for v in np.unravel_index(np.argmax(cm), cm.shape))
    at.selectbox(key=state.DS_CELL).set_value(cell).run()
    button = next(b for b in at.button if str(b.key).startswith("ds_open::cell::"))
    row_id = str(button.key).rpartition("::")[2]
    button.click().run()
    assert not at.exception, at.exception
    assert at.radio(key=state.TABLE_SOURCE).value == "From the Data set page"
    frame = pd.read_csv(io.BytesIO(data))
    want = frame.iloc[int(row_id)][list(model.info.feature_names)].astype(float).to_dict()
    items = dict(at.session_state[state.RESULTS]["items"])
    got = model.predict(want)
    assert items["saliency"].target == int(np.argmax(got))
    assert at.session_state[state.CURRENT]["label"] == f"data set row {row_id}"


def test_ray_is_offered_only_when_installed(monkeypatch):
    monkeypatch.setattr(dataset_job, "ray_available", lambda: False)
    at = start("mnist-cnn", page="app_pages/dataset.py")
    assert at.radio(key=state.DS_ENGINE).options == ["In-process"]
    monkeypatch.setattr(dataset_job, "ray_available", lambda: True)
    at.run()
    assert at.radio(key=state.DS_ENGINE).options == ["In-process", "Ray"]


@pytest.mark.slow
def test_ray_engine_from_the_page_writes_the_local_rows(tmp_path):
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    from explainers import dataset

    at = start("mnist-cnn", page="app_pages/dataset.py")
    at.radio(key=state.DS_ENGINE).set_value("ray").run()
    at.number_input(key=state.DS_WORKERS).set_value(2)
    job = run_job(at, "mnist-cnn", ["saliency"], limit=16)
    assert job["engine"] == "ray" and job["n_done"] == 16
    local = dataset.run_job("mnist-cnn", "builtin", ["saliency"], tmp_path / "local", limit=16)
    ray_rows, local_rows = dataset.load(job["out"]), dataset.load(local.out)
    assert list(ray_rows["id"]) == list(local_rows["id"])
    assert list(ray_rows["pred"]) == list(local_rows["pred"])
    for a, b in zip(ray_rows["attr:saliency"], local_rows["attr:saliency"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_unlabelled_txt_for_sentiment_bag_opens_a_line_in_explain():
    from explainers import dataset

    loadable("sentiment-bag")
    lines = ["a wonderful, moving film", "dull and far too long", "I laughed all the way"]
    at = start("sentiment-bag", page="app_pages/dataset.py")
    at.radio(key=state.DS_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.DS_UPLOAD).upload("reviews.txt", "\n".join(lines).encode(),
                                                 "text/plain").run()
    job = run_job(at, "sentiment-bag", ["saliency"], limit=0)
    assert any(i.value.startswith("These inputs have no labels") for i in at.info)
    assert dataset.read_metrics(job["out"]) is None
    df = dataset.load(job["out"])
    row = df.iloc[1]
    at.selectbox(key=state.DS_PICK).set_value(str(row["id"])).run()
    at.button(key="ds_open_pick").click().run()
    assert not at.exception, at.exception
    assert at.text_area(key=state.TEXT).value == lines[1]
    items = dict(at.session_state[state.RESULTS]["items"])
    np.testing.assert_allclose(items["saliency"].values, row["attr:saliency"], rtol=1e-4,
                               atol=1e-6)


def digits_zip(model, n: int) -> tuple[bytes, list[int]]:
    """A user-style zip: digits/<class>/<i>.png, plus one file that is not an image."""
    import zipfile

    from tests.e2e.helpers import png_bytes

    buf, labels = io.BytesIO(), []
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (raw, y) in enumerate(model.samples(n, 0)):
            zf.writestr(f"digits/{y}/{i:03d}.png", png_bytes(np.asarray(raw, np.uint8)))
            labels.append(int(y))
        zf.writestr("digits/3/broken.png", b"not a png")
    return buf.getvalue(), labels


def test_uploaded_zip_of_an_image_folder_lists_the_skipped_file(monkeypatch):
    from explainers import dataset

    model = loadable("mnist-cnn")
    data, _ = digits_zip(model, 12)
    at = start("mnist-cnn", page="app_pages/dataset.py")
    at.radio(key=state.DS_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.DS_UPLOAD).upload("digits.zip", data, "application/zip").run()
    job = run_job(at, "mnist-cnn", ["saliency"], limit=0)
    assert [i for i, _ in job["skipped"]] == ["3/broken.png"]
    assert any(e.label.startswith("1 input(s) skipped") for e in at.expander)
    df = dataset.load(job["out"])
    assert len(df) == 12 and all(str(i).count("/") == 1 for i in df["id"])
    y, p = df["label"].astype(int), df["pred"].astype(int)
    np.testing.assert_array_equal(confusion_z(at), confusion_matrix(y, p, labels=range(10)))

    monkeypatch.setattr(dataset_job, "MAX_MEMBERS", 5)
    at.file_uploader(key=state.DS_UPLOAD).upload("big.zip", data + b"", "application/zip").run()
    assert errors(at) == ["'big.zip' holds 13 files; the limit is 5"]
    assert len(confusion_z(at)) == 10


def test_predictions_table_has_a_picture_per_row():
    import base64

    from PIL import Image

    from dashboard import dataset_open

    at = start("mnist-cnn", page="app_pages/dataset.py")
    job = run_job(at, "mnist-cnn", ["saliency"], limit=12)
    (table,) = [d.value for d in at.dataframe if "picture" in d.value.columns]
    assert len(table) == 12 and table["picture"].str.startswith("data:image/png;base64,").all()
    model = loadable("mnist-cnn")
    for url, row_id in zip(table["picture"][:3], table["id"][:3], strict=True):
        png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        i = int(str(row_id).rpartition(":")[2])
        raw = model.samples(None, seed=int(job.get("seed", 0)))[i][0]
        want = Image.fromarray(model.display_image(raw)).resize(png.size, Image.NEAREST)
        np.testing.assert_array_equal(np.asarray(png.convert("RGB")), np.asarray(want))
        assert max(png.size) <= dataset_open.TABLE_THUMB  # 28x28 stays as it is
