"""Random numbers in a loop nest, drawn as Python would draw them.

``x = random.random()`` in a Monte Carlo loop is a call with an effect: it
advances the generator. Yet the numbers a loop draws are known before it runs
when every draw is unconditional: the generator is Python's (``random``) or
NumPy's legacy global one (``np.random``), the order is the loops' order, and
the count is the product of the trip counts. So, staged like the rest of the
engine:

- when the nest is registered, each draw in the copy the front end reads is
  replaced by an element of a hidden array (``float($draws_py[k])``, its
  index computed from the loop counters, ``DrawPlan``);
- when it is about to run (``_rewrite.bind_env``), the numbers are drawn from
  the user's own generator, in Python's order (``draw``), and the generator's
  state before the draws is kept;
- if the loop then runs as Python after all (a decline, a trap), the state is
  put back first (``restore``), so Python draws the same numbers itself;
  after a native run the generator is where Python would have left it.

Since the numbers do not depend on the order the iterations run in, the loop
can still run in parallel. Supported: ``random.random()``,
``random.uniform(a, b)`` (``a + (b - a) * random()``, as CPython computes
it), ``np.random.random()``, ``np.random.rand()``, ``np.random.random_sample()``
and ``np.random.uniform(a, b)`` (``a + (b - a) * random_sample()`` in
doubles, as NumPy computes it); each is a Python float, as Python's are.
A draw under a condition, in a loop whose trip count depends on an enclosing
loop, or in more than one loop body declines with a sentence.
"""

import ast
import copy
import random
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy

MAX_DRAWS = 50_000_000
# The generators, as they were when Loopscope was imported: a draw site is
# checked by identity to be one of these functions.
_PY = {"random": random.random, "uniform": random.uniform}
_NP = {
    "random": numpy.random.random,
    "rand": numpy.random.rand,
    "random_sample": numpy.random.random_sample,
    "uniform": numpy.random.uniform,
}
ARRAY = {"py": "$draws_py", "np": "$draws_np"}  # hidden inputs (never Python names)
TRIPS = "$trips_"  # hidden inputs: the trip counts of the loops around the draws


class NotDrawable(Exception):
    """Random numbers the engine cannot draw beforehand; a sentence."""


@dataclass
class DrawPlan:
    """What a nest draws per iteration of the loop that draws: ``sites`` of
    Python's generator and of NumPy's, and the ``range()`` arguments of that
    loop and the loops around it (outermost first), compiled to compute their
    trip counts when the nest runs."""

    sites: Dict[str, int] = field(default_factory=dict)  # "py"/"np" -> draws per iteration
    ranges: List[List[object]] = field(default_factory=list)  # compiled range() arguments per loop
    # The names the draw sites use for the generators (`random`, `np`), which
    # must still be those modules when the nest runs.
    modules: Dict[str, object] = field(default_factory=dict)


def _site(call) -> Optional[Tuple[str, str, str]]:
    """``(generator, function, module name)`` of a draw, or None."""
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    f = call.func
    if not isinstance(f, ast.Attribute):
        return None
    if isinstance(f.value, ast.Name) and f.value.id == "random" and f.attr in _PY:
        return "py", f.attr, "random"
    v = f.value
    if (
        isinstance(v, ast.Attribute)
        and v.attr == "random"
        and isinstance(v.value, ast.Name)
        and v.value.id in ("np", "numpy")
        and f.attr in _NP
    ):
        return "np", f.attr, v.value.id
    return None


def _draws_in(e) -> List[ast.Call]:
    """The draw calls of an expression, in the order Python makes them."""
    found: List[ast.Call] = []

    def visit(n):
        if isinstance(n, (ast.BoolOp, ast.IfExp)):
            if any(_site(c) for c in ast.walk(n)):
                raise NotDrawable("a random number is drawn inside a conditional expression")
        if isinstance(n, ast.Call):
            for a in n.args:
                visit(a)
            if _site(n):
                found.append(n)
            return
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(e)
    return found


