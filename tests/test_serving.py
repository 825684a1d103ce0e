"""Serving defaults: localhost unless told, a warning when exposed, upload limits everywhere, no secrets."""
from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "dashboard" / ".streamlit" / "config.toml"
# key and token shapes of the common providers, private keys, and "secret = '<long literal>'"
SECRET_PATTERNS = {
    "AWS access key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "GitHub token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b",
    "OpenAI/Anthropic key": r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{32,}",
    "Hugging Face token": r"\bhf_[A-Za-z0-9]{30,}\b",
    "Slack token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "private key": r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
    "assigned secret": r"(?i)\b(?:api[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token"
                       r"|password|passwd)\b\s*[:=]\s*[\"'][A-Za-z0-9+/_\-]{16,}[\"']",
}


def secrets_in(text: str) -> list[str]:
    return [name for name, rx in SECRET_PATTERNS.items() if re.search(rx, text)]


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_the_scanner_finds_each_kind_of_secret():
    fakes = {  # assembled here so that this file itself holds none
        "AWS access key": "AKIA" + "Q" * 16, "GitHub token": "ghp_" + "a1" * 18,
        "OpenAI/Anthropic key": "sk-" + "x9" * 20, "Hugging Face token": "hf_" + "b" * 34,
        "Slack token": "xoxb-" + "1234567890-abc", "Google API key": "AIza" + "c" * 35,
        "private key": "-----BEGIN " + "RSA PRIVATE KEY-----",
        "assigned secret": "API_KEY = '" + "Zk3" * 8 + "'",
    }
    for kind, fake in fakes.items():
        assert secrets_in(f"prefix {fake} suffix") == [kind], kind
    assert secrets_in("the token ids; password: see docs; sk-learn; risk-free") == []


def test_no_tracked_file_holds_a_key_or_token():
    found = []
    for path in tracked_files():
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (weights, images)
        hits = secrets_in(data.decode("utf-8", errors="replace"))
        if hits:
            found.append(f"{path.relative_to(ROOT)}: {hits}")
    assert not found, found


def test_no_streamlit_secrets_file_anywhere_in_the_repository():
    tracked = [p for p in tracked_files() if p.name == "secrets.toml"]
    on_disk = [p for p in (ROOT / ".streamlit" / "secrets.toml",
                           ROOT / "dashboard" / ".streamlit" / "secrets.toml") if p.exists()]
    assert not tracked and not on_disk, tracked + on_disk


def test_packaged_config_binds_loopback_and_keeps_xsrf_and_cors():
    from models.user.safety import DEFAULT_MAX_UPLOAD_MB

    server = tomllib.loads(CONFIG.read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert server["maxUploadSize"] == DEFAULT_MAX_UPLOAD_MB


def test_every_file_uploader_sets_its_own_limit():
    """Each st.file_uploader call in dashboard/ passes max_upload_size (the browser refuses a
    bigger file with a line that names the limit; the page checks the bytes again)."""
    calls = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "file_uploader":
                kws = {k.arg for k in node.keywords}
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}",
                              "max_upload_size" in kws))
    assert len(calls) >= 6, calls  # image, text, CSV, data set, model file, sidecar
    assert all(ok for _, ok in calls), [where for where, ok in calls if not ok]


def test_address_flag_translates_and_exposing_prints_one_warning(monkeypatch, capsys):
    from streamlit.web import cli as stcli

    from dashboard import launch

    seen = []
    monkeypatch.setattr(stcli, "main", lambda args, prog_name: seen.append(args))
    monkeypatch.delenv("STREAMLIT_SERVER_ADDRESS", raising=False)
    assert launch.main(["--server.port", "8629"]) == 0
    assert capsys.readouterr().err == "" and "--server.address" not in seen[-1]
    assert launch.main(["--address", "0.0.0.0"]) == 0
    assert seen[-1][2:] == ["--server.address", "0.0.0.0"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0.0.0.0" in err[0] and "docs/security.md" in err[0]
    launch.main(["--address=localhost"])
    assert seen[-1][2:] == ["--server.address=localhost"] and capsys.readouterr().err == ""
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "10.1.2.3")
    launch.main([])
    assert "10.1.2.3" in capsys.readouterr().err


def listeners(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} write them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                found.append(addr)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_glassbox_dashboard_listens_on_loopback_only(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}  # run from elsewhere:
    env.pop("STREAMLIT_SERVER_ADDRESS", None)  # the packaged config.toml is found by the app's path
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "glassbox", "dashboard", "--server.port",
                             str(port)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not listeners(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.3)
        found = listeners(port)
        assert found == ["0100007F"], (found, (tmp_path / "server.log").read_text())
    finally:
        proc.terminate()
        proc.wait(timeout=20)
