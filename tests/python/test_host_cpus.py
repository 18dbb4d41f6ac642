"""The CPUs a process may use (analysis/include/loopscope/host_cpus.hpp): the
thread pool and the cost model follow the affinity mask, the cgroup CPU
quota and LOOPSCOPE_THREADS. Each case runs in a fresh process (the count is
read once per process)."""

import json
import math
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROBE = (
    "import json, _loopscope; print(json.dumps({'budget': _loopscope.cpu_budget(), "
    "'threads': _loopscope.cpu_threads(), 'model_cores': _loopscope.cost_host_profile(False)['cores']}))"
)


def _probe(tmp_path, prefix=(), **env):
    e = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    e.pop("LOOPSCOPE_THREADS", None)
    e.update(env)
    out = subprocess.run([*prefix, sys.executable, "-c", PROBE], env=e, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _affinity():
    return len(os.sched_getaffinity(0))


def _expect(quota_cpus):
    """What the budget must be for a quota of ``quota_cpus`` on this machine."""
    cpus = _affinity()
    if quota_cpus < cpus:
        return {"cpus": max(1, math.ceil(quota_cpus)), "source": "cgroup quota"}
    return {"cpus": cpus, "source": "affinity"}


def _check(got, want):
    assert got["budget"] == want, got
    assert got["threads"] == want["cpus"], got  # the thread pool's size
    assert got["model_cores"] == want["cpus"], got  # the cost model prices the same threads


def _fake_cgroup(tmp_path, files, self_cgroup):
    """A cgroup hierarchy under tmp_path ({relative path: content}) and the
    process's /proc/self/cgroup text, as the environment that points the
    engine at them."""
    root = tmp_path / "cgroup"
    root.mkdir(exist_ok=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text + "\n")
    self_file = tmp_path / "self"
    self_file.write_text(self_cgroup)
    return {"LOOPSCOPE_CGROUP_ROOT": str(root), "LOOPSCOPE_SELF_CGROUP": str(self_file)}


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) is not installed")
def test_affinity_mask_limits_the_threads(tmp_path):
    _check(_probe(tmp_path, prefix=("taskset", "-c", "0")), {"cpus": 1, "source": "affinity"})


def test_cgroup_v2_quota_limits_the_threads(tmp_path):
    env = _fake_cgroup(
        tmp_path,
        {
            "cpu.max": "max 100000",
            "a/cpu.max": "50000 100000",  # half a CPU, on an ancestor
            "a/b/cpu.max": "max 100000",
        },
        "0::/a/b\n",
    )
    got = _probe(tmp_path, **env)
    _check(got, {"cpus": 1, "source": "cgroup quota"})


def test_cgroup_v2_quota_rounds_up(tmp_path):
    env = _fake_cgroup(tmp_path, {"cpu.max": "150000 100000"}, "0::/\n")  # 1.5 CPUs: two threads
    got = _probe(tmp_path, **env)
    _check(got, _expect(1.5))


def test_cgroup_v1_quota_limits_the_threads(tmp_path):
    env = _fake_cgroup(
        tmp_path,
        {"cpu,cpuacct/kube/pod/cpu.cfs_quota_us": "80000", "cpu,cpuacct/kube/pod/cpu.cfs_period_us": "100000"},
        "4:memory:/kube/pod\n3:cpu,cpuacct:/kube/pod\n0::/\n",
    )
    got = _probe(tmp_path, **env)
    _check(got, {"cpus": 1, "source": "cgroup quota"})


def test_no_quota_means_the_affinity_mask(tmp_path):
    env = _fake_cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, "1:cpu:/\n0::/\n")
    got = _probe(tmp_path, **env)
    _check(got, {"cpus": _affinity(), "source": "affinity"})


def test_loopscope_threads_overrides(tmp_path):
    _check(_probe(tmp_path, LOOPSCOPE_THREADS="3"), {"cpus": 3, "source": "LOOPSCOPE_THREADS"})
    # Not a positive integer: ignored.
    got = _probe(tmp_path, LOOPSCOPE_THREADS="lots")
    assert got["budget"]["source"] != "LOOPSCOPE_THREADS"


def test_a_parallel_run_under_a_one_cpu_quota_is_exact(tmp_path):
    cgroup = _fake_cgroup(tmp_path, {"cpu.max": "100000 100000"}, "0::/\n")
    code = (
        "import numpy as np, loopscope\n"
        "def f(A, B):\n"
        "    for i in range(A.shape[0]):\n"
        "        B[i] = 2.0 * A[i] + 1.0\n"
        "A = np.arange(100000.0); B = np.zeros_like(A)\n"
        "loopscope.run(f, A, B, device='cpu')\n"
        "from loopscope import _run\n"
        "print(list(_run.last_runs().values())[-1]['status'], bool((B == 2.0 * A + 1.0).all()))\n"
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "kernel", "python"), os.path.join(ROOT, "build", "python")]),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        **cgroup,
    )
    env.pop("LOOPSCOPE_THREADS", None)
    script = tmp_path / "run.py"  # a file: the rewriter reads the function's source
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["ok", "True"], out.stdout
