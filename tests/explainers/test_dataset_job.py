"""Data-set jobs end to end: every input kind, rows equal explain(), resume, sklearn metrics."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explainers import dataset, explain
from models import load_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist():
    return load_model("mnist-cnn", device="cpu")


def digit_folder(root: Path, model, n: int, seed: int = 1) -> Path:
    """A user-style ImageFolder: MNIST pngs from the model's samples in class-named folders."""
    for i, (raw, y) in enumerate(model.samples(n, seed=seed)):
        (root / str(y)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(raw).save(root / str(y) / f"digit-{i:04d}.png")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory, mnist):
    return digit_folder(tmp_path_factory.mktemp("digits"), mnist, 24)


def test_image_folder_rows_equal_explain_and_labels_come_from_folders(tmp_path, mnist, folder):
    res = dataset.run_job(mnist, folder, ["saliency", "integrated_gradients"], tmp_path / "j",
                          shard_size=10, params={"integrated_gradients": {"n_steps": 8}})
    assert (res.n_inputs, res.n_done, res.skipped) == (24, 24, [])
    df = dataset.load(tmp_path / "j")
    assert len(df) == 24 and set(df["id"]) == {p.relative_to(folder).as_posix()
                                               for p in folder.rglob("*.png")}
    assert [int(r.split("/")[0]) for r in df["id"]] == df["label"].tolist()
    for _, row in df.head(4).iterrows():
        raw = folder / row["id"]
        assert row["pred"] == int(np.argmax(mnist.predict(raw)))
        assert row["confidence"] == pytest.approx(float(np.max(mnist.predict(raw))), abs=1e-6)
        for m, p in (("saliency", {}), ("integrated_gradients", {"n_steps": 8})):
            ref = explain(mnist, raw, m, None, **p).values
            assert row[f"attr:{m}"].shape == ref.shape
            np.testing.assert_allclose(row[f"attr:{m}"], ref, atol=1e-5)
    man = dataset.read_manifest(tmp_path / "j")
    assert man["model"]["sha256"] == mnist.info.sha256 and man["seed"] == 0
    assert man["engine"] == "local" and len(man["shards"]) == 3
    assert man["params_used"]["integrated_gradients"]["n_steps"] == 8


def test_metrics_equal_sklearn_on_the_same_predictions(tmp_path, mnist, folder):
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    dataset.run_job(mnist, folder, "grad_cam", tmp_path / "j")
    df, met = dataset.load(tmp_path / "j"), dataset.read_metrics(tmp_path / "j")
    y, p = df["label"].astype(int).to_numpy(), df["pred"].to_numpy()
    assert met["accuracy"] == accuracy_score(y, p)
    prec, rec, f1, sup = precision_recall_fscore_support(y, p, labels=range(10), zero_division=0)
    for c in range(10):
        got = met["per_class"][str(c)]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == \
            pytest.approx((prec[c], rec[c], f1[c], sup[c]))
    assert met["confusion_matrix"] == confusion_matrix(y, p, labels=range(10)).tolist()
    conf = df["confidence"].to_numpy()
    acc, mean_conf = calibration_curve(y == p, conf, n_bins=10)
    bins = met["calibration"]["bins"]
    assert [b["accuracy"] for b in bins] == pytest.approx(acc)
    assert [b["confidence"] for b in bins] == pytest.approx(mean_conf)
    ece = sum(np.sum((conf > lo) & (conf <= hi)) / len(conf) * abs(a - c)  # uniform bins
              for lo, hi, a, c in [(b["lo"], b["hi"], b["accuracy"], b["confidence"])
                                   for b in bins])
    assert met["calibration"]["ece"] == pytest.approx(ece)
    assert sum(b["count"] for b in bins) == len(df)


def test_a_stopped_job_resumes_computing_only_missing_shards(tmp_path, mnist, folder):
    out = tmp_path / "j"
    calls = []
    res = dataset.run_job(mnist, folder, "saliency", out, shard_size=8,
                          cancel=lambda: max(calls, default=0) >= 8,
                          progress=lambda d, t: calls.append(d))
    assert res.cancelled and res.n_done == 8
    first = out / "shard-00000.parquet"
    stamp = first.stat().st_mtime_ns
    seen = []
    res = dataset.run_job(mnist, folder, "saliency", out, shard_size=8,
                          progress=lambda d, t: seen.append(d))
    assert not res.cancelled and res.n_done == 24 and seen[0] == 8  # shard 0 not redone
    assert first.stat().st_mtime_ns == stamp and len(dataset.load(out)) == 24


def test_a_killed_cli_job_started_again_computes_only_what_is_missing(tmp_path, mnist):
    data = digit_folder(tmp_path / "d", mnist, 40, seed=2)
    out = tmp_path / "j"
    cmd = [sys.executable, "-m", "explainers", "dataset", "--model", "mnist-cnn", "--data",
           str(data), "--methods", "integrated_gradients", "--out", str(out), "--shard-size",
           "4", "--param", "integrated_gradients.n_steps=64"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "shard-00000.parquet").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {s["file"]: (out / s["file"]).stat().st_mtime_ns
            for s in dataset.read_manifest(out)["shards"] if s["status"] == "done"}
    assert done and len(done) < 10
    rc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr[-500:]
    for f, stamp in done.items():
        assert (out / f).stat().st_mtime_ns == stamp
    runs = dataset.read_manifest(out)["runs"]
    assert runs[-1]["inputs"] == 40 - 4 * len(done) and len(dataset.load(out)) == 40


