"""A list that a nest reads (a read-only snapshot, ``_lists``) and appends
to under another name (``_appends``), or one of whose rows it appends to:
the appends change what the reads see (``len(w)``, ``w[-1]``), which no
snapshot shows, so the loop runs as Python, with a sentence, on every
device."""

import numpy as np
import pytest

import nestgen
from differential import check, use_temporary_cache  # noqa: F401

SAME_LIST = """
def f(a):
    w = [1.0, 2.0, 3.0]
    v = w
    for i in range(a.shape[0]):
        v.append(float(i))
        a[i] = w[len(w) - 1] + len(w) + w[-1]
    return a, w
"""

PASSED_TWICE = """
def f(a, w, v):
    for i in range(a.shape[0]):
        v.append(float(i))
        a[i] = w[-1] + len(w)
    return a
"""

A_ROW = """
def f(a, m, row):
    for i in range(a.shape[0]):
        row.append(float(i))
        a[i] = m[0][0] + len(m[0])
    return a
"""


def _one_list():
    w = [1.0, 2.0]
    return np.zeros(4), w, w


def _a_row():
    r = [1.0, 2.0]
    return np.zeros(3), [r, [3.0, 4.0]], r


@pytest.mark.parametrize(
    "source, make_args, sentence",
    [
        (SAME_LIST, lambda: (np.zeros(4),), "w and v are the same list"),
        (PASSED_TWICE, _one_list, "w and v are the same list"),
        (A_ROW, _a_row, "row is a row of m"),
    ],
)
def test_a_list_read_and_appended_to_under_another_name_runs_as_python(source, make_args, sentence):
    records = check(nestgen.make_function(source, "f"), make_args, native=False)
    for device, recs in records.items():
        assert recs and all(sentence in r["reason"] for r in recs), (device, recs)


def test_different_lists_still_run_natively():
    source = """
    def f(a, w, v):
        for i in range(a.shape[0]):
            v.append(float(i))
            a[i] = w[-1] + len(w)
        return a, v
    """
    check(nestgen.make_function(source, "f"), lambda: (np.zeros(4), [1.0, 2.0], [5.0]))
