"""The wheel, away from the source tree: scripts/build-wheel.sh builds it, a
fresh virtual environment made from /usr/bin/python3 with only PyPI packages
installs it, and there ``import loopscope``, ``%load_ext loopscope`` in a
stock IPython shell (a report, a compiled run, a GPU-emulated run, Python's
own errors) and the xloopscope kernel it carries (``python -m loopscope
install-kernel``) work.

Every script runs in the fresh environment's Python, from a folder outside
the source tree, with no PYTHONPATH: what it imports is what the wheel
installed. The wheel's size and the import times are measurements
(docs/install.md has them), not assertions."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LOOPSCOPE_BUILD_DIR", ROOT / "build"))
WHEEL_WORK = BUILD / "wheel"
SYSTEM_PYTHON = "/usr/bin/python3"
# Building from nothing takes a few minutes on two cores; installing takes
# seconds once pip's cache holds the dependencies.
BUILD_TIMEOUT_S = 1500
INSTALL_TIMEOUT_S = 600


def _clean_env():
    """This process's environment without what points into the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # pip's own cache (the tests move XDG_CACHE_HOME into the build folder):
    # a second run installs the dependencies without downloading them again.
    env["PIP_CACHE_DIR"] = os.path.join(os.path.expanduser("~"), ".cache", "pip")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel():
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-wheel.sh")], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-6000:]
    path = Path(built.stdout.strip().splitlines()[-1])
    assert path.is_file(), built.stdout
    return path


def _fresh_venv(name, *requirements, python=SYSTEM_PYTHON):
    """A new virtual environment of ``python`` (without its installed
    packages: Debian's, for /usr/bin/python3) with these requirements
    installed by pip."""
    where = WHEEL_WORK / name
    shutil.rmtree(where, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(where)], check=True, timeout=120, env=_clean_env())
    installed = subprocess.run(
        [str(where / "bin" / "python"), "-m", "pip", "install", "-q", *requirements],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=INSTALL_TIMEOUT_S,
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-4000:]
    return where


@pytest.fixture(scope="module")
def venv(wheel):
    """The wheel with its NVRTC and kernel extras (IPython 8.5, which the
    kernel's shell needs)."""
    return _fresh_venv("test-venv", f"{wheel}[cuda,kernel]")


