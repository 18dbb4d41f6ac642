"""loopscope.explain: the dependence analysis of a function's loop nests for
given arguments, without running the loops."""

from typing import Any, Dict, List, Optional

import _loopscope

from . import _callees, _rewrite, _run
from ._errors import internal
from ._records import Decline, internal_decline, shown_all


def _loop_entry(loop: dict, edges: List[dict]) -> Dict[str, Any]:
    carried = [e for e in edges if e.get("carrier") == loop["var"] and _edge_in_loop(e, loop)]
    return {
        "var": loop["var"],
        "line": loop["line"],
        "depth": loop.get("depth", 0),
        "verdict": loop["verdict"],
        "reasons": list(loop.get("reasons", [])),
        "edges": carried,
        "reductions": list(loop.get("reductions", [])),
        "privates": list(loop.get("privates", [])),
        "last_private": list(loop.get("last_private", [])),
    }


def _edge_in_loop(edge: dict, loop: dict) -> bool:
    # An edge belongs to the loop that carries it: its statements lie inside
    # that loop (lines after the loop's header).
    return edge.get("src_line", 0) >= loop["line"] and edge.get("dst_line", 0) >= loop["line"]


def _declined_loops(rec: _rewrite.NestRecord, reason: str) -> List[Dict[str, Any]]:
    out = []
    for l in rec.loops:
        out.append(
            {
                "var": l["var"],
                "line": l["line"],
                "depth": l.get("depth", 0),
                "verdict": "sequential",
                "reasons": [reason],
                "edges": [],
                "reductions": [],
                "privates": [],
                "last_private": [],
            }
        )
    return out


def _declined(decline: Decline, line: Optional[int]) -> Dict[str, Any]:
    # "reason" and "line" repeat the decline's ("line" None for an engine bug).
    return {
        "status": "declined",
        "decline": decline.as_dict(),
        "reason": decline.reason,
        "line": line,
        "parallel_loops": "",
    }


def _native(parallel_loops: str) -> Dict[str, Any]:
    return {"status": "native", "reason": "", "line": None, "parallel_loops": parallel_loops}


def predict(nest_id: int, env: dict) -> Dict[str, Dict[str, Any]]:
    """What ``loopscope.run`` does with this execution of the nest on each
    device, asked of the same engine code that runs it (the CPU code
    generator's specialisation, the CUDA generator), without compiling:
    ``{"cpu" | "cpu-serial" | "gpu": {"status": "native" or "declined",
    "reason", "line", "parallel_loops"}}``; a declined one also has
    "decline", as the engine gives it: ``{"code", "line", "reason", "detail"}``. A
    native run can still fall back to Python while it runs (a subscript found
    out of range, an overflow)."""
    out: Dict[str, Dict[str, Any]] = {}
    for device, parallel in (("cpu", True), ("cpu-serial", False)):
        try:
            p = _loopscope.cpu_predict(nest_id, env, parallel)
        except Exception as exc:  # an engine bug: run records the same
            out[device] = _declined(internal_decline(internal(exc, "CPU compiler"), exc), None)
            continue
        d = Decline.from_engine(p.get("decline"))
        out[device] = _declined(d, d.line) if d else _native(p.get("parallel_loops", ""))
    try:
        g = _loopscope.cuda_generate(nest_id, env)
        d = Decline.from_engine(g.get("decline"))
        out["gpu"] = _declined(d, d.line) if d else _native(g.get("parallel_loops", ""))
    except Exception as exc:
        out["gpu"] = _declined(internal_decline(internal(exc, "GPU code generator"), exc), None)
    return out


def _python_everywhere(predicted: Dict[str, Dict[str, Any]]) -> bool:
    return all(p["status"] == "declined" for p in predicted.values())


