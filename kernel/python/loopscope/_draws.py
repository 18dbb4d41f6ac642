"""Random numbers in a loop nest, drawn as Python would draw them.

``x = random.random()`` in a Monte Carlo loop is a call with an effect: it
advances the generator. Yet the numbers a loop draws are known before it runs
when every draw is unconditional: the generator is Python's (``random``),
NumPy's legacy global one (``np.random``) or a NumPy ``Generator`` held in a
name (``rng = np.random.default_rng(seed)``), the order is the loops' order,
and the count is the product of the trip counts. So, staged like the rest of
the engine:

- when the nest is registered, each draw in the copy the front end reads is
  replaced by an element of a hidden array, one array per draw site
  (``float($draws_k[n])``, ``n`` the flat iteration number computed from the
  loop counters, ``DrawPlan``), inside the formula the generator applies to
  it (``a + (b - a) * u`` for ``random.uniform``);
- when it is about to run (``_rewrite.bind_env``), the numbers are drawn from
  the user's own generator, in Python's order (``draw``), and the generator's
  state before the draws is kept;
- if the loop then runs as Python after all (a decline, a trap), the state is
  put back first (``restore``), so Python draws the same numbers itself;
  after a native run the generator is where Python would have left it.

Since the numbers do not depend on the order the iterations run in, the loop
can still run in parallel. A site's numbers are drawn at once where that is
Python's order (one kind of draw per generator): CPython's ``random()`` and
NumPy's legacy ``random_sample()`` are the same MT19937 and formula, so
Python's uniforms are drawn by NumPy from Python's state (``_mt_uniforms``,
checked once against CPython when the module loads). Supported, each a Python float as Python's are:

- ``random.random()``, ``random.uniform(a, b)`` (``a + (b - a) * random()``),
  ``random.gauss(mu, sigma)`` and ``random.normalvariate(mu, sigma)``
  (``mu + z * sigma``, ``z`` drawn as CPython draws it: ``gauss`` keeps the
  second number of each pair in the generator, ``gauss_next``, which the
  state afterwards holds too);
- ``np.random.random()``, ``rand()``, ``random_sample()``,
  ``standard_normal()``, ``uniform(a, b)`` and ``normal(loc, scale)``, and
  the same methods of a ``Generator`` (``rng.random()``, ...) with
  ``rng.integers(lo, hi)`` (an ``np.int64``). NumPy computes in doubles
  (``float(loc) + float(scale) * z``) and checks its arguments: those it
  checks (``uniform``'s bounds, ``normal``'s scale, ``integers``' bounds)
  must be numbers or names the nest does not assign, checked before the
  draws (an argument NumPy rejects runs the loop as Python, which raises).

A draw where it may or may not run (in a branch of an ``if``, in an operand
of ``and``/``or``, in a conditional expression, in a ``while``, in the later
comparisons of a chain), in a loop whose trip count depends on an enclosing
loop, or in more than one loop body declines with a sentence. The test of an
``if`` at the level of the loop's body runs in every iteration: a draw there
is drawn every time.
"""

import ast
import copy
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy
from ._walk import copy_tree, walk

MAX_DRAWS = 50_000_000
# The generators, as they were when Loopscope was imported: a draw site is
# checked by identity to be one of these functions.
_PY = {
    "random": random.random,
    "uniform": random.uniform,
    "gauss": random.gauss,
    "normalvariate": random.normalvariate,
}
_NP = {
    "random": numpy.random.random,
    "rand": numpy.random.rand,
    "random_sample": numpy.random.random_sample,
    "uniform": numpy.random.uniform,
    "normal": numpy.random.normal,
    "standard_normal": numpy.random.standard_normal,
}
_GENERATOR = numpy.random.Generator
_GEN = ("random", "uniform", "normal", "standard_normal", "integers")
_NOT_GENERATORS = ("random", "np", "numpy", "math")  # names never read as a Generator
ARRAY = "$draws_"  # hidden inputs (never Python names): one array per draw site
TRIPS = "$trips_"  # hidden inputs: the trip counts of the loops around the draws
GENERATOR_KEY = "$generator_"  # env keys of the Generator objects, checked by _rewrite
_TWOPI = 2.0 * math.pi
_NV_MAGICCONST = 4 * math.exp(-0.5) / math.sqrt(2.0)


class NotDrawable(Exception):
    """Random numbers the engine cannot draw beforehand; a sentence."""


