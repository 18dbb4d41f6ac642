"""A native run that may stop half-way saves only the bytes the nest can write.

Before a CPU run whose checks may trap (integer division, an unproved
subscript, an overflow), the arrays the nest writes are saved, so that the
Python loop that takes over after a trap starts from the original data. The
dynamic analysis bounds where the writes land (``ParallelPlan::write_extents``)
and only those bytes are copied: a loop writing three elements of an 8 MB
array copies 24 bytes, not 8 MB. These tests check the extent on the shapes
that decide it (edges, wrap-around, columns, views, non-affine subscripts,
guards) and, against CPython, that a trap still leaves every array exactly as
Python leaves it."""

import ast
import textwrap
import warnings

import numpy as np
import pytest

import _loopscope
import loopscope


def snapshot_bytes(src, env, parallel=False):
    src = textwrap.dedent(src).strip() + "\n"
    nid = _loopscope.analysis_register(ast.parse(src).body[0], src)
    r = _loopscope.cpu_run(nid, env, parallel)
    assert r["status"] == "ok", r
    return r["timing"]["snapshot_bytes"]


DIVIDE_EDGE = """
for i in range(n):
    A[i] = A[i] // d[i]
"""


def test_an_edge_loop_saves_what_it_writes():
    A = np.arange(1_000_000, dtype=np.int64)
    assert snapshot_bytes(DIVIDE_EDGE, dict(A=A, d=np.ones(8, dtype=np.int64), n=3)) == 3 * 8


def test_wrap_around_saves_the_end_of_the_array():
    src = """
    for i in range(1, 4):
        A[-i] = A[-i] // d[i]
    """
    A = np.arange(1000, dtype=np.int64)
    assert snapshot_bytes(src, dict(A=A, d=np.ones(8, dtype=np.int64))) == 3 * 8


def test_a_column_saves_the_rows_between_its_first_and_last_element():
    src = """
    for i in range(n):
        A[i, 2] = A[i, 2] // d[i]
    """
    A = np.arange(100 * 50, dtype=np.int64).reshape(100, 50)
    assert snapshot_bytes(src, dict(A=A, d=np.ones(10, dtype=np.int64), n=10)) == 9 * 50 * 8 + 8


def test_a_view_with_negative_strides():
    src = """
    for i in range(n):
        A[i] = A[i] // d[i]
    """
    A = np.arange(1000, dtype=np.int64)[::-2]
    assert snapshot_bytes(src, dict(A=A, d=np.ones(8, dtype=np.int64), n=4)) == 3 * 16 + 8


def test_a_non_affine_subscript_saves_its_interval():
    src = """
    for i in range(n):
        A[i * i] = A[i * i] // d[i]
    """
    A = np.arange(1000, dtype=np.int64)
    assert snapshot_bytes(src, dict(A=A, d=np.ones(4, dtype=np.int64), n=4)) == 10 * 8  # A[0] to A[9]


def test_a_guarded_write_saves_what_the_guard_lets_through():
    src = """
    for i in range(n):
        if i + 1 < m:
            A[i + 1] = A[i + 1] // d[i]
    """
    A = np.arange(1000, dtype=np.int64)
    assert snapshot_bytes(src, dict(A=A, d=np.ones(1000, dtype=np.int64), n=1000, m=4)) == 3 * 8


# Differential: a trap half-way, the Python loop takes over, and everything
# ends as CPython leaves it.
def divide_prefix(A, d, n):
    for i in range(n):
        A[i] = A[i] // d[i]
    return A


def divide_into_a_view(A, d, n):
    B = A[2:]
    for i in range(n):
        B[i] = B[i] + A[i] // d[i]
    return A


def divide_2d(A, d, n):
    for i in range(n):
        for j in range(3):
            A[i, j + 1] = A[i, j] // d[i, j]
    return A


def outcome(fn, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(*args).tobytes())
        except Exception as exc:
            return ("raise", type(exc).__name__, str(exc), args[0].tobytes())


CASES = [
    (divide_prefix, lambda: (np.arange(1, 200_001, dtype=np.int64), np.where(np.arange(10) == 6, 0, 3), 10)),
    (divide_into_a_view, lambda: (np.arange(1, 1001, dtype=np.int64), np.where(np.arange(9) == 4, 0, 2), 9)),
    (divide_2d, lambda: (np.arange(4000, dtype=np.int64).reshape(40, 100), np.where(np.eye(6, 3) > 0, 0, 5), 6)),
    (divide_prefix, lambda: (np.arange(1, 100, dtype=np.int64), np.full(10, 7), 10)),
]


@pytest.mark.parametrize("device", ["cpu", "cpu-serial"])
@pytest.mark.parametrize("fn,make_args", CASES, ids=[f"{f.__name__}-{k}" for k, (f, _) in enumerate(CASES)])
def test_a_trap_leaves_the_arrays_as_python_does(fn, make_args, device):
    want = outcome(fn, make_args())
    got = outcome(lambda *a: loopscope.run(fn, *a, device=device), make_args())
    assert got == want