def _stmt_draws(s) -> List[ast.Call]:
    if isinstance(s, ast.Assign):
        return _draws_in(s.value) + [c for t in s.targets for c in _draws_in(t)]
    if isinstance(s, ast.AugAssign):
        return _draws_in(s.target) + _draws_in(s.value)
    return []


def _path(root, target) -> list:
    """The statements from ``root`` down to ``target``, both included."""
    if root is target:
        return [root]
    for c in getattr(root, "body", []) + getattr(root, "orelse", []):
        below = _path(c, target)
        if below:
            return [root] + below
    return []


def plan(node: ast.For) -> Tuple[ast.For, Optional[DrawPlan]]:
    """``(a copy of node with its draws replaced, plan)``; ``(node, None)``
    when it draws nothing. Raises NotDrawable."""
    if not any(_site(n) for n in ast.walk(node)):
        return node, None
    if any(isinstance(n, (ast.Break, ast.Continue)) for n in ast.walk(node)):
        raise NotDrawable(
            "a loop of the nest may stop early or skip the rest of an iteration (break, continue), "
            "so how many random numbers are drawn depends on the values"
        )
    node = copy.deepcopy(node)
    assigned = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # The one loop whose body holds every draw, directly.
    holder = None
    for n in ast.walk(node):
        if isinstance(n, ast.For):
            for s in n.body:
                if isinstance(s, (ast.Assign, ast.AugAssign)) and _stmt_draws(s):
                    if holder is not None and holder is not n:
                        raise NotDrawable("random numbers are drawn in more than one loop of the nest")
                    holder = n
    counted = sum(len(_stmt_draws(s)) for s in holder.body) if holder else 0
    if holder is None or counted != sum(1 for n in ast.walk(node) if _site(n)):
        raise NotDrawable("a random number is drawn under a condition, so how many are drawn depends on the values")
    path = _path(node, holder)
    chain: List[ast.For] = [n for n in path if isinstance(n, ast.For)]
    if any(not isinstance(n, ast.For) for n in path):
        raise NotDrawable("a random number is drawn under a condition, so how many are drawn depends on the values")
    loop_vars = {f.target.id for f in chain if isinstance(f.target, ast.Name)}
    result = DrawPlan()
    for f in chain:
        if not (isinstance(f.iter, ast.Call) and isinstance(f.iter.func, ast.Name) and f.iter.func.id == "range"):
            raise NotDrawable("random numbers are drawn in a loop that does not count over a range")
        names = {n.id for a in f.iter.args for n in ast.walk(a) if isinstance(n, ast.Name)}
        if names & (loop_vars | assigned) or any(n.startswith("$") for n in names):
            raise NotDrawable(
                f"random numbers are drawn in loop {f.target.id}, whose trip count changes inside the nest"
            )
        result.ranges.append([compile(ast.Expression(a), "<range>", "eval") for a in f.iter.args])
    # Each draw becomes an element: index = flat iteration number * draws per
    # iteration + the draw's place in the iteration.
    sites: Dict[str, List[ast.Call]] = {"py": [], "np": []}
    for s in holder.body:
        for c in _stmt_draws(s):
            gen, _, mod = _site(c)
            sites[gen].append(c)
            result.modules[mod] = random if gen == "py" else numpy
    result.sites = {g: len(cs) for g, cs in sites.items() if cs}
    flat = None
    for k, f in enumerate(chain):
        args = f.iter.args
        start, step = (args[0], args[2] if len(args) == 3 else ast.Constant(1)) if len(args) > 1 else (None, None)
        counter = ast.Name(f.target.id, ast.Load())
        if start is not None:
            counter = ast.BinOp(ast.BinOp(counter, ast.Sub(), start), ast.FloorDiv(), step)
        flat = counter if flat is None else ast.BinOp(ast.BinOp(flat, ast.Mult(), _trips(k)), ast.Add(), counter)
    replacements = {}
    for gen, calls in sites.items():
        per = len(calls)
        for place, c in enumerate(calls):
            index = ast.BinOp(ast.BinOp(flat, ast.Mult(), ast.Constant(per)), ast.Add(), ast.Constant(place))
            u = ast.Call(
                ast.Name("float", ast.Load()), [ast.Subscript(ast.Name(ARRAY[gen], ast.Load()), index, ast.Load())], []
            )
            replacements[id(c)] = _value(c, gen, u)

    class Replace(ast.NodeTransformer):
        def visit_Call(self, n):
            self.generic_visit(n)
            new = replacements.get(id(n))
            return ast.copy_location(new, n) if new is not None else n

    new = Replace().visit(node)
    return ast.fix_missing_locations(new), result


