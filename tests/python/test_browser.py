"""In a real browser: JupyterLab in headless Chromium (Debian's chromium,
driven by playwright) opens a notebook with the Loopscope kernel, runs a
benchmark cell, and the report's chart, dependence graph and CUDA block
render; a reference lesson at the default level is not much taller than in a
plain Python kernel. The screenshots are kept in test-artifacts/."""

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
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{k}", "metadata": {}, "outputs": [], "source": src}
            for k, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "loopscope", "display_name": "Python 3 (Loopscope)", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


# A first lesson on GPU parallelism, as a teacher would write it: arrays,
# element-wise loops, a loop in a function, a loop that prints, a running
# sum, a 2-D fill, an escape-time fractal with a while loop, timing.
LESSON = [
    ("markdown", "# Lesson 1: loops over arrays\nEach iteration of a loop may or may not depend on another."),
    ("code", "import time\nimport numpy as np"),
    ("code", "n = 200_000\nrng = np.random.default_rng(0)\nx = rng.random(n)\ny = rng.random(n)\n" "out = np.empty(n)"),
    ("markdown", "## Vector addition\nNo iteration reads what another writes."),
    ("code", "for i in range(n):\n    out[i] = x[i] + y[i]\nprint('first three:', out[:3].round(3))"),
    (
        "code",
        "def saxpy(a, x, y, out):\n    for i in range(x.shape[0]):\n        out[i] = a * x[i] + y[i]\n\n"
        "saxpy(2.0, x, y, out)\nprint('saxpy done:', round(float(out.sum()), 3))",
    ),
    ("code", "for step in range(3):\n    print('step', step)"),
    ("markdown", "## A running sum\nHere every iteration needs the one before."),
    (
        "code",
        "total = np.empty(n)\ntotal[0] = x[0]\nfor i in range(1, n):\n    total[i] = total[i - 1] + x[i]\n"
        "print('last:', round(float(total[-1]), 3))",
    ),
    ("code", "squares = [0] * 10\nfor i in range(10):\n    squares[i] = i * i\nprint(squares)"),
    (
        "code",
        "M = np.zeros((300, 300))\nfor i in range(300):\n    for j in range(300):\n"
        "        M[i, j] = (i * j) % 7\nprint(M.sum())",
    ),
    ("markdown", "## An escape-time fractal\nThe inner `while` loop stops at a different step for each point."),
    (
        "code",
        "W, H = 60, 40\nimage = np.zeros((H, W), dtype=np.int32)\nfor r in range(H):\n    for c in range(W):\n"
        "        z = 0j\n        k = 0\n        while abs(z) < 2 and k < 30:\n"
        "            z = z * z + complex(-2 + 3 * c / W, -1 + 2 * r / H)\n            k += 1\n"
        "        image[r, c] = k\nprint(image.sum())",
    ),
    (
        "code",
        "t0 = time.perf_counter()\nfor i in range(n):\n    out[i] = x[i] * y[i]\n"
        "elapsed = time.perf_counter() - t0\nprint('timed')",
    ),
    ("code", "print('lesson done')"),
]