def _run(venv, script, tmp_path, *args, timeout=300):
    """Runs a script with the fresh environment's Python, from tmp_path."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(path), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def _last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def test_the_wheel_carries_the_engine_its_data_and_the_kernel(wheel, measure):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("_loopscope.cpython-311") and n.endswith(".so") for n in names)
    for needed in (
        "loopscope/__init__.py",
        "loopscope/__main__.py",
        "loopscope/share/cuda/loopscope_cuda.h",
        "loopscope/share/cuda/loopscope_math_shared.h",
        "loopscope/share/hardware/a100_sxm.json",
        "loopscope/kernel/xloopscope",
        "loopscope/kernel/logo-64x64.png",
    ):
        assert needed in names, needed
    libs = [n.split("/", 1)[1] for n in names if n.startswith("loopscope.libs/")]
    # LLVM is linked into the engine, not carried as a library; Graphviz and
    # the kernel's libraries (xeus, ZeroMQ) are carried.
    assert not any("LLVM" in lib for lib in libs), libs
    for carried in ("libgvc", "libgvplugin_dot_layout", "libgvplugin_core", "libxeus-python", "libzmq"):
        assert any(lib.startswith(carried) for lib in libs), (carried, libs)
    assert not any(lib.startswith("libpython") for lib in libs), libs
    assert "manylinux" in wheel.name and "cp311" in wheel.name
    measure("wheel size", wheel.stat().st_size / 2**20, "MiB")


def test_import_takes_everything_from_the_installed_wheel(venv, tmp_path, measure):
    out = _run(
        venv,
        """
        import json, sys, time
        t0 = time.perf_counter()
        import loopscope
        t1 = time.perf_counter()
        import _loopscope
        t2 = time.perf_counter()
        maps = open("/proc/self/maps").read()
        print(json.dumps({
            "package": loopscope.__file__, "engine": _loopscope.__file__, "share": _loopscope.share_dir(),
            "prefix": sys.prefix, "llvm_library": "libLLVM" in maps, "system_graphviz": "/libgvc.so" in maps,
            "import_s": t1 - t0, "engine_s": t2 - t1}))
        """,
        tmp_path,
    )
    got = _last_json(out)
    site = str(venv / "lib")
    for key in ("package", "engine", "share"):
        assert got[key].startswith(site), (key, got[key])
    assert os.path.isfile(os.path.join(got["share"], "cuda", "loopscope_cuda.h"))
    assert os.path.isfile(os.path.join(got["share"], "cuda", "loopscope_math_shared.h"))
    assert not got["llvm_library"] and not got["system_graphviz"]
    measure("wheel: import loopscope", got["import_s"] * 1e3, "ms")
    measure("wheel: import the engine (_loopscope)", got["engine_s"] * 1e3, "ms")


IPYTHON_SESSION = """
    import json, sys
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "loopscope")
    results = {}

    def cell(name, mode, source):
        shell.run_line_magic("loopscope", mode)
        print(f"=== {name}", flush=True)
        result = shell.run_cell(source)
        print(f"=== end {name}", flush=True)
        error = result.error_in_exec
        results[name] = None if error is None else type(error).__name__

    cell("cpu", "cpu summary",
         "import numpy as np\\nA = np.arange(1000.0)\\nB = np.zeros(1000)\\n"
         "for i in range(1, 999):\\n    B[i] = 0.5 * (A[i - 1] + A[i + 1])\\n")
    cell("gpu", "gpu summary",
         "G = np.arange(64.0).reshape(8, 8)\\nH = np.zeros((8, 8))\\n"
         "for i in range(8):\\n    for j in range(8):\\n        H[i, j] = G[i, j] * 2.0 + G[j, i]\\n")
    cell("full", "auto full",
         "C = np.zeros((40, 40))\\n"
         "for p in range(1, 40):\\n    for q in range(40):\\n        C[p, q] = C[p - 1, q] + A[q] * 0.5\\n")
    cell("error", "cpu summary", "D = np.zeros(4)\\nfor k in range(6):\\n    D[k] = 1.0\\n")
    ns = shell.user_ns
    print(json.dumps({"errors": results, "B": ns["B"].tolist(), "i": ns["i"], "H": ns["H"].tolist(),
                      "C": ns["C"].tolist(), "D": ns["D"].tolist(), "k": ns["k"]}))