@dataclass
class Site:
    """One draw: its generator ("py", "np" or "gen:<name>"), the function,
    what each value is drawn from (``source``: "u" uniform in [0, 1), "gauss",
    "normalvariate", "g" NumPy's standard normal, "integers"), and the
    arguments checked before drawing (compiled, with their text)."""

    gen: str
    fn: str
    source: str
    checked: List[Tuple[str, object]] = field(default_factory=list)


@dataclass
class DrawPlan:
    """What a nest draws per iteration of the loop that draws: its ``sites``
    in Python's order, and the ``range()`` arguments of that loop and the
    loops around it (outermost first), compiled to compute their trip counts
    when the nest runs."""

    sites: List[Site] = field(default_factory=list)
    ranges: List[List[object]] = field(default_factory=list)  # compiled range() arguments per loop
    # The names the draw sites use for the generators (`random`, `np`), which
    # must still be those modules when the nest runs.
    modules: Dict[str, object] = field(default_factory=dict)
    # The names holding a NumPy Generator (`rng`), checked when the nest runs.
    generators: List[str] = field(default_factory=list)
    # The names the checked arguments read, loaded before the loop.
    names: List[str] = field(default_factory=list)


def _site(call) -> Optional[Tuple[str, str, str]]:
    """``(generator, function, module or generator name)`` of a draw, or None."""
    if not isinstance(call, ast.Call) or call.keywords:
        return None
    f = call.func
    if not isinstance(f, ast.Attribute):
        return None
    v = f.value
    if isinstance(v, ast.Name) and v.id == "random" and f.attr in _PY:
        return "py", f.attr, "random"
    if (
        isinstance(v, ast.Attribute)
        and v.attr == "random"
        and isinstance(v.value, ast.Name)
        and v.value.id in ("np", "numpy")
        and f.attr in _NP
    ):
        return "np", f.attr, v.value.id
    if isinstance(v, ast.Name) and v.id not in _NOT_GENERATORS and not v.id.startswith("$") and f.attr in _GEN:
        return "gen:" + v.id, f.attr, v.id
    return None


def _draws_in(e) -> List[ast.Call]:
    """The draw calls of an expression, in the order Python makes them."""
    found: List[ast.Call] = []

    def has_draw(n):
        return any(_site(c) for c in walk(n))

    def visit(n):
        if isinstance(n, (ast.BoolOp, ast.IfExp)) and has_draw(n):
            raise NotDrawable("a random number is drawn inside a conditional expression (and, or, if-else)")
        if isinstance(n, ast.Compare) and len(n.ops) > 1 and any(has_draw(c) for c in n.comparators[1:]):
            raise NotDrawable(
                "a random number is drawn in a later comparison of a chain (a < b < c), "
                "which Python evaluates only when the first one holds"
            )
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and has_draw(n):
            raise NotDrawable("a random number is drawn inside a comprehension or a lambda")
        if isinstance(n, ast.Call):
            if _site(n) and any(has_draw(a) for a in n.args):
                raise NotDrawable(f"{ast.unparse(n)} draws its arguments from a generator too")
            visit(n.func)
            for a in n.args:
                visit(a)
            for k in n.keywords:
                visit(k.value)
            if _site(n):
                found.append(n)
            return
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(e)
    return found


def _stmt_draws(s) -> List[ast.Call]:
    """The draws a statement of a loop's body makes in every iteration: its
    value and targets, or the test of an ``if``."""
    if isinstance(s, ast.Assign):
        return _draws_in(s.value) + [c for t in s.targets for c in _draws_in(t)]
    if isinstance(s, ast.AugAssign):
        return _draws_in(s.target) + _draws_in(s.value)
    if isinstance(s, ast.If):
        return _draws_in(s.test)
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


UNDER_A_CONDITION = "a random number is drawn under a condition, so how many are drawn depends on the values"