def _lesson(path, kernel_name, display_name):
    nb = {
        "cells": [
            {
                "cell_type": kind,
                "id": f"l{k}",
                "metadata": {},
                "source": src,
                **({"execution_count": None, "outputs": []} if kind == "code" else {}),
            }
            for k, (kind, src) in enumerate(LESSON)
        ],
        "metadata": {
            "kernelspec": {"name": kernel_name, "display_name": display_name, "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))


def _launch(pw):
    """Debian's headless Chromium, as every browser test starts it."""
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ],
    )


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@pytest.fixture
def lab_server(repo_root, tmp_path, request):
    theme = getattr(request, "param", "light")
    port = _free_port()
    root = tmp_path / "nb"
    root.mkdir()
    _notebook(root / "stencil.ipynb")
    _lesson(root / "lesson-loopscope.ipynb", "loopscope", "Python 3 (Loopscope)")
    _lesson(root / "lesson-plain.ipynb", "python3", "Python 3 (ipykernel)")
    # Every cell rendered, whether on screen or not, so that heights are real.
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    themes = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    themes.mkdir(parents=True)
    (themes / "themes.jupyterlab-settings").write_text(json.dumps({"theme": THEMES[theme]}))
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    proc = subprocess.Popen(
        [
            os.path.join(repo_root, ".venv", "bin", "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=" "jupyterlab.NeverCheckForUpdate",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
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


# Colour checks in the page: the WCAG contrast of a computed colour against
# the nearest opaque background up the tree.
_CONTRAST_JS = """
(args) => {
  const [selector, property] = args;
  const el = document.querySelector(selector);
  if (!el) return null;
  const rgb = (s) => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const fg = rgb(getComputedStyle(el)[property]);
  let bg = null;
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c && c.a > 0.5) { bg = c; break; }
  }
  if (!fg || !bg) return null;
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.parametrize(
    "lab_server,width", [("light", 1400), ("dark", 1024)], indirect=["lab_server"], ids=["light-1400", "dark-1024"]
)
def test_report_renders_in_jupyterlab(lab_server, width, repo_root, request):
    """The full report in JupyterLab, in the light theme at 1400 px and in the
    dark theme at 1024 px with the file browser open (a cell about 700 px
    wide): the chart, graph, iteration space and CUDA render, read against
    the theme's background, and fit the cell's width."""
    from playwright.sync_api import sync_playwright

    theme = "dark" if "dark" in request.node.callspec.id else "light"
    tag = f"{theme}-{width}"
    artifacts = os.path.join(repo_root, "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page(viewport={"width": width, "height": 1800})
        try:
            page.goto(f"{lab_server}/lab/tree/stencil.ipynb?token={TOKEN}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            # Wait for the Loopscope kernel to be ready, then Run > Run All Cells.
            page.wait_for_selector("text=Python 3 (Loopscope) | Idle", timeout=120_000)
            assert page.evaluate("() => document.body.dataset.jpThemeLight") == str(theme == "light").lower()
            page.click(".jp-Notebook .jp-Cell >> nth=0")
            page.click("li.lm-MenuBar-item:has-text('Run')")
            page.get_by_text("Run All Cells", exact=True).click()
            page.wait_for_selector(".ls-report", timeout=60_000)
            page.wait_for_selector("text=checksum", timeout=180_000)
            # The Vega-Lite chart (rendered by JupyterLab's Vega renderer).
            page.wait_for_selector(".jp-RenderedVegaCommon5 svg, .jp-RenderedVegaCommon5 canvas", timeout=60_000)
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
            # Readable in the theme: statement boxes, iteration dots, axis
            # labels, the decision and the captions.
            for selector, prop, least in (
                (".ls-report svg .node text", "fill", 4.5),
                (".ls-report svg .ls-dot", "fill", 3.0),
                (".ls-report svg .ls-axis", "fill", 4.5),
                (".ls-report .ls-head", "color", 4.5),
                (".ls-report .ls-caption", "color", 3.0),
                (".ls-report .ls-code .k", "color", 3.0),
            ):
                ratio = page.evaluate(_CONTRAST_JS, [selector, prop])
                assert ratio is not None and ratio >= least, (tag, selector, ratio)
            background = page.evaluate(
                "() => getComputedStyle(document.querySelector(" "'.ls-report svg .graph > polygon')).fill"
            )
            assert background in ("transparent", "rgba(0, 0, 0, 0)", "none"), background
            # Within the cell's width: the CUDA scrolls (never wraps
            # mid-token), the chart fits.
            assert page.evaluate("() => getComputedStyle(document.querySelector('.ls-report pre')).whiteSpace") == "pre"
            fits = page.evaluate(
                "() => { const o = document.querySelector('.jp-RenderedVegaCommon5')"
                ".closest('.jp-OutputArea-output'); const v = o.querySelector('svg, canvas');"
                " return [v.getBoundingClientRect().right, o.getBoundingClientRect().right]; }"
            )
            assert fits[0] <= fits[1] + 1, (tag, fits)
            report_box = page.evaluate(
                "() => { const r = document.querySelector('.ls-report');" " return [r.scrollWidth, r.clientWidth]; }"
            )
            assert report_box[0] <= report_box[1] + 1, (tag, report_box)
            page.screenshot(path=os.path.join(artifacts, f"jupyterlab-report-{tag}.png"), full_page=True)
            chart = page.locator(".jp-RenderedVegaCommon5").first
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=os.path.join(artifacts, f"jupyterlab-chart-{tag}.png"))
        except Exception:
            page.screenshot(path=os.path.join(artifacts, f"jupyterlab-failure-{tag}.png"), full_page=True)
            raise
        finally:
            browser.close()


def _run_all(page, url, name, kernel_label, done_text):
    page.goto(f"{url}/lab/tree/{name}?token={TOKEN}", timeout=120_000)
    visible = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
    page.wait_for_selector(f"{visible} .jp-Cell", timeout=120_000)
    page.wait_for_selector(f"text={kernel_label} | Idle", timeout=120_000)
    page.click(f"{visible} .jp-Cell >> nth=0")
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_selector(f".jp-OutputArea-output:has-text('{done_text}')", timeout=240_000)
    page.wait_for_selector(f"text={kernel_label} | Idle", timeout=120_000)
    page.wait_for_timeout(500)  # the last updates of the reports


def _notebook_height(page):
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-Notebook .jp-Cell')).reduce((h, c) => h + c.getBoundingClientRect().height, 0)"
    )


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
def test_reference_lesson_is_not_much_taller_than_in_a_plain_kernel(lab_server, repo_root):
    """At the default level (summary), the reports of a 15-cell lesson add at
    most half the height the notebook has in a plain Python kernel."""
    from playwright.sync_api import sync_playwright

    artifacts = os.path.join(repo_root, "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    heights = {}
    with sync_playwright() as pw:
        browser = _launch(pw)
        try:
            for name, label in (
                ("lesson-plain.ipynb", "Python 3 (ipykernel)"),
                ("lesson-loopscope.ipynb", "Python 3 (Loopscope)"),
            ):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                try:
                    _run_all(page, lab_server, name, label, "lesson done")
                    heights[name] = _notebook_height(page)
                    page.screenshot(path=os.path.join(artifacts, name.replace(".ipynb", ".png")), full_page=True)
                except Exception:
                    page.screenshot(
                        path=os.path.join(artifacts, name.replace(".ipynb", "-failure.png")), full_page=True
                    )
                    raise
                finally:
                    page.close()
        finally:
            browser.close()
    lines = ["lesson height at 1400 px (sum of the cells' heights):"]
    lines += [f"  {n}: {h:.0f} px" for n, h in heights.items()]
    ratio = heights["lesson-loopscope.ipynb"] / heights["lesson-plain.ipynb"]
    lines.append(f"  ratio: {ratio:.2f} (at most 1.5)")
    with open(os.path.join(artifacts, "lesson-height.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert ratio <= 1.5, lines


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("lab_server", ["dark"], indirect=True)
def test_summary_lines_unfold_in_the_dark_theme(lab_server, repo_root):
    """The default level in the dark theme at 1024 px with the file browser
    open: each nest worth a look has one summary line, readable against the
    theme's background; a click unfolds it to the report, which reads and
    fits as well."""
    from playwright.sync_api import sync_playwright

    artifacts = os.path.join(repo_root, "test-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    with sync_playwright() as pw:
        browser = _launch(pw)
        page = browser.new_page(viewport={"width": 1024, "height": 1200})
        try:
            _run_all(page, lab_server, "lesson-loopscope.ipynb", "Python 3 (Loopscope)", "lesson done")
            assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
            lines = page.locator(".ls-summary > details > summary.ls-head")
            assert lines.count() >= 1
            for k in range(lines.count()):
                assert lines.nth(k).inner_text().startswith("Loopscope: loop nest at line")
            ratio = page.evaluate(_CONTRAST_JS, [".ls-summary summary.ls-head", "color"])
            assert ratio is not None and ratio >= 4.5, ratio
            # Folded: nothing of the report shows yet.
            first = page.locator(".ls-summary").first
            assert not first.locator("summary", has_text="Loops and why").is_visible()
            first.locator("summary.ls-head").click()
            assert first.locator("summary", has_text="Loops and why").is_visible()
            assert "Decision:" in first.inner_text()
            for selector, prop, least in (
                (".ls-summary details[open] .ls-caption", "color", 3.0),
                (".ls-summary details[open] td", "color", 4.5),
            ):
                ratio = page.evaluate(_CONTRAST_JS, [selector, prop])
                assert ratio is None or ratio >= least, (selector, ratio)
            box = page.evaluate(
                "() => { const r = document.querySelector('.ls-summary');" " return [r.scrollWidth, r.clientWidth]; }"
            )
            assert box[0] <= box[1] + 1, box
            first.screenshot(path=os.path.join(artifacts, "jupyterlab-summary-dark-1024.png"))
        except Exception:
            page.screenshot(path=os.path.join(artifacts, "jupyterlab-summary-failure-dark-1024.png"), full_page=True)
            raise
        finally:
            browser.close()