def _trips(k: int) -> ast.expr:
    return ast.Name(f"{TRIPS}{k}", ast.Load())


def _value(call, gen, u) -> ast.expr:
    """The drawn value: ``u`` or ``a + (b - a) * u`` for ``uniform``."""
    _, fn, _ = _site(call)
    if fn != "uniform":
        if call.args:
            raise NotDrawable(f"{ast.unparse(call)} draws an array of numbers, not one")
        return u
    if len(call.args) != 2:
        raise NotDrawable(f"{ast.unparse(call)} needs its two bounds, given by position")
    a, b = call.args
    if gen == "np":  # NumPy computes in doubles
        a, b = (ast.Call(ast.Name("float", ast.Load()), [x], []) for x in (a, b))
    return ast.BinOp(a, ast.Add(), ast.BinOp(ast.BinOp(b, ast.Sub(), a), ast.Mult(), u))


def hidden_inputs(draw_plan: DrawPlan) -> set:
    """The hidden inputs ``draw`` provides."""
    names = {ARRAY[g] for g in draw_plan.sites}
    names |= {f"{TRIPS}{k}" for k in range(len(draw_plan.ranges))}
    return names


# --- when the nest runs -------------------------------------------------------------------

_UNDO = threading.local()  # per thread: the states to put back if Python runs the loop


_BOUND_BUILTINS = {"len": len, "min": min, "max": max, "abs": abs, "int": int, "range": range}


def draw(draw_plan: DrawPlan, env: dict) -> Optional[str]:
    """Adds the drawn numbers and trip counts to ``env``, drawing them from
    the user's generators (the names of their modules were checked by
    ``_rewrite``); None, or why the numbers cannot be drawn."""
    if draw_plan.sites.get("py") and (random.random is not _PY["random"] or random.uniform is not _PY["uniform"]):
        return "random.random has been replaced, so the loop runs as plain Python to call it"
    for fn, original in _NP.items():
        if draw_plan.sites.get("np") and getattr(numpy.random, fn, None) is not original:
            return f"np.random.{fn} has been replaced, so the loop runs as plain Python to call it"
    trips = []
    try:
        for args in draw_plan.ranges:
            values = [eval(c, {"__builtins__": _BOUND_BUILTINS}, env) for c in args]  # noqa: S307 (range arguments)
            trips.append(len(range(*values)))
    except Exception:
        return "the bounds of the loops that draw random numbers could not be read before the loop"
    count = 1
    for k, t in enumerate(trips):
        env[f"{TRIPS}{k}"] = t
        count *= t
    undo = []
    for gen, per in draw_plan.sites.items():
        total = count * per
        if total > MAX_DRAWS:
            restore_states(undo)
            return f"the loop draws {total} random numbers, too many to draw before it runs"
        if gen == "py":
            undo.append((random.setstate, random.getstate()))
            r = _PY["random"]
            env[ARRAY[gen]] = numpy.fromiter((r() for _ in range(total)), dtype=numpy.float64, count=total)
        else:
            undo.append((numpy.random.set_state, numpy.random.get_state()))
            env[ARRAY[gen]] = numpy.asarray(_NP["random_sample"](total), dtype=numpy.float64).reshape(total)
    _UNDO.states = undo  # one nest's draws at a time (an interrupted run's are forgotten)
    return None


def restore_states(undo):
    for setstate, state in reversed(undo):
        setstate(state)


def restore():
    """The loop runs as Python after all: the generators go back to the
    states before the draws."""
    undo = getattr(_UNDO, "states", None)
    _UNDO.states = []
    if undo:
        restore_states(undo)


def keep():
    """The loop ran natively: the generators stay where the draws left them."""
    _UNDO.states = []
