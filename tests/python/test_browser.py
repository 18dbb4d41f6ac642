"""In a real browser: JupyterLab in headless Chromium (Debian's chromium,
driven by playwright) opens a notebook with the Loopscope kernel, runs a
benchmark cell, and the report's chart, dependence graph and CUDA block
render. The screenshot is kept in test-artifacts/."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "loopscope-browser-test"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path):
    cells = [
        "import numpy as np\n%loopscope auto full",
        "n = 300\nA = np.random.default_rng(0).random((n, n))\nB = np.zeros_like(A)\n"
        "for i in range(1, n - 1):\n"
        "    for j in range(1, n - 1):\n"
        "        B[i, j] = 0.25 * (A[i - 1, j] + A[i + 1, j] + A[i, j - 1] + A[i, j + 1])\n"
        "print('checksum', round(float(B.sum()), 6))",
    ]
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{k}", "metadata": {},
                   "outputs": [], "source": src} for k, src in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "loopscope", "display_name": "Python 3 (Loopscope)",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


@pytest.fixture
def lab_server(repo_root, tmp_path):
    port = _free_port()
    root = tmp_path / "nb"
    root.mkdir()
    _notebook(root / "stencil.ipynb")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.Popen(
        [os.path.join(repo_root, ".venv", "bin", "jupyter"), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         "--allow-root", "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode(errors="replace")[-2000:])
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_report_renders_in_jupyterlab(lab_server, repo_root):
    from playwright.sync_api import sync_playwright

    artifacts = os.path.join(repo_root, "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        try:
            page.goto(f"{lab_server}/lab/tree/stencil.ipynb?token={TOKEN}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            # Wait for the Loopscope kernel to be ready, then Run > Run All Cells.
            page.wait_for_selector("text=Python 3 (Loopscope) | Idle", timeout=120_000)
            page.click(".jp-Notebook .jp-Cell >> nth=0")
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.get_by_text("Run All Cells", exact=True).click()
            page.wait_for_selector(".ls-report", timeout=60_000)
            page.wait_for_selector("text=checksum", timeout=180_000)
            # The Vega-Lite chart (rendered by JupyterLab's Vega renderer).
            page.wait_for_selector(".jp-RenderedVegaCommon5 svg, .jp-RenderedVegaCommon5 canvas",
                                   timeout=60_000)
            # Open every collapsible part of the report.
            page.evaluate("() => document.querySelectorAll('.ls-report details').forEach(d => d.open = true)")
            report = page.locator(".ls-report").first
            assert report.locator("summary", has_text="Dependence graph").count() == 1
            graph = report.locator("svg g.node")
            assert graph.count() >= 1, "the dependence graph is drawn"
            assert report.locator("summary", has_text="Generated CUDA").count() == 1
            assert "__global__" in report.inner_text()
            assert report.locator("summary", has_text="Iteration space").count() == 1
            assert "Ran on the CPU" in report.inner_text() or "plain Python" in report.inner_text()
            page.screenshot(path=os.path.join(artifacts, "jupyterlab-report.png"), full_page=True)
            chart = page.locator(".jp-RenderedVegaCommon5").first
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=os.path.join(artifacts, "jupyterlab-chart.png"))
        except Exception:
            page.screenshot(path=os.path.join(artifacts, "jupyterlab-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
