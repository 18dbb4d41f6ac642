"""Guards in the range proof: an access under `if i + 1 < N:` is in range
although i + 1 reaches N in the loop (analysis/src/static.cpp `conditions`,
dynamic_bind.cpp `narrow_by_guards`). Hand-written cases (Nussinov's nest, the
else branch, `or`, chained and negated comparisons) and random guarded
loops whose arrays are exactly as long as the loop, so that every unguarded
offset is out of range: the proof must never claim in range where Python
raises IndexError, and every device must give Python's result."""

import random

import numpy as np
import pytest

import loopscope
from loopscope import _run
from nestgen import make_function

DEVICES = ("cpu", "cpu-serial", "gpu-emulated")


def nussinov(seq, table, N):
    for i in range(N - 1, -1, -1):
        for j in range(i + 1, N):
            if j - 1 >= 0:
                table[i, j] = max(table[i, j], table[i, j - 1])
            if i + 1 < N:
                table[i, j] = max(table[i, j], table[i + 1, j])
            if j - 1 >= 0 and i + 1 < N:
                if i < j - 1:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1] + (1 if seq[i] + seq[j] == 3 else 0))
                else:
                    table[i, j] = max(table[i, j], table[i + 1, j - 1])
            for k in range(i + 1, j):
                table[i, j] = max(table[i, j], table[i, k] + table[k + 1, j])


def _claim(fn, *args):
    (nest,) = loopscope.explain(fn, *args)["nests"]
    return nest["subscripts_in_range"], (nest.get("subscript_problem") or {}).get("reason")


def test_nussinov_is_proved_in_range_and_runs_natively():
    N = 40
    seq = np.random.RandomState(0).randint(0, 4, N)
    assert _claim(nussinov, seq, np.zeros((N, N), np.int64), N) == (True, None)
    want = np.zeros((N, N), np.int64)
    nussinov(seq, want, N)
    for device in DEVICES + ("auto",):
        got = np.zeros((N, N), np.int64)
        _run.reset_last_runs()
        loopscope.run(nussinov, seq, got, N, device=device)
        assert np.array_equal(got, want), device
        if device != "auto":
            assert [r["status"] for r in _run.last_runs().values()] == ["ok"], (device, _run.last_runs())


@pytest.mark.parametrize(
    "cond,branch,in_range",
    [
        ("i + 1 < N", "then", True),
        ("i < N - 1", "then", True),
        ("N - 1 > i", "then", True),
        ("i + 1 >= N", "else", True),
        ("not (i + 1 >= N)", "then", True),
        ("0 <= i < N - 1", "then", True),
        ("i < N", "then", False),  # does not exclude i == N - 1
        ("i + 1 < N or i > 3", "then", False),
        ("i + 1 != N", "then", False),  # no fact from !=
        ("i + 1 == N", "else", False),  # nor from the else of ==
        ("i + 2 <= N", "then", True),
        ("i + 1 < N and i > 0", "then", True),
    ],
)
def test_guard_forms(cond, branch, in_range):
    body = "A[i + 1] = A[i] + 1.0"
    if branch == "then":
        src = f"def f(A, N):\n    for i in range(N):\n        if {cond}:\n            {body}\n"
    else:
        src = f"def f(A, N):\n    for i in range(N):\n        if {cond}:\n            pass\n        else:\n            {body}\n"
    f = make_function(src, "f")
    claim, why = _claim(f, np.zeros(6), 6)
    assert claim is in_range, (src, why)


def _guarded_loop(rng):
    """A random loop over i (and maybe j) with affine guards and offsets, over
    arrays exactly as long as the loop's range."""
    op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
    a, b = rng.randint(-2, 2), rng.choice(["N", "N - 1", "N - 2", "0", "1", "2"])
    cond = f"i + {a} {op} {b}" if rng.random() < 0.5 else f"{b} {op} i + {a}"
    if rng.random() < 0.3:
        op2 = rng.choice(["<", ">=", ">"])
        cond = f"{cond} and i {op2} {rng.choice(['1', 'N - 2', '0'])}"
    if rng.random() < 0.2:
        cond = f"not ({cond})"
    c, d = rng.randint(-3, 3), rng.randint(-3, 3)
    two_d = rng.random() < 0.4
    if two_d:
        stmt = f"B[i + {c}, j] = B[i + {d}, j] * 0.5 + A[i]"
        header = "for i in range(N):\n        for j in range(M):"
        pad = "            "
    else:
        stmt = f"A[i + {c}] = A[i + {d}] * 0.5 + 1.0"
        header = "for i in range(N):"
        pad = "        "
    if rng.random() < 0.5:
        inner = f"{pad}if {cond}:\n{pad}    {stmt}\n"
    else:
        inner = f"{pad}if {cond}:\n{pad}    pass\n{pad}else:\n{pad}    {stmt}\n"
    return f"def f(A, B, N, M):\n    {header}\n{inner}"


def _outcome(fn, args, device):
    try:
        r = fn(*args) if device is None else loopscope.run(fn, *args, device=device)
        return ("ok", r)
    except Exception as exc:
        return ("raise", type(exc).__name__, str(exc))


def test_random_guarded_loops():
    rng = random.Random(20261201)
    claimed = 0
    for case in range(150):
        src = _guarded_loop(rng)
        f = make_function(src, "f")
        N, M = rng.randint(3, 9), 3

        def make():
            g = np.random.default_rng(case)
            return [g.random(N), g.random((N, M)), N, M]

        want_args = make()
        want = _outcome(f, want_args, None)
        claim, why = _claim(f, *make())
        if claim:
            claimed += 1
            assert want[0] == "ok", f"claimed in range but Python raised {want}:\n{src}"
        for device in DEVICES:
            args = make()
            got = _outcome(f, args, device)
            assert got[0] == want[0] and got[1:] == want[1:], (device, src, want, got)
            for x, y in zip(want_args[:2], args[:2]):
                assert np.array_equal(x, y), (device, src)
    assert claimed >= 30, claimed  # the guards proved a good share in range
