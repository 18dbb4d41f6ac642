"""Comparing what ``explain`` predicts for each nest with what a run did
(test_explain_predicts_run.py, test_polybench.py).

``mismatches(fn, make_args, devices)`` explains ``fn``, runs it on each
device, and compares the first execution of every nest with the
prediction: a decline with the same reason, or a native run with the same
parallel loops (or a native run that fell back while running: a subscript
found out of range, an overflow, which only running tells). It returns the
mismatches as readable lines and how many executions were compared."""

import loopscope
from loopscope import _run

DEVICES = {"cpu": "cpu", "cpu-serial": "cpu-serial", "gpu-emulated": "gpu"}  # run device -> prediction key


def first_executions(fn, make_args, device):
    """nest id -> the record of its first execution when ``fn`` runs on ``device``."""
    first = {}

    def recording(nest_id, env):
        out = _run.DEVICES[device](nest_id, env)
        if nest_id not in first:
            first[nest_id] = _run.last_runs().get(nest_id)
        return out

    _run.register_device("explain-check", recording)
    try:
        loopscope.run(fn, *make_args(), device="explain-check")
    except Exception:
        pass  # an out-of-range nest raises as Python does; the records stand
    finally:
        _run.DEVICES.pop("explain-check", None)
    return first


def mismatches(fn, make_args, devices=DEVICES):
    rep = loopscope.explain(fn, *make_args())
    predicted = {n["id"]: n["predicted"] for n in rep["nests"] if n.get("predicted")}
    out, compared = [], 0
    for device in devices:
        key = DEVICES[device]
        for nid, rec in first_executions(fn, make_args, device).items():
            if rec is None or nid not in predicted:
                continue  # a nest explain did not reach (its loop was skipped)
            p = predicted[nid][key]
            compared += 1
            if rec["status"] == "declined":
                ok = p["status"] == "declined" and p["reason"] == rec["reason"]
            elif rec["status"] == "ok":
                ok = p["status"] == "native" and p["parallel_loops"] == rec["parallel_loops"]
            else:  # "fallback": it ran natively and stopped
                ok = p["status"] == "native"
            if not ok:
                out.append(
                    f"nest {nid} on {device}: predicted {p}, ran {rec['status']} "
                    f"{rec['reason'] or rec['parallel_loops']!r}"
                )
    return out, compared