def test_other_arguments_in_the_same_folder_are_refused(tmp_path, mnist, folder):
    dataset.run_job(mnist, folder, "saliency", tmp_path / "j", limit=4)
    with pytest.raises(ValueError, match="different job"):
        dataset.run_job(mnist, folder, "saliency", tmp_path / "j", limit=5)


def test_zip_of_a_folder_and_limit(tmp_path, mnist, folder):
    zpath = tmp_path / "digits.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, "digits/" + p.relative_to(folder).as_posix())  # one top folder
    res = dataset.run_job(mnist, zpath, "saliency", tmp_path / "j", limit=5)
    df = dataset.load(tmp_path / "j")
    assert res.n_inputs == 5 and len(df) == 5
    assert all(str(int(i.split("/")[0])) == str(lab) for i, lab in
               zip(df["id"], df["label"], strict=True))
    raw = dataset.raw_input(tmp_path / "j", df["id"][0])
    np.testing.assert_allclose(explain(mnist, raw, "saliency").values, df["attr:saliency"][0],
                               atol=1e-5)


def test_unlabelled_folder_has_no_metrics(tmp_path, mnist, folder):
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in list(folder.rglob("*.png"))[:3]:
        (flat / p.name).write_bytes(p.read_bytes())
    dataset.run_job(mnist, flat, "saliency", tmp_path / "j")
    df = dataset.load(tmp_path / "j")
    assert len(df) == 3 and df["label"].isna().all()
    assert dataset.read_metrics(tmp_path / "j") is None


def test_text_csv_txt_tabular_csv_and_fusion_csv(tmp_path):
    bag = load_model("sentiment-bag", device="cpu")
    texts = ["a warm and funny film", "dull and slow", "great fun"]
    with open(tmp_path / "t.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["text", "label"], [texts[0], "positive"], [texts[1], "0"],
                                  [texts[2], "positive"]])
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n\n")
    for name in ("t.csv", "t.txt"):
        dataset.run_job(bag, tmp_path / name, "saliency", tmp_path / f"j-{name}")
        df = dataset.load(tmp_path / f"j-{name}")
        ref = explain(bag, texts[1], "saliency")
        np.testing.assert_allclose(df["attr:saliency"][1], ref.values, atol=1e-5)
        assert tuple(df["units:saliency"][1]) == ref.units
    assert dataset.load(tmp_path / "j-t.csv")["label"].tolist()[:2] == [
        bag.info.class_names.index("positive"), 0]
    assert dataset.summaries(tmp_path / "j-t.csv")["importance"]["saliency"]["global"]

    mlp = load_model("breast-cancer-mlp", device="cpu")
    rows = [(raw, y) for raw, y in mlp.samples(4)]
    with open(tmp_path / "rows.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, [*mlp.info.feature_names, "label"])
        w.writeheader()
        w.writerows([{**{k: repr(v) for k, v in raw.items()}, "label": y} for raw, y in rows])
    dataset.run_job(mlp, tmp_path / "rows.csv", "integrated_gradients", tmp_path / "jt")
    df = dataset.load(tmp_path / "jt")
    np.testing.assert_allclose(df["attr:integrated_gradients"][2],
                               explain(mlp, rows[2][0], "integrated_gradients").values, atol=1e-5)
    imp = dataset.summaries(tmp_path / "jt")["importance"]["integrated_gradients"]["global"]
    assert {d["unit"] for d in imp} == set(mlp.info.feature_names)


def test_fusion_csv_of_image_paths_and_texts(tmp_path):
    fus = load_model("digit-text-fusion", device="cpu")
    (tmp_path / "img").mkdir()
    lines = [["image", "text", "label"]]
    for i, (raw, y) in enumerate(fus.samples(3)):
        raw["image"].save(tmp_path / "img" / f"{i}.png")
        lines.append([f"img/{i}.png", raw["text"], y])
    with open(tmp_path / "f.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(lines)
    dataset.run_job(fus, tmp_path / "f.csv", "saliency", tmp_path / "j")
    df = dataset.load(tmp_path / "j")
    ref = explain(fus, {"image": tmp_path / "img" / "1.png", "text": lines[2][1]}, "saliency")
    for part in ("image", "text"):
        np.testing.assert_allclose(df["attr:saliency"][1][part], ref.values[part], atol=1e-5)
    assert dataset.summaries(tmp_path / "j")["class_maps"]["saliency"]


def test_builtin_split_and_summaries(tmp_path, mnist):
    dataset.run_job(mnist, "builtin", "saliency", tmp_path / "j", limit=30, faithfulness=True)
    df = dataset.load(tmp_path / "j")
    pairs = mnist.samples(30)
    assert df["label"].tolist() == [y for _, y in pairs] and df["id"][5] == "5"
    np.testing.assert_array_equal(dataset.raw_input(tmp_path / "j", "5", mnist), pairs[5][0])
    s = dataset.summaries(tmp_path / "j")
    pred7 = np.stack([a for a, p in zip(df["attr:saliency"], df["pred"], strict=True) if p == 7])
    np.testing.assert_allclose(s["class_maps"]["saliency"]["7"]["mean"], pred7.mean(0))
    wrong = df[df["label"] != df["pred"]]["id"].tolist()
    assert sorted(d["id"] for d in s["misclassified"]) == sorted(wrong)
    scores = df["faith:saliency"].to_numpy()
    assert np.isfinite(scores).all()
    assert s["least_faithful"]["saliency"][0]["score"] == pytest.approx(scores.min())
    json.dumps(dataset.read_manifest(tmp_path / "j"))
