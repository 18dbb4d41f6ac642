"""Estimates for the loop nests of a Python function, collected through the
rewriter's hook (see loopscope._rewrite): ``loopscope.estimate``."""

from . import _callees, _cost, _rewrite, _run
from ._records import shown_all


def estimate_function(
    fn, args, kwargs, gpu=None, facts=None, sweep=True, run_loops=False, every_execution=False, max_estimates=None
):
    """Returns ``{"function", "nests": [estimate, ...], "stopped"}``.

    Each nest execution that reaches the hook is estimated with the live
    values it reads (``n = A.shape[0]`` before the loop is known). With
    ``run_loops=False`` (the default) the loops themselves are skipped, as
    ``loopscope.explain`` does, so nothing is computed and the arrays are left
    unchanged; with ``run_loops=True`` they run in plain Python after being
    estimated. Only the first execution of each nest is estimated unless
    ``every_execution`` is set. Each estimate carries ``nest_id``, ``line``
    (counting the ``def`` line of its function as 1), ``function`` (the
    qualified name of that function: ``fn``, or a function of its module
    that it calls outside its nests, whose nests are estimated too) and
    ``executions``."""
    estimates = []
    seen = {}

    def hook(nest_id, env):
        seen[nest_id] = seen.get(nest_id, 0) + 1
        rec = _rewrite.NESTS.get(nest_id)
        skip = None if run_loops else {}
        if rec is None or rec.declined:
            return skip
        env, _reason = _rewrite.bind_env(nest_id, env)
        if env is None:
            return skip
        _rewrite.restore_draws(nest_id)  # estimated, not run natively: Python draws its own numbers
        if seen[nest_id] > 1 and not every_execution:
            return skip
        if max_estimates is not None and seen[nest_id] > max_estimates:
            return skip
        with _run.Trip(nest_id, env):  # the facts and the estimate read the values once
            e = _cost.estimate_nest(nest_id, env, gpu=gpu, facts=facts, sweep=sweep)
        e["line"] = rec.line
        e["function"] = rec.function
        e["source"] = rec.source
        estimates.append(shown_all(e))
        return skip

    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "?"))
    table = _callees.Table.of(fn, hook, hook_declined=not run_loops)
    try:
        new_fn, nests = _rewrite.compile_function(fn, hook, hook_declined=not run_loops, callees=table)
    except _rewrite.NotRewritable as why:
        return {"function": name, "nests": [], "declined": [], "stopped": None, "not_analysed": str(why)}
    stopped = None
    try:
        new_fn(*args, **kwargs)
    except Exception as exc:  # the result says why the run stopped
        stopped = f"{type(exc).__name__}: {exc}"
    for e in estimates:
        e["executions"] = seen.get(e.get("nest_id"), 0)
    declined = [
        {
            "line": r.line,
            "function": r.function,
            "reason": r.decline.reason if r.decline else "",
            "code": r.decline.code if r.decline else "",
        }
        for r in list(nests) + table.nests
        if r.declined
    ]
    return {"function": name, "nests": estimates, "declined": declined, "stopped": stopped, "not_analysed": None}


def estimate(fn, *args, gpu=None, facts=None, sweep=True, run_loops=False, **kwargs):
    """Estimates for the loop nests of ``fn(*args, **kwargs)``.

    Returns ``{"function", "nests": [estimate, ...], "declined", "stopped"}``
    (one estimate per nest, from its first execution). The loops are skipped,
    as in ``loopscope.explain``, unless ``run_loops`` is set; the rest of
    ``fn`` runs."""
    return estimate_function(fn, args, kwargs, gpu=gpu, facts=facts, sweep=sweep, run_loops=run_loops)
