"""Bring your own model, safety: pickles, sizes, zips, truncated files and sidecars are refused."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from models import ModelLoadError
from models.user import load_user_model, register_architecture
from models.user.sidecar import parse_sidecar, read_sidecar
from tests.models.user_fixtures import IMAGE_SIDECAR, TinyCNN, WritesFile, tiny_cnn


# ----------------------------------------------------------------- refusals
def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("kind", ["raw pickle", "torch.save"])
def test_crafted_pickle_is_refused_and_never_runs(tmp_path, kind):
    target = tmp_path / "pwned.txt"
    path = tmp_path / "model.pt"
    if kind == "raw pickle":
        path.write_bytes(pickle.dumps(WritesFile(str(target))))
    else:
        torch.save({"weights": WritesFile(str(target))}, path)
    assert not target.exists()
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(path, sidecar={"architecture": "mnist-cnn"})
    msg = one_line(exc)
    assert "pickle" in msg and "torch.jit" in msg and "torch.export" in msg and "safetensors" in msg
    assert not target.exists()


def test_pickled_full_model_is_refused_with_export_advice(tmp_path):
    path = tmp_path / "full.pt"
    torch.save(tiny_cnn(), path)
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(path)
    assert "TinyCNN" in one_line(exc) and "torch.jit.save" in str(exc.value)


def test_pt2_with_pickled_sample_inputs_is_refused(tmp_path):
    """torch.export.load would fall back to a full unpickle of sample inputs: checked first."""
    good = tmp_path / "good.pt2"
    torch.export.save(torch.export.export(tiny_cnn(), (torch.zeros(1, 1, 8, 8),)), good)
    target = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if "sample_inputs" in info.filename:
                buf = io.BytesIO()
                torch.save(WritesFile(str(target)), buf)
                data = buf.getvalue()
            dst.writestr(info, data)
    with pytest.raises(ModelLoadError, match="pickled"):
        load_user_model(evil)
    assert not target.exists()


def test_oversized_upload_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "cnn.ts"
    torch.jit.save(torch.jit.script(tiny_cnn()), path)
    monkeypatch.setenv("GLASSBOX_MAX_UPLOAD_MB", str(path.stat().st_size / 2 / (1 << 20)))
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(path, sidecar=IMAGE_SIDECAR)
    assert "GLASSBOX_MAX_UPLOAD_MB" in one_line(exc)
    monkeypatch.setenv("GLASSBOX_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ModelLoadError, match="not a number"):
        load_user_model(path, sidecar=IMAGE_SIDECAR)


def _zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize("bad,why", [
    ("../escape.txt", "'..'"), ("/abs/escape.txt", "absolute"), ("model/..\\x.txt", "backslash"),
])
def test_zip_members_that_escape_are_refused(tmp_path, bad, why):
    path = _zip(tmp_path / "m.zip", {"model/config.json": b"{}", bad: b"x"})
    with pytest.raises(ModelLoadError, match=why):
        load_user_model(path)
    assert not (tmp_path / "escape.txt").exists()


def test_zip_symlink_is_refused(tmp_path):
    path = _zip(tmp_path / "m.zip", {"model/config.json": b"{}"}, symlink="model/tokenizer.json")
    with pytest.raises(ModelLoadError, match="symbolic link"):
        load_user_model(path)


def test_zip_bomb_is_refused(tmp_path, monkeypatch):
    path = _zip(tmp_path / "bomb.zip", {"model/config.json": b"{}",
                                        "model/model.safetensors": bytes(20 << 20)})
    assert path.stat().st_size < 200_000  # 20 MB of zeros compresses ~1000x
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(path)
    assert "zip bomb" in one_line(exc)
    monkeypatch.setenv("GLASSBOX_MAX_ZIP_RATIO", "100000")
    monkeypatch.setenv("GLASSBOX_MAX_UNZIPPED_MB", "5")
    with pytest.raises(ModelLoadError, match="GLASSBOX_MAX_UNZIPPED_MB"):
        load_user_model(path)


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    out = path.with_name("cut-" + path.name)
    out.write_bytes(data[: len(data) // 2])
    return out


@pytest.mark.parametrize("fmt", ["safetensors", "torchscript", "torch.export", "state dict"])
def test_truncated_files_give_one_line_error(tmp_path, fmt):
    from safetensors.torch import save_file

    net = tiny_cnn()
    path = tmp_path / {"safetensors": "w.safetensors", "torchscript": "m.ts",
                       "torch.export": "m.pt2", "state dict": "w.pt"}[fmt]
    if fmt == "safetensors":
        save_file(net.state_dict(), path)
    elif fmt == "torchscript":
        torch.jit.save(torch.jit.script(net), path)
    elif fmt == "torch.export":
        torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)), path)
    else:
        torch.save(net.state_dict(), path)
    register_architecture("test-tiny-cnn", TinyCNN, modality="image", input_size=(8, 8), channels=1)
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(_truncate(path), sidecar={**IMAGE_SIDECAR, "architecture": "test-tiny-cnn"})
    assert "cut-" in one_line(exc)


@pytest.mark.parametrize("data", [b"not a model at all", b"", b"\x80\x02}q\x00(X"])
def test_garbage_weights_give_one_line_error(tmp_path, data):
    path = tmp_path / "w.pt"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError) as exc:
        load_user_model(path, sidecar={"architecture": "mnist-cnn"})
    assert "w.pt" in one_line(exc)


# ----------------------------------------------------------------- sidecar
@pytest.mark.parametrize("data,match", [
    ({"modality": "audio"}, "'image', 'text', 'tabular'"),
    ({"input_size": [0, 8]}, "input_size"),
    ({"std": [0.0]}, "positive"),
    ({"class_names": ["a", "a"]}, "distinct"),
    ({"colour": "red"}, "allowed: modality"),
    ({"channels": 7}, "1..4"),
])
def test_bad_sidecar_values_are_named(data, match):
    with pytest.raises(ModelLoadError, match=match):
        parse_sidecar(data)


def test_sidecar_files_and_mismatches(tmp_path):
    (tmp_path / "s.yaml").write_text("modality: image\ninput_size: [8, 8]\nchannels: 1\n")
    assert read_sidecar(tmp_path / "s.yaml").input_size == (8, 8)
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        read_sidecar(tmp_path / "s.json")
    path = tmp_path / "cnn.ts"
    torch.jit.save(torch.jit.script(tiny_cnn()), path)
    with pytest.raises(ModelLoadError, match="sidecar names 2 classes but the model outputs 3"):
        load_user_model(path, sidecar={**IMAGE_SIDECAR, "class_names": ["a", "b"]})
    with pytest.raises(ModelLoadError, match="modality"):
        load_user_model(path)  # TorchScript carries no input shape: the sidecar must say
    with pytest.raises(ModelLoadError, match="Hugging Face"):
        load_user_model(path, sidecar={"modality": "text"})
    with pytest.raises(ModelLoadError, match="forward pass"):
        load_user_model(path, sidecar={**IMAGE_SIDECAR, "channels": 3})
