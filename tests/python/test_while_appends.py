"""Appends inside a ``while`` loop (kernel/python/loopscope/_appends.py): a
Collatz-style ``while n != 1: seq.append(n)`` inside a ``for``.

The buffer is sized by the trip counts of the for loops around the append
times a factor that starts at ``WHILE_GUESS`` and doubles after a run that
stopped. Every function runs in CPython and through ``loopscope.run`` on
each device (differential.check): the lists (returned, with the types of
their items) must be Python's, natively when the values fit, and through
Python when they do not (the run stops at the buffer's end and Python runs
the loop, which appends as it always does), with Python's exceptions and
partial appends.
"""

import numpy as np

import differential
import loopscope
from differential import use_temporary_cache  # noqa: F401
from loopscope import _appends, _rewrite, _run
from nestgen import make_function

COLLATZ = """
def kernel(n0, seq):
    for k in range(1, n0):
        n = k
        while n != 1:
            seq.append(n)
            n = n // 2 if n % 2 == 0 else 3 * n + 1
    return seq, len(seq)
"""


def check(fn, make_args, native=True, devices=differential.DEVICES):
    return differential.check(fn, make_args, native, devices=devices)


def statuses(records, device):
    return [r["status"] for r in records[device]]


def test_collatz_sequences_that_fit_run_natively():
    fn = make_function(COLLATZ)
    records = check(fn, lambda: (30, []))
    assert statuses(records, "cpu") == ["ok"]
    check(fn, lambda: (30, [7, 8.5]))  # the list keeps what it held


def test_a_run_that_does_not_fit_stops_and_the_next_one_fits():
    fn = make_function(COLLATZ)
    # 3000 starts average more than 64 steps each: the first run stops and
    # Python runs the loop; the next run keeps twice as much aside.
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        records = check(fn, lambda: (3000, []), native=False, devices=(device,))
        assert statuses(records, device) == ["fallback"], records
        reason = records[device][0]["reason"]
        assert "the values appended to seq inside a while loop passed the space" in reason, reason
        records = check(fn, lambda: (3000, []), devices=(device,))
        assert statuses(records, device) == ["ok"], records
    check(fn, lambda: (3000, []), devices=("auto",))


def test_a_while_at_the_root():
    fn = make_function(
        """
        def kernel(n, seq):
            while n != 1:
                seq.append(n)
                n = n // 2 if n % 2 == 0 else 3 * n + 1
            return seq, n
        """
    )
    # 27 takes 111 steps: the first run (64 values kept aside) stops.
    records = check(fn, lambda: (27, []), native=False)
    assert all(statuses(records, d) == ["fallback"] for d in ("cpu", "cpu-serial", "gpu-emulated")), records
    records = check(fn, lambda: (27, []))
    assert statuses(records, "cpu") == ["ok"]
    check(fn, lambda: (6, []))


def test_floats_appended_in_a_while_inside_two_for_loops():
    fn = make_function(
        """
        def kernel(x, out):
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    v = x[i, j]
                    while v > 1.0:
                        out.append(v)
                        v = v * 0.5
            return out
        """
    )
    x = np.random.default_rng(3).uniform(0.0, 50.0, (4, 5)).round(3)
    check(fn, lambda: (x.copy(), []))


def test_an_exception_in_the_while_keeps_pythons_partial_appends():
    fn = make_function(
        """
        def kernel(d, seq):
            for k in range(len(d)):
                n = 10
                while n > 0:
                    seq.append(n // d[k])
                    n -= 3
            return seq
        """
    )
    check(fn, lambda: ([1, 2, 3], []))
    # d[2] == 0: Python raises ZeroDivisionError after the appends of k = 0, 1.
    records = check(fn, lambda: ([1, 2, 0, 4], []), native=False)
    for device in ("cpu", "cpu-serial", "gpu-emulated"):
        assert all(s in ("fallback", "declined") for s in statuses(records, device)), records

    # The list itself, not only the value returned, holds Python's partial appends.
    got = []
    try:
        loopscope.run(fn, [1, 2, 0, 4], got, device="cpu")
    except ZeroDivisionError:
        pass
    want = []
    try:
        fn([1, 2, 0, 4], want)
    except ZeroDivisionError:
        pass
    assert got == want and len(want) == 8


def test_the_factor_grows_only_after_a_stopped_run():
    fn = make_function(COLLATZ)

    def factors():
        (nest_id,) = _run.last_runs()
        return set(_rewrite.NESTS[nest_id].appends.factors.values())

    _run.reset_last_runs()
    loopscope.run(fn, 10, [], device="cpu")
    assert factors() == {_appends.WHILE_GUESS}
    loopscope.explain(fn, 10, [])  # bound, not run: nothing grows
    _run.reset_last_runs()
    loopscope.run(fn, 10, [], device="cpu")
    assert factors() == {_appends.WHILE_GUESS}
    _run.reset_last_runs()
    loopscope.run(fn, 3000, [], device="cpu")
    assert factors() == {2 * _appends.WHILE_GUESS}


def test_auto_runs_natively_once_the_buffer_has_grown():
    # A stopped run sends auto's values to Python (_cost.note_stopped), but
    # the buffer of appends inside a while grows, and with it the values'
    # decision signature (the buffer is a hidden input): a later run is native.
    fn = make_function(COLLATZ)
    seen = []
    for _ in range(4):
        records = check(fn, lambda: (3000, []), native=False, devices=("auto",))
        seen += statuses(records, "auto")
    assert seen[-1] == "ok", seen
