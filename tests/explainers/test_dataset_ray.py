"""The Ray engine on a local 2-worker cluster (loopback): the same rows as the local engine.

Skipped when Ray is not installed (it is optional: requirements-ray.txt), except with CI=true,
where a missing Ray fails (CI installs requirements-dev.txt, which includes it).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from explainers import dataset
from models import load_model

METHODS = ["saliency", "integrated_gradients", "occlusion"]
PARAMS = {"integrated_gradients": {"n_steps": 8},
          "occlusion": {"sliding_window_shapes": 7, "strides": 7}}


@pytest.fixture(scope="module")
def ray_cluster():
    try:
        import ray  # noqa: F401  (is it installed?)
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ray is not installed (required with CI=true: pip install -r "
                        "requirements-ray.txt)")
        pytest.skip("ray is not installed (optional: pip install -r requirements-ray.txt)")
    from explainers.dataset.engines import start_ray

    ray_mod, started = start_ray(None, 2)
    assert ray_mod.cluster_resources().get("CPU") == 2
    yield ray_mod
    if started:
        ray_mod.shutdown()


def same_rows(a, b) -> None:
    assert a["id"].tolist() == b["id"].tolist()
    assert a["label"].tolist() == b["label"].tolist() and a["pred"].tolist() == b["pred"].tolist()
    np.testing.assert_allclose(a["confidence"], b["confidence"], atol=1e-6)
    for m in METHODS:
        for x, y in zip(a[f"attr:{m}"], b[f"attr:{m}"], strict=True):
            np.testing.assert_allclose(x, y, atol=1e-5)


def test_ray_rows_equal_local_rows_on_two_workers(ray_cluster, tmp_path):
    kw = dict(limit=24, shard_size=6, params=PARAMS)
    ray_res = dataset.run_job("mnist-cnn", "builtin", METHODS, tmp_path / "ray", engine="ray",
                              workers=2, **kw)
    local = dataset.run_job("mnist-cnn", "builtin", METHODS, tmp_path / "local", **kw)
    assert ray_res.n_done == local.n_done == 24 and ray_res.engine == "ray"
    same_rows(dataset.load(tmp_path / "ray"), dataset.load(tmp_path / "local"))
    assert dataset.read_metrics(tmp_path / "ray") == dataset.read_metrics(tmp_path / "local")
    man = dataset.read_manifest(tmp_path / "ray")
    assert man["engine"] == "ray" and man["workers"] == 2
    assert all(s["status"] == "done" for s in man["shards"])


def test_a_local_job_stopped_early_is_finished_on_ray(ray_cluster, tmp_path):
    """Workers read a user folder by path and write their shards into the same job folder."""
    mnist = load_model("mnist-cnn")
    data = tmp_path / "digits"
    for i, (raw, y) in enumerate(mnist.samples(12, seed=5)):
        (data / str(y)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(raw).save(data / str(y) / f"{i}.png")
    seen = []
    kw = dict(shard_size=4, params=PARAMS)
    first = dataset.run_job(mnist, data, METHODS, tmp_path / "j", **kw,
                            progress=lambda d, t: seen.append(d),
                            cancel=lambda: max(seen, default=0) >= 4)
    assert first.cancelled and first.n_done == 4
    rest = dataset.run_job("mnist-cnn", data, METHODS, tmp_path / "j", engine="ray", workers=2,
                           **kw)
    assert rest.n_done == 12 and dataset.read_manifest(tmp_path / "j")["runs"][-1]["inputs"] == 8
    dataset.run_job(mnist, data, METHODS, tmp_path / "full", **kw)
    same_rows(dataset.load(tmp_path / "j"), dataset.load(tmp_path / "full"))
