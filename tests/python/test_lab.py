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


def test_lab_command_headless_serves_loopscope(repo_root, tmp_path):
    port, token = _free_port(), "loopscope-test-token"
    proc = subprocess.Popen(
        [os.path.join(repo_root, "scripts", "lab.sh"), "--headless", f"--port={port}",
         f"--IdentityProvider.token={token}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path)))
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
        specs = _get(f"http://127.0.0.1:{port}/api/kernelspecs", token)
        assert "loopscope" in specs["kernelspecs"]
        assert specs["default"] == "loopscope"
        spec = specs["kernelspecs"]["loopscope"]["spec"]
        assert spec["display_name"] == "Python 3 (Loopscope)"
        lab = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10)
        assert lab.status == 200
        # It serves the tutorial notebooks.
        contents = _get(f"http://127.0.0.1:{port}/api/contents", token)
        names = {item["name"] for item in contents["content"]}
        assert "01-tour.ipynb" in names
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_kernelspec_listed_by_project_jupyter(repo_root):
    out = subprocess.run([os.path.join(repo_root, ".venv", "bin", "jupyter"), "kernelspec", "list", "--json"],
                         capture_output=True, text=True, check=True)
    specs = json.loads(out.stdout)["kernelspecs"]
    assert "loopscope" in specs
    argv = specs["loopscope"]["spec"]["argv"]
    assert argv[0].endswith("xloopscope") and os.access(argv[0], os.X_OK)
    resources = specs["loopscope"]["resource_dir"]
    assert os.path.exists(os.path.join(resources, "logo-64x64.png"))
