"""Packaging: pyproject matches the pins, the `glassbox` command, assets as package data, setup.sh."""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(path: Path) -> dict[str, Requirement]:
    """name -> Requirement for every requirement line of a requirements file (no -r lines)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            out[canonicalize_name(req.name)] = req
    return out


def declared(reqs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(Requirement(r).name): Requirement(r) for r in reqs}


def test_pyproject_declares_exactly_the_pinned_runtime_deps():
    pinned, deps = pins(ROOT / "requirements.txt"), declared(PYPROJECT["project"]["dependencies"])
    assert sorted(deps) == sorted(pinned)
    for name, req in pinned.items():  # the tested pins are an allowed install of the package
        (version,) = [s.version for s in req.specifier if s.operator == "=="]
        assert deps[name].specifier.contains(version), f"{name}=={version} not in {deps[name]}"


def test_ray_extra_pins_ray_like_requirements_ray():
    extra = declared(PYPROJECT["project"]["optional-dependencies"]["ray"])
    assert str(extra["ray"].specifier) == "==2.60.0"
    ray_file = ROOT / "requirements-ray.txt"
    if ray_file.exists():  # each pin there is in the [ray] extra (same spec) or a runtime dep
        runtime = declared(PYPROJECT["project"]["dependencies"])
        for name, req in pins(ray_file).items():
            assert name in runtime or str(getattr(extra.get(name), "specifier", "")) == str(
                req.specifier), (
                f"requirements-ray.txt pins {req}; add it to pyproject's [ray] extra")


def test_dev_extra_covers_the_dev_requirements():
    dev = declared(PYPROJECT["project"]["optional-dependencies"]["dev"])
    for name, req in pins(ROOT / "requirements-dev.txt").items():
        (version,) = [s.version for s in req.specifier if s.operator == "=="]
        assert name in dev and dev[name].specifier.contains(version), name
    assert "glassbox" in dev and "ray" in dev["glassbox"].extras


def test_console_entry_resolves_to_a_callable():
    target = PYPROJECT["project"]["scripts"]["glassbox"]
    module, _, attr = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_assets_are_found_via_importlib_resources():
    from models.builtin import common, mnist

    found = Path(str(resources.files("assets")))
    assert common.ASSETS == found and (found / "cards").is_dir()
    assert mnist.WEIGHTS_FILE.is_relative_to(found) and mnist.WEIGHTS_FILE.is_file()


def _subcommands(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, *args, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return re.search(r"\{([a-z,_-]+)\}", done.stdout).group(1).split(",")


def test_glassbox_help_lists_the_explainers_subcommands_plus_dashboard():
    assert _subcommands("-m", "glassbox") == [*_subcommands("-m", "explainers"), "dashboard"]


def test_glassbox_bad_subcommand_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "glassbox", "explian"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "dashboard" in done.stderr and "explian" in done.stderr


def test_dashboard_launch_targets_the_packaged_app_and_its_settings():
    from dashboard import launch

    argv = launch.streamlit_argv(["--server.port", "8631"])
    app = Path(argv[1])
    assert argv[0] == "run" and argv[2:] == ["--server.port", "8631"] and app.is_file()
    config = tomllib.loads((app.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500 and config["server"]["address"] == "127.0.0.1"


@pytest.mark.slow
def test_wheel_ships_every_asset_and_the_dashboard_files(tmp_path):
    """Build the wheel from a copy of the tracked files; everything under assets/ must be in it."""
    pytest.importorskip("setuptools")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "src"
    for rel in files:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(src)], check=True,
                   capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("glassbox-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f for f in files if f.startswith("assets/") and "__pycache__" not in f}
    wanted |= {"dashboard/.streamlit/config.toml", "dashboard/app.py", "glassbox/cli.py"}
    wanted |= {f for f in files if f.startswith("dashboard/app_pages/")}
    assert wanted - names == set()
    assert not {n for n in names if n.startswith(("tests/", "scripts/", "bench/"))}
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"glassbox = glassbox.cli:main" in entry


def _fake_python(folder: Path, name: str, version: str | None) -> None:
    """An executable that prints `version` for setup.sh's probe, or fails like a pyenv shim."""
    body = f"echo {version}" if version else "echo 'pyenv: command not found' >&2; exit 127"
    (folder / name).write_text(f"#!/bin/sh\n{body}\n")
    (folder / name).chmod(0o755)


def _setup_choice(tmp_path: Path, fakes: dict[str, str | None], python: str = "") -> tuple[int, str]:
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    for name in ("python3", "python3.11", "python3.12", "python3.13"):  # shadow any real ones
        _fake_python(fake, name, fakes.get(name))
    env = {"PATH": f"{fake}:/usr/bin:/bin", "HOME": str(tmp_path), **({"PYTHON": python} if python else {})}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--print-python"],
                          env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.strip() or done.stderr.strip()


@pytest.mark.skipif(not shutil.which("bash"), reason="setup.sh needs bash")
def test_setup_picks_the_newest_supported_python_and_honours_PYTHON(tmp_path):
    every = {"python3": "3.11", "python3.11": "3.11", "python3.12": "3.12", "python3.13": "3.13"}
    bin_ = tmp_path / "bin"
    assert _setup_choice(tmp_path, every) == (0, str(bin_ / "python3.13"))
    assert _setup_choice(tmp_path, {**every, "python3.13": None}) == (0, str(bin_ / "python3.12"))
    only_311 = {"python3.11": "3.11"}
    assert _setup_choice(tmp_path, only_311) == (0, str(bin_ / "python3.11"))
    assert _setup_choice(tmp_path, {"python3": "3.12"}) == (0, str(bin_ / "python3"))
    assert _setup_choice(tmp_path, every, python=str(bin_ / "python3.11")) == (
        0, str(bin_ / "python3.11"))
    code, message = _setup_choice(tmp_path, {"python3": "3.10"})
    assert code == 2 and "3.11, 3.12 or 3.13 is needed" in message
    old = tmp_path / "old-python"
    _fake_python(tmp_path, "old-python", "3.10")
    code, message = _setup_choice(tmp_path, every, python=str(old))
    assert code == 2 and "needs 3.11 or newer" in message


def test_readme_commands_exist_and_are_executable():
    for script in ("setup.sh", "run.sh", "test.sh"):
        assert os.access(ROOT / "scripts" / script, os.X_OK), script
    make = (ROOT / "Makefile").read_text()
    assert "scripts/run.sh" in make and "scripts/test.sh" in make