def plan(node: ast.For) -> Tuple[ast.For, Optional[DrawPlan]]:
    """``(a copy of node with its draws replaced, plan)``; ``(node, None)``
    when it draws nothing. Raises NotDrawable."""
    if not any(_site(n) for n in walk(node)):
        return node, None
    if any(isinstance(n, (ast.Break, ast.Continue)) for n in walk(node)):
        raise NotDrawable(
            "a loop of the nest may stop early or skip the rest of an iteration (break, continue), "
            "so how many random numbers are drawn depends on the values"
        )
    node = copy_tree(node)
    assigned = {n.id for n in walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # The one loop whose body holds every draw, directly.
    holder = None
    for n in walk(node):
        if isinstance(n, ast.For):
            for s in n.body:
                if _stmt_draws(s):
                    if holder is not None and holder is not n:
                        raise NotDrawable("random numbers are drawn in more than one loop of the nest")
                    holder = n
    counted = sum(len(_stmt_draws(s)) for s in holder.body) if holder else 0
    if holder is None or counted != sum(1 for n in walk(node) if _site(n)):
        raise NotDrawable(UNDER_A_CONDITION)
    path = _path(node, holder)
    chain: List[ast.For] = [n for n in path if isinstance(n, ast.For)]
    if any(not isinstance(n, ast.For) or n.orelse for n in path):
        raise NotDrawable(UNDER_A_CONDITION)
    loop_vars = {f.target.id for f in chain if isinstance(f.target, ast.Name)}
    result = DrawPlan()
    for f in chain:
        if not (isinstance(f.iter, ast.Call) and isinstance(f.iter.func, ast.Name) and f.iter.func.id == "range"):
            raise NotDrawable("random numbers are drawn in a loop that does not count over a range")
        names = {n.id for a in f.iter.args for n in walk(a) if isinstance(n, ast.Name)}
        if names & (loop_vars | assigned) or any(n.startswith("$") for n in names):
            raise NotDrawable(
                f"random numbers are drawn in loop {f.target.id}, whose trip count changes inside the nest"
            )
        result.ranges.append([compile(ast.Expression(a), "<range>", "eval") for a in f.iter.args])
    flat = None
    for k, f in enumerate(chain):
        args = f.iter.args
        start, step = (args[0], args[2] if len(args) == 3 else ast.Constant(1)) if len(args) > 1 else (None, None)
        counter = ast.Name(f.target.id, ast.Load())
        if start is not None:
            counter = ast.BinOp(ast.BinOp(counter, ast.Sub(), start), ast.FloorDiv(), step)
        flat = counter if flat is None else ast.BinOp(ast.BinOp(flat, ast.Mult(), _trips(k)), ast.Add(), counter)
    # Each draw becomes an element of its site's array, at the flat
    # iteration number.
    replacements = {}
    for s in holder.body:
        for c in _stmt_draws(s):
            gen, fn, name = _site(c)
            if gen == "py":
                result.modules[name] = random
            elif gen == "np":
                result.modules[name] = numpy
            else:
                if name in assigned:
                    raise NotDrawable(f"{name} is assigned in the loop and also draws random numbers ({name}.{fn}())")
                if name not in result.generators:
                    result.generators.append(name)
            element = ast.Subscript(
                ast.Name(f"{ARRAY}{len(result.sites)}", ast.Load()), copy.deepcopy(flat), ast.Load()
            )
            site, value = _value(c, gen, fn, element, assigned)
            result.sites.append(site)
            for _, names, _ in site.checked:
                result.names.extend(n for n in names if n not in result.names)
            replacements[id(c)] = value

    class Replace(ast.NodeTransformer):
        def visit_Call(self, n):
            self.generic_visit(n)
            new = replacements.get(id(n))
            return ast.copy_location(new, n) if new is not None else n

    new = Replace().visit(node)
    return ast.fix_missing_locations(new), result


def _trips(k: int) -> ast.expr:
    return ast.Name(f"{TRIPS}{k}", ast.Load())


def _float(e) -> ast.expr:
    return ast.Call(ast.Name("float", ast.Load()), [e], [])


def _invariant(e, assigned) -> Optional[List[str]]:
    """The names an argument reads when it is a number or a name the nest
    does not assign (a value known before the loop); None otherwise."""
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        e = e.operand
    if isinstance(e, ast.Constant) and type(e.value) in (int, float, bool):
        return []
    if isinstance(e, ast.Name) and e.id not in assigned and not e.id.startswith("$"):
        return [e.id]
    return None


def _value(call, gen, fn, element, assigned) -> Tuple[Site, ast.expr]:
    """The draw site and the value Python computes from the drawn number
    ``element``."""
    args = list(call.args)
    text = ast.unparse(call)
    arity = {
        ("py", "random"): (0, 0),
        ("py", "uniform"): (2, 2),
        ("py", "gauss"): (0, 2),
        ("py", "normalvariate"): (0, 2),
        ("np", "uniform"): (0, 2),
        ("np", "normal"): (0, 2),
        ("np", "standard_normal"): (0, 0),
        ("gen", "random"): (0, 0),
        ("gen", "uniform"): (0, 2),
        ("gen", "normal"): (0, 2),
        ("gen", "standard_normal"): (0, 0),
        ("gen", "integers"): (1, 2),
    }.get(("gen" if gen.startswith("gen:") else gen, fn), (0, 0))
    if not arity[0] <= len(args) <= arity[1]:
        if len(args) > arity[1]:
            raise NotDrawable(f"{text} draws an array of numbers, or takes arguments the engine does not read")
        raise NotDrawable(f"{text} needs its arguments given by position")

    def checked(*exprs):
        out = []
        for e in exprs:
            names = _invariant(e, assigned)
            if names is None:
                raise NotDrawable(
                    f"{text}: NumPy checks {ast.unparse(e)} before it draws, so it must be a number or a name "
                    f"the loop does not assign"
                )
            out.append((ast.unparse(e), names))
        return out

    u = _float(element)
    if gen == "py":
        if fn == "random":
            return Site(gen, fn, "u"), u
        if fn == "uniform":
            a, b = args
            return Site(gen, fn, "u"), ast.BinOp(a, ast.Add(), ast.BinOp(ast.BinOp(b, ast.Sub(), a), ast.Mult(), u))
        mu, sigma = (args + [ast.Constant(0.0), ast.Constant(1.0)][len(args) :])[:2]
        return Site(gen, fn, fn), ast.BinOp(mu, ast.Add(), ast.BinOp(u, ast.Mult(), sigma))
    # NumPy: arguments as doubles, checked before drawing.
    if fn in ("random", "rand", "random_sample"):
        return Site(gen, fn, "u"), u
    if fn == "standard_normal":
        return Site(gen, fn, "g"), u
    if fn == "uniform":
        a, b = (args + [ast.Constant(0.0), ast.Constant(1.0)][len(args) :])[:2]
        site = Site(gen, fn, "u", _compiled(checked(a, b)))
        fa, fb = _float(a), _float(b)
        return site, ast.BinOp(fa, ast.Add(), ast.BinOp(ast.BinOp(fb, ast.Sub(), _float(a)), ast.Mult(), u))
    if fn == "normal":
        loc, scale = (args + [ast.Constant(0.0), ast.Constant(1.0)][len(args) :])[:2]
        site = Site(gen, fn, "g", _compiled(checked(scale)))
        return site, ast.BinOp(_float(loc), ast.Add(), ast.BinOp(_float(scale), ast.Mult(), u))
    # integers(lo, hi): drawn whole before the loop, an np.int64.
    return Site(gen, fn, "integers", _compiled(checked(*args))), element


def _compiled(checked):
    return [(text, names, compile(text, "<argument>", "eval")) for text, names in checked]


def hidden_inputs(draw_plan: DrawPlan) -> set:
    """The hidden inputs ``draw`` provides."""
    names = {f"{ARRAY}{k}" for k in range(len(draw_plan.sites))}
    names |= {f"{TRIPS}{k}" for k in range(len(draw_plan.ranges))}
    return names


# --- when the nest runs -------------------------------------------------------------------

_UNDO = threading.local()  # per thread: the states to put back if Python runs the loop


_BOUND_BUILTINS = {"len": len, "min": min, "max": max, "abs": abs, "int": int, "range": range}


def _gauss(inst, r):
    """CPython's ``Random.gauss`` with mu 0 and sigma 1: ``z``."""
    z = inst.gauss_next
    inst.gauss_next = None
    if z is None:
        x2pi = r() * _TWOPI
        g2rad = math.sqrt(-2.0 * math.log(1.0 - r()))
        z = math.cos(x2pi) * g2rad
        inst.gauss_next = math.sin(x2pi) * g2rad
    return z


def _mt_uniforms(inst, n: int) -> numpy.ndarray:
    """``n`` values of ``inst.random()``, drawn at once: CPython's Random and
    NumPy's legacy RandomState are the same MT19937 with the same 53-bit
    formula, so NumPy draws them from Python's state, which then goes back
    to Python advanced as ``n`` calls would leave it (``gauss_next`` kept)."""
    version, internal, gauss_next = inst.getstate()
    rs = numpy.random.RandomState()
    rs.set_state(("MT19937", numpy.array(internal[:-1], dtype=numpy.uint32), internal[-1]))
    values = rs.random_sample(n)
    _, keys, pos, _, _ = rs.get_state()
    inst.setstate((version, tuple(int(k) for k in keys) + (int(pos),), gauss_next))
    return values


def _mt_uniforms_are_pythons() -> bool:
    """Checked once: _mt_uniforms gives CPython's numbers and state."""
    try:
        for seed, n in ((20240611, 1500), (7, 3)):
            a, b = random.Random(seed), random.Random(seed)
            b.random()
            a.random()
            want = [a.random() for _ in range(n)]
            if _mt_uniforms(b, n).tolist() != want or a.getstate() != b.getstate():
                return False
        return True
    except Exception:
        return False


_MT_UNIFORMS = _mt_uniforms_are_pythons()


def _gauss_many(inst, r, n: int) -> numpy.ndarray:
    """``n`` values of ``_gauss``: the uniforms drawn at once, each pair
    turned into two normals with CPython's formula (the math module's
    functions, as random.py calls them); the second of the last pair is left
    in ``gauss_next`` as CPython leaves it."""
    z = numpy.empty(n, dtype=numpy.float64)
    k = 0
    if n and inst.gauss_next is not None:
        z[0], k = inst.gauss_next, 1
    if n:
        inst.gauss_next = None
    pairs = (n - k + 1) // 2
    u = (_mt_uniforms(inst, 2 * pairs) if _MT_UNIFORMS else numpy.array([r() for _ in range(2 * pairs)])).tolist()
    cos, sin, log, sqrt = math.cos, math.sin, math.log, math.sqrt
    for p in range(pairs):
        x2pi = u[2 * p] * _TWOPI
        g2rad = sqrt(-2.0 * log(1.0 - u[2 * p + 1]))
        z[k] = cos(x2pi) * g2rad
        second = sin(x2pi) * g2rad
        if k + 1 < n:
            z[k + 1] = second
        else:
            inst.gauss_next = second
        k += 2
    return z


def _normalvariate(r):
    """CPython's ``Random.normalvariate`` with mu 0 and sigma 1: ``z``."""
    while True:
        u1 = r()
        u2 = 1.0 - r()
        z = _NV_MAGICCONST * (u1 - 0.5) / u2
        zz = z * z / 4.0
        if zz <= -math.log(u2):
            return z


def _argument_problem(site: Site, values: list) -> Optional[str]:
    """Why NumPy would reject the checked arguments (Python then raises it)."""
    if not site.checked:
        return None
    name = "np.random" if site.gen == "np" else site.gen[4:]
    if site.fn == "uniform":
        low, high = (float(v) for v in values)
        span = high - low
        if not math.isfinite(span):
            return f"{name}.uniform's range (high - low) is not finite"
        if site.gen != "np" and span < 0:
            return f"{name}.uniform's high is below its low"
    if site.fn == "normal":
        scale = float(values[0])
        if not math.isnan(scale) and math.copysign(1.0, scale) < 0:
            return f"{name}.normal's scale is negative"
    return None


def _drawers(gen: str, sites: List[Site], env: dict, values: List[list]):
    """``(key, one, many, dtype)`` per site: what it draws from (sites with
    the same key draw from one function), a function drawing one value, one
    drawing n at once (None when only one at a time is Python's order), the
    array's dtype; and the undo entry for the generator."""
    if gen == "py":
        r = _PY["random"]
        inst = r.__self__
        undo = (random.setstate, random.getstate())
        out = []
        for s in sites:
            if s.source == "u":
                many = lambda n: numpy.fromiter((r() for _ in range(n)), numpy.float64, n)  # noqa: E731
                if _MT_UNIFORMS:
                    many = lambda n: _mt_uniforms(inst, n)  # noqa: E731
                out.append(("u", r, many, numpy.float64))
            elif s.source == "gauss":
                out.append(("gauss", lambda: _gauss(inst, r), lambda n: _gauss_many(inst, r, n), numpy.float64))
            else:
                out.append(("normalvariate", lambda: _normalvariate(r), None, numpy.float64))
        return out, undo
    if gen == "np":
        rs, sn = _NP["random_sample"], _NP["standard_normal"]
        undo = (numpy.random.set_state, numpy.random.get_state())
        return [("u", rs, rs, numpy.float64) if s.source == "u" else ("g", sn, sn, numpy.float64) for s in sites], undo
    g = env.pop(GENERATOR_KEY + gen[4:])
    bits = g.bit_generator
    undo = (lambda state: setattr(bits, "state", state), bits.state)
    out = []
    for k, (s, vals) in enumerate(zip(sites, values)):
        if s.source == "u":
            out.append(("u", g.random, g.random, numpy.float64))
        elif s.source == "g":
            out.append(("g", g.standard_normal, g.standard_normal, numpy.float64))
        else:
            one = lambda lo_hi=tuple(vals): g.integers(*lo_hi)  # noqa: E731
            many = lambda n, lo_hi=tuple(vals): g.integers(*lo_hi, size=n)  # noqa: E731
            out.append((("integers", k), one, many, numpy.int64))
    return out, undo


def draw(draw_plan: DrawPlan, env: dict) -> Optional[str]:
    """Adds the drawn numbers and trip counts to ``env``, drawing them from
    the user's generators (the names of their modules and generators were
    checked by ``_rewrite``); None, or why the numbers cannot be drawn."""
    for name in draw_plan.generators:
        if GENERATOR_KEY + name not in env:
            return f"{name} is not a NumPy Generator, so the loop runs as plain Python to draw its numbers"
    for s in draw_plan.sites:
        if s.gen == "py" and getattr(random, s.fn, None) is not _PY[s.fn]:
            return f"random.{s.fn} has been replaced, so the loop runs as plain Python to call it"
        if s.gen == "np" and getattr(numpy.random, s.fn, None) is not _NP[s.fn]:
            return f"np.random.{s.fn} has been replaced, so the loop runs as plain Python to call it"
    trips = []
    try:
        for args in draw_plan.ranges:
            values = [eval(c, {"__builtins__": _BOUND_BUILTINS}, env) for c in args]  # noqa: S307 (range arguments)
            trips.append(len(range(*values)))
    except Exception:
        return "the bounds of the loops that draw random numbers could not be read before the loop"
    values = []
    try:
        for s in draw_plan.sites:
            vals = [eval(code, {"__builtins__": {}}, env) for _, _, code in s.checked]  # noqa: S307 (names, numbers)
            problem = _argument_problem(s, vals)
            if problem is not None:
                return f"{problem}, so the loop runs as plain Python, where NumPy raises its error"
            values.append(vals)
    except Exception:
        return "the arguments of a random draw could not be read as numbers before the loop"
    count = 1
    for k, t in enumerate(trips):
        env[f"{TRIPS}{k}"] = t
        count *= t
    total = count * len(draw_plan.sites)
    if total > MAX_DRAWS:
        return f"the loop draws {total} random numbers, too many to draw before it runs"
    undo = []
    try:
        order = []  # the generators, in the order of their first draw
        for s in draw_plan.sites:
            if s.gen not in order:
                order.append(s.gen)
        for gen in order:
            ks = [k for k, s in enumerate(draw_plan.sites) if s.gen == gen]
            drawers, state = _drawers(gen, [draw_plan.sites[k] for k in ks], env, [values[k] for k in ks])
            undo.append(state)
            arrays = _draw_one_generator(drawers, count)
            for k, a in zip(ks, arrays):
                env[f"{ARRAY}{k}"] = a
    except Exception:
        restore_states(undo)
        return "the random numbers could not be drawn before the loop, so the loop runs as plain Python"
    _UNDO.states = undo  # one nest's draws at a time (an interrupted run's are forgotten)
    return None


def _draw_one_generator(drawers, count) -> List[numpy.ndarray]:
    """One generator's draws, ``count`` iterations of its sites in order."""
    per = len(drawers)
    if all(many is not None for _, _, many, _ in drawers) and len({key for key, _, _, _ in drawers}) == 1:
        # One function for every site: n at once is Python's order.
        _, _, many, dtype = drawers[0]
        flat = numpy.asarray(many(count * per), dtype=dtype).reshape(count, per)
        return [numpy.ascontiguousarray(flat[:, k]) for k in range(per)]
    arrays = [numpy.empty(count, dtype=dtype) for _, _, _, dtype in drawers]
    ones = [one for _, one, _, _ in drawers]
    for i in range(count):
        for k in range(per):
            arrays[k][i] = ones[k]()
    return arrays


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
