"""LOOPSCOPE_DEBUG, the one developer setting (debug_settings.hpp and
loopscope/_errors.py): its level on the Python side, and its switches reaching
the CPU code generator."""

import os
import subprocess
import sys
import textwrap

import pytest

from loopscope._errors import debug_level


@pytest.mark.parametrize(
    "text,want",
    [
        ("", (0, None)),
        ("0", (0, None)),
        ("1", (1, None)),
        ("errors", (1, None)),
        ("timing,no-jam", (2, None)),
        ("no-jam,opt=2", (0, None)),
        ("info", (1, "INFO")),
        ("off", (0, None)),
    ],
)
def test_levels(text, want):
    assert debug_level(text) == want


PROBE = textwrap.dedent("""
    import numpy as np, _loopscope
    from loopscope import _rewrite

    def f(A, x, y, n):
        for i in range(n):
            for j in range(n):
                x[i] = x[i] + A[j, i] * y[j]

    seen = {}
    def hook(nest_id, env):
        env, _ = _rewrite.bind_env(nest_id, env)
        seen["c"] = _loopscope.cpu_compile(nest_id, env, False)
        return None

    g, _ = _rewrite.compile_function(f, hook)
    g(np.ones((40, 40)), np.ones(40), np.zeros(40), 40)
    print(seen["c"]["interchanged"] or "-", seen["c"]["tier"])
""")


def _probe(tmp_path, setting):
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    env = dict(os.environ, LOOPSCOPE_DEBUG=setting)
    r = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_switches_reach_the_code_generator(tmp_path):
    interchanged, _tier = _probe(tmp_path, "")
    assert interchanged == "i/j"  # the loop over j runs outside: A is walked by rows
    interchanged, tier = _probe(tmp_path, "no-interchange,tier=optimised")
    assert (interchanged, tier) == ("-", "optimised")


def test_timing_level_prints_the_compile_phases(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(PROBE)
    env = dict(os.environ, LOOPSCOPE_DEBUG="timing,tier=optimised")
    r = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "cpu compile (optimised): irgen" in r.stderr, r.stderr