"""


def _section(out, name):
    return out.split(f"=== {name}\n", 1)[1].split(f"=== end {name}\n", 1)[0]


def test_load_ext_in_a_stock_ipython_reports_and_runs_compiled_code(venv, tmp_path):
    out = _run(venv, IPYTHON_SESSION, tmp_path)
    got = _last_json(out)
    assert got["errors"] == {"cpu": None, "gpu": None, "full": None, "error": "IndexError"}, out

    assert "Loopscope: loop nest at line" in _section(out, "cpu") and "ran on the CPU" in _section(out, "cpu")
    assert "GPU emulator" in _section(out, "gpu"), _section(out, "gpu")
    full = _section(out, "full")
    # The full report's text form (a terminal shows no HTML): the decision with
    # its reason, the chart's placeholder, and what ran.
    assert "Loopscope: loop nest at line" in full and "cost chart" in full and "Ran as" in full, full

    # What CPython computes, and leaves behind.
    import numpy as np

    A = np.arange(1000.0)
    B = np.zeros(1000)
    B[1:999] = 0.5 * (A[:998] + A[2:])
    assert got["B"] == B.tolist() and got["i"] == 7  # the GPU cell's loop ran last
    G = np.arange(64.0).reshape(8, 8)
    assert got["H"] == (G * 2.0 + G.T).tolist()
    C = np.zeros((40, 40))
    for i in range(1, 40):
        C[i] = C[i - 1] + A[:40] * 0.5
    assert got["C"] == C.tolist()
    assert got["D"] == [1.0] * 4 and got["k"] == 4


def test_run_explain_and_jit_from_the_wheel(venv, tmp_path):
    out = _run(
        venv,
        """
        import json
        import numpy as np
        import loopscope

        def smooth(a, out):
            for i in range(1, a.shape[0] - 1):
                for j in range(1, a.shape[1] - 1):
                    out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])
            return out

        a = np.random.default_rng(1).random((64, 64))
        want = smooth(a, np.zeros_like(a))
        got = {device: loopscope.run(smooth, a, np.zeros_like(a), device=device)
               for device in ("cpu", "cpu-serial", "gpu", "auto", "python")}
        report = loopscope.explain(smooth, a, np.zeros_like(a))
        estimate = loopscope.estimate(smooth, a, np.zeros_like(a))
        fast = loopscope.jit(device="cpu")(smooth)
        nvrtc = [line.split()[-1] for line in open("/proc/self/maps") if "libnvrtc" in line]
        print(json.dumps({"same": {d: bool(np.array_equal(v, want)) for d, v in got.items()}, "nvrtc": nvrtc,
                          "jit_same": bool(np.array_equal(fast(a, np.zeros_like(a)), want)),
                          "explained": json.dumps(report)[:20000], "estimated": json.dumps(estimate)[:20000]}))
        """,
        tmp_path,
    )
    got = _last_json(out)
    assert all(got["same"].values()), got["same"]
    assert got["jit_same"]
    # The GPU variant's CUDA was compiled by NVRTC from PyPI (the cuda extra),
    # even on a machine with a CUDA toolkit.
    assert got["nvrtc"] and all(path.startswith(str(venv / "lib")) for path in got["nvrtc"]), got["nvrtc"]
    assert "parallel" in got["explained"], got["explained"][:2000]
    assert "compute" in got["estimated"] and "compile" in got["estimated"], got["estimated"][:2000]


KERNEL_SESSION = """
    import json, sys
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name=sys.argv[1], startup_timeout=120)
    found = {"display": [], "stream": "", "status": []}
    try:
        for code in (sys.argv[2],
                     "import numpy as np\\nA = np.arange(1000.0)\\nB = np.zeros(1000)\\n"
                     "for i in range(1, 999):\\n    B[i] = 0.5 * (A[i - 1] + A[i + 1])\\nprint(B[:3].tolist(), i)\\n"):
            msg_id = kc.execute(code)
            while True:
                msg = kc.get_iopub_msg(timeout=120)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content["execution_state"] == "idle":
                    break
                if kind in ("display_data", "update_display_data"):
                    found["display"].append(content["data"])
                elif kind == "stream":
                    found["stream"] += content["text"]
            found["status"].append(kc.get_shell_msg(timeout=60)["content"]["status"])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps(found))