def explain(fn, *args, **kwargs) -> Dict[str, Any]:
    """Analyse the loop nests of ``fn`` for these arguments, without running
    the loops, and return a JSON-serialisable report.

    How: ``fn`` is rewritten so that each ``for ... in range(...)`` nest calls
    the analysis with the live values it reads, and is then skipped (declined
    ``range`` nests are skipped too). The rest of ``fn`` runs normally, so
    values computed before a loop (``n = A.shape[0]``) are known, and
    statements outside the loops do run (they see the arrays as the skipped
    loops left them, i.e. unchanged). If ``fn`` then fails (for example
    because it reads a name that only a skipped loop would have set), the
    report keeps the nests analysed so far, gives the static analysis of the
    others, and records the error in ``"stopped"``.

    Report::

        {"function": name,
         "nests": [{"id", "line", "source", "declined", "analysed",
                    "decline" (None, or {"code", "line", "reason", "detail"}:
                    ``_records.Decline.as_dict``),
                    "loops": [...], "edges": [...], "static": {...},
                    "subscripts_in_range", "subscript_problem",
                    "subscripts_only_indirect" (the subscripts that may be
                    out of range are indirect ones, checked as native code
                    runs), "notes",
                    "predicted" (see ``predict``: what run does on each
                    device, None when the nest was not analysed)}],
         "loops": [every loop of every nest, in source order:
                   {"var", "line", "depth", "verdict" ("parallel", "sequential"
                    or "reduction"), "reasons", "edges" (those it carries),
                    "reductions", "privates", "last_private"}],
         "stopped": None or "the error that stopped fn",
         "not_analysed": None, or why fn could not be analysed at all (no
                         source, not a Python function): run() calls it as it is}

    When the dependences allow native code but no code generator takes these
    values (a NumPy function on scalars, an int that may outgrow 64 bits),
    the nest's ``decline`` says so and its loops are "sequential" with the
    reason "runs as Python: ...": what ``run`` will do.

    Lines count the ``def`` line of ``fn`` as line 1. The functions of
    ``fn``'s module that it calls outside its nests (``_callees``) are
    explained too: their nests follow ``fn``'s in "nests" and their loops
    follow in "loops", with lines counting their own ``def`` line as 1; every
    nest and loop has "function", the qualified name of the function that
    holds it. Edges: ``kind`` (flow,
    anti, output), ``src``/``dst`` (statement labels S1, S2, ...),
    ``variable``, ``src_ref``/``dst_ref``, ``direction`` such as "(=,<)",
    ``distance`` (a list, None where not constant), ``carrier`` (the loop
    variable that carries it, None when loop-independent) and ``test``.
    """
    reports: Dict[int, dict] = {}
    counts: Dict[int, int] = {}

    def hook(nest_id, env):
        counts[nest_id] = counts.get(nest_id, 0) + 1
        if nest_id in reports:
            return {}
        rec = _rewrite.NESTS.get(nest_id)
        if rec is None or rec.declined:
            return {}
        env, decline = _rewrite.bind_env(nest_id, env)
        if env is None:
            reason = decline.reason
            if reason.startswith("a name the loop reads is not defined"):
                names = ", ".join(rec.inputs)
                reason = (
                    "a value the loop reads (" + names + ") is not defined when it starts, perhaps "
                    "because explain skipped a loop that sets it"
                )
            decline = Decline(decline.code, rec.line, reason, decline.detail)
            reports[nest_id] = {"decline": decline.as_dict(), "loops": [], "edges": []}
            # A loop over a list (say) runs as Python, where the nests of its
            # body are explained in turn.
            return None if rec.over_iterable else {}
        _rewrite.restore_draws(nest_id)  # explained, not run: random numbers stay undrawn
        with _run.Trip(nest_id, env):  # the analysis and the predictions read the values once
            reports[nest_id] = _rewrite.analysis_as_shown(nest_id, env)
            reports[nest_id]["predicted"] = shown_all(predict(nest_id, env))
        if rec.over_iterable and reports[nest_id].get("decline"):
            return None  # as above: the loop over a list runs as Python
        return {}

    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "?"))
    table = _callees.Table.of(fn, hook, hook_declined=True)
    try:
        new_fn, nests = _rewrite.compile_function(fn, hook, hook_declined=True, callees=table)
    except _rewrite.NotRewritable as why:
        # Nothing can be analysed; run() calls such a function as it is.
        return {"function": name, "nests": [], "loops": [], "stopped": None, "not_analysed": str(why)}
    stopped = None
    try:
        new_fn(*args, **kwargs)
    except Exception as exc:  # the report says why the run stopped
        stopped = f"{type(exc).__name__}: {exc}"

    out_nests = []
    all_loops = []
    for rec in list(nests) + table.nests:
        entry: Dict[str, Any] = {
            "id": rec.id,
            "function": rec.function,
            "line": rec.line,
            "end_line": rec.end_line,
            "source": rec.source,
            "declined": rec.declined,
            "decline": rec.decline.as_dict() if rec.decline else None,
            "analysed": False,
            "loops": [],
            "edges": [],
            "static": rec.static,
            "subscripts_in_range": None,
            "subscript_problem": None,
            "subscripts_only_indirect": None,
            "notes": [],
            "proofs": [],
            "executions": counts.get(rec.id, 0),
            "predicted": None,
        }
        if rec.declined:
            reason = "not analysed: " + rec.decline.reason + f" (line {rec.decline.line})"
            entry["loops"] = _declined_loops(rec, reason)
        elif rec.id in reports:
            rep = reports[rec.id]
            if rep.get("decline"):
                entry["decline"] = rep["decline"]
            entry["analysed"] = not rep.get("decline")
            edges = [dict(e) for e in rep.get("edges", [])]
            entry["edges"] = edges
            entry["loops"] = [_loop_entry(l, edges) for l in rep.get("loops", [])]
            entry["subscripts_in_range"] = rep.get("subscripts_in_range")
            entry["subscript_problem"] = rep.get("subscript_problem")
            entry["subscripts_only_indirect"] = rep.get("subscripts_only_indirect")
            entry["notes"] = list(rep.get("notes", []))
            entry["proofs"] = list(rep.get("proofs", []))
            entry["predicted"] = rep.get("predicted")
            pred = entry["predicted"]
            if entry["analysed"] and pred and _python_everywhere(pred):
                # The dependences allow native code, but no code generator
                # takes these values: every device runs the loop as Python.
                why = Decline.from_engine(pred["cpu"]["decline"])
                entry["decline"] = why.as_dict()
                entry["loops"] = _declined_loops(rec, "runs as Python: " + why.reason)
            if not entry["loops"]:
                reason = Decline.from_engine(rep["decline"]).reason if rep.get("decline") else "not analysed"
                entry["loops"] = _declined_loops(rec, reason)
        else:
            why = "the function stopped before this loop" if stopped else "this loop did not run"
            reason = f"not analysed: {why}; only the static phase is known"
            entry["loops"] = _declined_loops(rec, reason)
        for l in entry["loops"]:
            l["function"] = rec.function
        out_nests.append(entry)
        all_loops.extend(entry["loops"])
    # fn's loops in source order, then those of each function it called, in call order
    order = {}
    for rec in list(nests) + table.nests:
        order.setdefault(rec.function, len(order))
    all_loops.sort(key=lambda l: (order.get(l["function"], 0), l["line"]))
    return {"function": name, "nests": out_nests, "loops": all_loops, "stopped": stopped, "not_analysed": None}
