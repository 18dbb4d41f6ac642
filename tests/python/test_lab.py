"""The main-job command starts JupyterLab headless with the Loopscope kernel."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read().decode())


def _serve(repo_root, tmp_path, extra, check):
    """Starts lab.sh --headless with ``extra`` arguments, waits for it, and
    runs ``check(get)`` with ``get(path)`` returning the JSON of an API path."""
    port, token = _free_port(), "loopscope-test-token"
    proc = subprocess.Popen(
        [
            os.path.join(repo_root, "scripts", "lab.sh"),
            "--headless",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
        ]
        + extra,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime")),
    )
    try:
        deadline = time.monotonic() + 240
        status = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("lab.sh exited: " + proc.stdout.read().decode(errors="replace")[-3000:])
            try:
                status = _get(f"http://127.0.0.1:{port}/api/status", token)
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None, "JupyterLab did not answer"
        check(lambda path: _get(f"http://127.0.0.1:{port}{path}", token), port, token)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_lab_command_headless_serves_loopscope(repo_root, tmp_path):
    def check(get, port, token):
        specs = get("/api/kernelspecs")
        assert "loopscope" in specs["kernelspecs"]
        assert specs["default"] == "loopscope"
        spec = specs["kernelspecs"]["loopscope"]["spec"]
        assert spec["display_name"] == "Python 3 (Loopscope)"
        lab = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10)
        assert lab.status == 200
        # It serves the tutorial notebooks.
        names = {item["name"] for item in get("/api/contents")["content"]}
        assert "01-tour.ipynb" in names

    _serve(repo_root, tmp_path, [], check)


@pytest.mark.parametrize("how", ["positional", "option"])
def test_lab_command_serves_any_folder_with_any_option(repo_root, tmp_path, how):
    # A teacher's own folder, and options that lab.sh also sets (--ip, the
    # folder) given by the user: they win, with no "only accepts one value".
    lesson = tmp_path / "lesson"
    lesson.mkdir()
    (lesson / "my-lesson.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    folder = [str(lesson)] if how == "positional" else [f"--notebook-dir={lesson}"]

    def check(get, port, token):
        names = {item["name"] for item in get("/api/contents")["content"]}
        assert names == {"my-lesson.ipynb"}, names
        assert get("/api/kernelspecs")["default"] == "loopscope"

    _serve(repo_root, tmp_path, ["--ip=127.0.0.1"] + folder, check)


def test_kernelspec_listed_by_project_jupyter(repo_root):
    out = subprocess.run(
        [os.path.join(repo_root, ".venv", "bin", "jupyter"), "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    specs = json.loads(out.stdout)["kernelspecs"]
    assert "loopscope" in specs
    argv = specs["loopscope"]["spec"]["argv"]
    assert argv[0].endswith("xloopscope") and os.access(argv[0], os.X_OK)
    resources = specs["loopscope"]["resource_dir"]
    assert os.path.exists(os.path.join(resources, "logo-64x64.png"))
