"""Soundness check of the analysis against the oracle, shared by the tests."""

import inspect
import textwrap
import traceback

import numpy as np

import loopscope
import oracle


def _arrays(args):
    return [a for a in args if isinstance(a, np.ndarray)]


def check(source, fn, make_args, name="kernel"):
    """Returns (failures, stats). stats: counts of loops by oracle truth and
    analysis verdict."""
    failures = []
    stats = {
        "loops": 0,
        "truly_parallel": 0,
        "found_parallel": 0,
        "declined": 0,
        "reductions": 0,
        "reduction_checked": 0,
        "oob": 0,
    }
    rep = loopscope.explain(fn, *make_args())
    orc = oracle.trace(source, make_args(), name)
    by_key = {(l["line"], l["var"]): l["lid"] for l in orc.loops}
    if orc.exception is not None:
        # int() of NaN or infinity in an indirect subscript raises ValueError
        # or OverflowError: Python's own, checked by the differential tests.
        if isinstance(orc.exception, (ValueError, OverflowError)) and "int" in str(orc.exception):
            pass
        elif not isinstance(orc.exception, IndexError):
            failures.append(f"python run raised {orc.exception!r}")
            return failures, stats
        stats["oob"] += 1
        frames = [f for f in traceback.extract_tb(orc.exception.__traceback__) if f.filename == "<oracle>"]
        line = frames[-1].lineno if frames else None
        for n in rep["nests"]:
            if line is not None and n["line"] <= line <= n.get("end_line", n["line"]):
                if n["analysed"] and n["subscripts_in_range"]:
                    failures.append(
                        f"line {line} raised IndexError but the nest at line {n['line']} "
                        f"claims every subscript is in range"
                    )
    for n in rep["nests"]:
        if not n["analysed"]:
            stats["declined"] += len(n["loops"])
            continue
        for loop in n["loops"]:
            lid = by_key.get((loop["line"], loop["var"]))
            if lid is None:
                failures.append(f"loop {loop['var']} at line {loop['line']} unknown to the oracle")
                continue
            stats["loops"] += 1
            truly = orc.truly_parallel(lid)
            stats["truly_parallel"] += truly
            v = loop["verdict"]
            if v == "parallel":
                stats["found_parallel"] += truly
                if orc.carried(lid):
                    failures.append(
                        f"loop {loop['var']} (line {loop['line']}) is called parallel but the "
                        f"oracle sees a carried dependence"
                    )
                # A private need not be written by the last iteration: its
                # value after the loop is the last assigning iteration's,
                # which every device keeps (the random nests return their
                # scalars and compare them with CPython's).
            if v in ("parallel", "reduction"):
                if v == "reduction":
                    stats["reductions"] += 1
                ref = make_args()
                e1 = oracle.run_reordered(source, ref, None, name)
                if e1 is not None:
                    continue
                stats["reduction_checked"] += v == "reduction"
                for mode in ("reverse", "rotate"):
                    got = make_args()
                    e2 = oracle.run_reordered(source, got, lid, name, mode=mode)
                    if e2 is not None:
                        failures.append(
                            f"reordering loop {loop['var']} (line {loop['line']}) makes it raise " f"{e2!r}"
                        )
                        break
                    bad = False
                    for a, b in zip(_arrays(ref), _arrays(got)):
                        same = (
                            np.array_equal(a, b, equal_nan=True)
                            if v == "parallel"
                            else np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
                        )
                        if not same:
                            failures.append(
                                f"loop {loop['var']} (line {loop['line']}) is called {v} but running "
                                f"its iterations in another order ({mode}) changes the result"
                            )
                            bad = True
                            break
                    if bad:
                        break
    return failures, stats


def function_source(fn):
    return textwrap.dedent(inspect.getsource(fn))