"""


def test_install_kernel_puts_a_working_kernel_in_the_environment(venv, tmp_path):
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "loopscope", "install-kernel", "--name", "loopscope-wheel-test"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    spec_dir = venv / "share" / "jupyter" / "kernels" / "loopscope-wheel-test"  # a venv: its own prefix
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"][0].startswith(str(venv / "lib")) and spec["argv"][2] == str(venv / "bin" / "python")
    assert (spec_dir / "logo-64x64.png").is_file()

    _check_kernel_session(_run(venv, KERNEL_SESSION, tmp_path, "loopscope-wheel-test", "%loopscope cpu full"))


def _check_kernel_session(stdout):
    got = _last_json(stdout)
    assert got["status"] == ["ok", "ok"], got
    assert got["stream"].strip().splitlines()[-1] == "[0.0, 1.0, 2.0] 998", got["stream"]
    html = " ".join(d.get("text/html", "") for d in got["display"])
    assert "ls-report" in html and "<svg" in html, html[:3000]  # the report, with its dependence graph
    assert any("application/vnd.vegalite.v5+json" in d for d in got["display"])


def test_load_ext_in_ipykernel_with_the_newest_ipython(wheel, tmp_path):
    """The extension alone (no extras), with whatever IPython and ipykernel
    pip picks today: in a stock IPython shell, and in ipykernel, the kernel
    of hosted notebooks, where the report is HTML with its graph."""
    newest = _fresh_venv("test-venv-ipykernel", str(wheel), "ipython>8.5", "ipykernel", "jupyter_client")
    out = _run(newest, IPYTHON_SESSION, tmp_path)
    assert _last_json(out)["errors"] == {"cpu": None, "gpu": None, "full": None, "error": "IndexError"}
    assert "ran on the CPU" in _section(out, "cpu")

    name = "loopscope-ipykernel-test"
    subprocess.run(
        [str(newest / "bin" / "python"), "-m", "ipykernel", "install", "--sys-prefix", "--name", name],
        check=True,
        capture_output=True,
        env=_clean_env(),
        timeout=120,
    )
    _check_kernel_session(_run(newest, KERNEL_SESSION, tmp_path, name, "%load_ext loopscope\n%loopscope cpu full"))


def _other_python_311():
    """A CPython 3.11 on PATH other than Debian's (a pyenv or python.org
    build), or None."""
    debian = os.path.realpath(SYSTEM_PYTHON)
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for name in ("python3.11", "python3"):
            candidate = shutil.which(name, path=folder)
            if candidate is None:
                continue
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.executable, sys.version_info[:2] == (3, 11))"],
                capture_output=True,
                text=True,
                env=_clean_env(),
            )
            if probe.returncode != 0 or not probe.stdout.strip().endswith("True"):
                continue
            real = os.path.realpath(probe.stdout.split()[0])
            if real != debian and not real.startswith(str(ROOT)) and not real.startswith(str(BUILD)):
                return real
    return None


def test_another_python_311_hosts_the_extension_and_the_kernel(wheel, tmp_path):
    """The wheel in a virtual environment of a CPython 3.11 that is not
    Debian's: the extension works, and the kernel embeds that Python's own
    libpython (its kernelspec names the folder)."""
    python = _other_python_311()
    if python is None:
        pytest.skip("no CPython 3.11 other than Debian's on PATH")
    where = _fresh_venv("test-venv-other-python", f"{wheel}[cuda,kernel]", python=python)
    out = _run(where, IPYTHON_SESSION, tmp_path)
    assert _last_json(out)["errors"] == {"cpu": None, "gpu": None, "full": None, "error": "IndexError"}
    assert "ran on the CPU" in _section(out, "cpu")

    name = "loopscope-other-python-test"
    subprocess.run(
        [str(where / "bin" / "python"), "-m", "loopscope", "install-kernel", "--name", name],
        check=True,
        capture_output=True,
        env=_clean_env(),
        timeout=120,
    )
    spec = json.loads((where / "share" / "jupyter" / "kernels" / name / "kernel.json").read_text())
    libdir = spec["env"]["LD_LIBRARY_PATH"].split(os.pathsep)[0]
    assert os.path.exists(os.path.join(libdir, "libpython3.11.so.1.0")) and libdir != "/usr/lib/x86_64-linux-gnu"
    _check_kernel_session(_run(where, KERNEL_SESSION, tmp_path, name, "%loopscope cpu full"))


def test_install_kernel_explains_what_it_cannot_do(monkeypatch, tmp_path, capsys):
    """From the source tree (no kernel executable in the package), and for a
    Python without a shared libpython: a sentence, exit status 1, nothing
    installed."""
    import sysconfig

    from loopscope import __main__ as cli

    assert cli.main(["install-kernel", "--prefix", str(tmp_path)]) == 1
    assert "carries no kernel executable" in capsys.readouterr().err
    assert not (tmp_path / "share").exists()

    monkeypatch.setattr(cli, "EXECUTABLE", sys.executable)  # any executable file
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: str(tmp_path / "nolib"))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "nobase"))
    assert cli.main(["install-kernel", "--prefix", str(tmp_path)]) == 1
    assert "has no shared libpython3.11.so.1.0" in capsys.readouterr().err
    assert not (tmp_path / "share").exists()
