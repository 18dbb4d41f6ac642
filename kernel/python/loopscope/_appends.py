"""Lists built with ``append`` in a loop nest, filled after a native run.

``out.append(x[i] * x[i])`` changes a Python list, which native code does not
have. Yet when the nest uses the name ``out`` only to append to it (no read,
``len``, subscript, iteration, other method, call argument or assignment of
the name in the nest), what the list becomes is known from the appended
values and their order alone. So, staged like the rest of the engine:

- when the nest is registered (``lower``), each ``out.append(e)`` of the copy
  the front end reads becomes three statements: ``$append_value_out_k = e``,
  a store into a hidden buffer ``$appended_to_out[__loopscope_len_out__] =
  $append_value_out_k`` and ``__loopscope_len_out__ += 1`` (one buffer and
  one counter per list, one value per append statement ``k``), which the
  engine's sentences show as ``out[len(out)] = ...``. The counter makes the loops around an
  append run in order (an ordinary dependence); loops that do not append keep
  their verdicts;
- when it is about to run (``prepare``, from ``_rewrite.bind_env``), the name
  must hold a ``list`` (exactly), no two names the same list; the buffer
  holds at most the number of appends the loops around the appends can make
  (the product of their trip counts, summed over the append statements, read
  from their ``range()`` arguments before the loop); and the type of each
  appended value is the one the CPU code generator gives the hidden value
  (``_loopscope.cpu_predict``'s ``hidden_kinds``: the engine's own typing of
  Python and NumPy scalars), which chooses the buffer's dtype and how its
  elements become Python objects again: a Python int, float or bool through
  ``tolist()``, a NumPy scalar as the buffer's own scalar type;
- after a native run (``commit``) the list is extended (never replaced) with
  the buffer's first ``__loopscope_len_out__`` values; if the run stopped (a trap, an
  exception Python must raise, an interrupt) or the nest ran as Python, the
  list was never touched and Python appends to it itself (``discard``).

A store past the buffer's end (it cannot happen while the bound holds) is a
subscript check of native code, which stops the run: Python then runs.

An append inside a ``while`` loop (``while n != 1: seq.append(n)`` in a
``for``) has no trip count to bound it: its buffer holds the product of the
trip counts of the ``for`` loops around it times a factor per append
statement (``AppendPlan.factors``), ``WHILE_GUESS`` at the first run. A run
that stops before its end (the buffer was too small, or any other trap)
doubles the factor for the next run (``discard``), up to ``MAX_FACTOR``;
the stopped run itself is re-run by Python, which appends as it always
does. So the appends are exactly Python's in every case, and a loop whose
values fit runs natively from the run after the one that taught the size.
"""

import ast
import itertools
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy

from . import _records
from ._walk import copy_tree, parent_map, walk

BUFFER = "$appended_to_"  # + the list's name: hidden input array, the values appended to it
# + the list's name + "__": how many values were appended to it, an input and
# output of the nest. Not a hidden name (the engine keeps no value of those
# after the nest), but a name no user writes, like _rotations.STATE, shown as
# len(name) (_records.shown); never written back to a Python name.
COUNT = _records.APPENDED_COUNT
VALUE = "$append_value_"  # + the list's name + "_" + k: hidden scalar, the value of append statement k


def buffer_name(name: str) -> str:
    return BUFFER + name


def count_name(name: str) -> str:
    return COUNT + name + "__"


# At most this many bytes of buffers per nest: a bound beyond it runs as Python.
MAX_BYTES = 1 << 31
# An append inside a while loop: values kept aside per trip of the for loops
# around it at the first run, and at most (doubled after each stopped run).
WHILE_GUESS = 64
MAX_FACTOR = 1 << 16
_MODULES = ("np", "numpy", "math", "random")
# The buffers' dtypes cpu_predict is asked with when those of the last run decline.
_QUERY_DTYPES = tuple(numpy.dtype(t) for t in (numpy.float64, numpy.complex128, numpy.int64, numpy.uint64))
_BOUND_BUILTINS = {"len": len, "min": min, "max": max, "abs": abs, "int": int, "range": range}

# kind code of the engine (jit/src/cpu_types.hpp:kind_code) -> (dtype, Python
# objects through tolist(), what a sentence calls it)
_KINDS = {
    0: (numpy.int64, True, "int"),
    1: (numpy.float64, True, "float"),
    2: (numpy.bool_, True, "bool"),
    3: (numpy.float64, False, "np.float64"),
    4: (numpy.float32, False, "np.float32"),
    5: (numpy.int64, False, "np.int64"),
    6: (numpy.int32, False, "np.int32"),
    7: (numpy.bool_, False, "np.bool_"),
    8: (numpy.uint8, False, "np.uint8"),
    9: (numpy.int8, False, "np.int8"),
    10: (numpy.uint16, False, "np.uint16"),
    11: (numpy.int16, False, "np.int16"),
    12: (numpy.uint32, False, "np.uint32"),
    13: (numpy.complex128, True, "complex"),
    14: (numpy.complex128, False, "np.complex128"),
    15: (numpy.complex64, False, "np.complex64"),
    16: (numpy.uint64, False, "np.uint64"),
    17: (numpy.float16, False, "np.float16"),
}
_KINDS = {k: (numpy.dtype(t), py, text) for k, (t, py, text) in _KINDS.items()}


@dataclass
class AppendPlan:
    """The lists a nest appends to (``lists``, in order of first append), and
    per append statement its list (``sites``: index into ``lists``), its line,
    and the ``range()`` arguments of the loops around it (compiled, to count
    their trips when the nest runs)."""

    lists: List[str] = field(default_factory=list)
    sites: List[int] = field(default_factory=list)
    lines: List[int] = field(default_factory=list)
    # per append statement, per loop around it (outermost first): its variable,
    # its compiled range() arguments, and the variables of the loops around
    # it those read
    ranges: List[List[Tuple[str, List[object], List[str]]]] = field(default_factory=list)
    kinds_seen: Dict[int, int] = field(default_factory=dict)  # site -> kind of the last run (dtype guess)
    # site -> the factor of its buffer for the while loop(s) around it (only
    # the sites inside a while): doubled after a run that stopped
    factors: Dict[int, int] = field(default_factory=dict)
    names: List[str] = field(default_factory=list)  # the names those range() arguments read
    # The engine's kinds of the values for the types of the inputs (_signature).
    kinds_by_signature: Dict[tuple, Dict[str, int]] = field(default_factory=dict)


def hidden_inputs(plan: AppendPlan) -> set:
    """The hidden names ``prepare`` provides (and the counters the nest returns)."""
    return {buffer_name(n) for n in plan.lists} | {count_name(n) for n in plan.lists}


def _is_append(stmt) -> Optional[str]:
    """The name ``n`` of a statement ``n.append(e)`` (one plain argument)."""
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return None
    call = stmt.value
    f = call.func
    if not (isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name)):
        return None
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return None
    return f.value.id


def _use(name: str, node: ast.Name, parents) -> str:
    """How the nest uses ``name`` at ``node``, for a sentence."""
    p = parents.get(id(node))
    if isinstance(node.ctx, (ast.Store, ast.Del)):
        return f"it is assigned in the loop ({name} = ...)"
    if isinstance(p, ast.For) and p.iter is node:
        return f"the loop reads it (for {ast.unparse(p.target)} in {name})"
    if isinstance(p, ast.comprehension) and p.iter is node:
        return f"the loop reads it (for {ast.unparse(p.target)} in {name})"
    if isinstance(p, ast.Attribute):
        call = parents.get(id(p))
        text = ast.unparse(call if isinstance(call, ast.Call) and call.func is p else p)
        return f"the loop uses it otherwise ({text})"
    if isinstance(p, ast.Call) and name in [a.id for a in p.args if isinstance(a, ast.Name)]:
        if _is_append(parents.get(id(p))) is not None:
            return f"it is appended to a list ({ast.unparse(p)})"
        return f"the loop reads it ({ast.unparse(p)})"
    if p is not None and not isinstance(p, (ast.stmt,)):
        return f"the loop reads it ({ast.unparse(p)})"
    return "the loop reads it"


def _container(value) -> Optional[str]:
    """What ``value`` is when it is no number: "a tuple", "a string", ..."""
    kinds = {
        ast.Tuple: "a tuple",
        ast.List: "a list",
        ast.ListComp: "a list",
        ast.Dict: "a dict",
        ast.DictComp: "a dict",
        ast.Set: "a set",
        ast.SetComp: "a set",
        ast.GeneratorExp: "a generator",
        ast.JoinedStr: "a string",
        ast.Lambda: "a function",
    }
    if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)):
        return "a string"
    if isinstance(value, ast.Constant) and value.value is None:
        return "None"
    return kinds.get(type(value))


def why_not(tree, name: str) -> Optional[str]:
    """Why the appends to ``name`` in ``tree`` (the nest as written) cannot
    wait until the loop ends; None when they can."""
    parents = parent_map(tree)
    appends = set()
    for n in walk(tree):
        if _is_append(n) == name:
            appends.add(id(n.value.func.value))
            value = n.value.args[0]
            text = ast.unparse(n.value)
            if isinstance(value, ast.Name) and value.id == name:
                return (
                    f"{text} appends the list {name} to itself, which native code cannot hold: the loop runs "
                    f"as plain Python"
                )
            what = _container(value)
            if what is not None:
                return (
                    f"{text} appends {what} to {name}, which native code cannot hold (it appends numbers): the "
                    f"loop runs as plain Python"
                )
    for n in walk(tree):
        if isinstance(n, ast.Name) and n.id == name and id(n) not in appends:
            return (
                f"{name} is built with {name}.append in the loop, and {_use(name, n, parents)}, so the "
                f"appends cannot wait until the loop ends: the loop runs as plain Python (native code "
                f"turns appends into a list only where the loop does nothing else with it)"
            )
    return None


def lower(original, lowered) -> Tuple[object, Optional[AppendPlan], Dict[str, str]]:
    """``(the lowered copy with the appends of accepted lists made hidden
    stores, their AppendPlan or None, {name: why not} for the others)``.
    ``original`` is the nest as written (for the sentences), ``lowered`` the
    front end's copy so far."""
    names = []
    for n in walk(lowered):
        name = _is_append(n)
        if name is not None and name not in names and name not in _MODULES:
            names.append(name)
    if not names:
        return lowered, None, {}
    refused = {}
    accepted = []
    assigned = {n.id for n in walk(lowered) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    for name in names:
        why = why_not(original, name) or why_not(lowered, name)
        if why is None:
            accepted.append(name)
        else:
            refused[name] = why
    if not accepted:
        return lowered, None, refused
    tree = copy_tree(lowered)
    plan = AppendPlan(lists=[])
    loop_vars = {n.target.id for n in walk(tree) if isinstance(n, ast.For) and isinstance(n.target, ast.Name)}

    def visit(body: list, loops: List[ast.For], in_while: bool) -> Optional[str]:
        k = 0
        while k < len(body):
            s = body[k]
            name = _is_append(s)
            if name in accepted:
                ranges = []
                for f in loops:
                    it = f.iter
                    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"):
                        return f"{name}.append runs in a loop that is not over a range"
                    if it.keywords or any(isinstance(a, ast.Starred) for a in it.args):
                        return f"{name}.append runs in a loop whose range() has star or keyword arguments"
                    used = {m.id for a in it.args for m in walk(a) if isinstance(m, ast.Name)}
                    # The variables of the loops around it, in affine bounds
                    # (range(i), range(i + 1, n)): bounded at the corners of
                    # their own ranges when the nest runs (_bound).
                    outer = [g.target.id for g in loops[: loops.index(f)] if isinstance(g.target, ast.Name)]
                    deps = sorted(used & set(outer))
                    step_deps = len(it.args) == 3 and any(
                        isinstance(m, ast.Name) and m.id in deps for m in walk(it.args[2])
                    )
                    if (
                        (used - set(deps)) & (loop_vars | assigned)
                        or any(u.startswith("$") for u in used)
                        or step_deps
                        or not all(_affine(a, set(deps)) for a in it.args)
                    ):
                        return (
                            f"{name}.append runs in the loop at line {f.lineno}, whose bounds change while the "
                            f"nest runs, so how many values are appended to {name} is not known before the "
                            f"loop: the loop runs as plain Python"
                        )
                    var = f.target.id if isinstance(f.target, ast.Name) else ""
                    ranges.append((var, [compile(ast.Expression(a), "<range>", "eval") for a in it.args], deps))
                    plan.names.extend(sorted(u for u in used if u not in plan.names and u not in deps))
                if name not in plan.lists:
                    plan.lists.append(name)
                j = plan.lists.index(name)
                site = len(plan.sites)
                if in_while:
                    plan.factors[site] = WHILE_GUESS
                plan.sites.append(j)
                plan.lines.append(s.lineno)
                plan.ranges.append(ranges)
                value = f"{VALUE}{name}_{site}"
                _records.show_hidden_as(value, f"the value appended to {name}")
                _records.show_hidden_as(buffer_name(name), name)
                new = [
                    ast.Assign(targets=[ast.Name(value, ast.Store())], value=s.value.args[0]),
                    ast.Assign(
                        targets=[
                            ast.Subscript(
                                value=ast.Name(buffer_name(name), ast.Load()),
                                slice=ast.Name(count_name(name), ast.Load()),
                                ctx=ast.Store(),
                            )
                        ],
                        value=ast.Name(value, ast.Load()),
                    ),
                    ast.AugAssign(target=ast.Name(count_name(name), ast.Store()), op=ast.Add(), value=ast.Constant(1)),
                ]
                for m in new:
                    ast.copy_location(m, s)
                    for c in walk(m):
                        if not hasattr(c, "lineno") or getattr(c, "lineno", None) is None:
                            ast.copy_location(c, s)
                body[k : k + 1] = new
                k += len(new)
                continue
            if isinstance(s, ast.For):
                why = visit(s.body, loops + [s], in_while) or visit(s.orelse, loops, in_while)
            elif isinstance(s, ast.While):
                why = visit(s.body, loops, True) or visit(s.orelse, loops, in_while)
            elif isinstance(s, ast.If):
                why = visit(s.body, loops, in_while) or visit(s.orelse, loops, in_while)
            else:
                why = None
                for n in walk(s):
                    if _is_append(n) in accepted:
                        why = f"{_is_append(n)}.append is in a statement the analysis does not follow"
            if why is not None:
                return why
            k += 1
        return None

    why = visit([tree], [], False)
    if why is not None:
        for name in accepted:
            refused.setdefault(name, why)
        return lowered, None, refused
    ast.fix_missing_locations(tree)
    return tree, plan, refused


# --- when the nest runs -------------------------------------------------------------------

_PENDING = threading.local()  # per thread: nest id -> the lists to extend after a native run


def _pending() -> dict:
    d = getattr(_PENDING, "d", None)
    if d is None:
        d = _PENDING.d = {}
    return d


def _affine(e, variables: set) -> bool:
    """``e`` reads none of ``variables``, or is affine in them (``+``,
    ``-``, products with a factor that reads none of them)."""
    if not any(isinstance(m, ast.Name) and m.id in variables for m in walk(e)):
        return True
    if isinstance(e, ast.Name):
        return True
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        return _affine(e.operand, variables)
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub)):
        return _affine(e.left, variables) and _affine(e.right, variables)
    if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mult):
        return (not _reads(e.right, variables) and _affine(e.left, variables)) or (
            not _reads(e.left, variables) and _affine(e.right, variables)
        )
    return False


def _reads(e, variables: set) -> bool:
    return any(isinstance(m, ast.Name) and m.id in variables for m in walk(e))


def _bound(ranges, env: dict) -> int:
    """How many times a statement inside these loops (outermost first) can
    run at most: the product of their largest trip counts. A loop whose
    bounds read the variables of loops around it (affine in them) is
    counted at the corners of their ranges, where an affine bound is
    largest; a count that comes out too small only makes the native code
    stop at the buffer's end, and Python runs the loop."""
    builtins = {"__builtins__": _BOUND_BUILTINS}
    box: Dict[str, Tuple[int, int]] = {}
    n = 1
    for var, args, deps in ranges:
        most = 0
        lo, hi = None, None
        for corner in itertools.product(*(box[d] for d in deps)):
            local = dict(env)
            local.update(zip(deps, corner))
            values = [eval(c, builtins, local) for c in args]  # noqa: S307 (range arguments)
            r = range(*values)
            most = max(most, len(r))
            # The values the variable takes lie between its start and its stop.
            ends = (r.start, r.stop - 1) if r.step > 0 else (r.stop + 1, r.start)
            lo = ends[0] if lo is None else min(lo, ends[0])
            hi = ends[1] if hi is None else max(hi, ends[1])
        n *= most
        if n == 0:
            return 0
        box[var] = (lo, hi)
    return n


def _guess(plan: AppendPlan, j: int):
    """The dtype of list j's values at the last run (float64 at the first)."""
    return _KINDS[plan.kinds_seen.get(plan.sites.index(j), 1)][0]


def _signature(plan: AppendPlan, env: dict) -> tuple:
    """What the engine's types of the appended values may depend on: the
    type of each input, an array's dtype and number of dimensions, and the
    value of each integer (an exponent's sign decides whether ``i ** k`` is a
    float)."""
    out = []
    for name, v in env.items():
        kind = type(v)
        if kind is numpy.ndarray:
            out.append((name, v.dtype.str, v.ndim))
        elif kind is int or kind is bool:
            out.append((name, kind, v))
        else:
            out.append((name, kind))
    return tuple(out)


def prepare(plan: AppendPlan, nest_id: int, env: dict, kinds_of) -> Optional[str]:
    """Adds the buffers and counters to ``env`` (and takes the lists out of
    it); None, or why the loop runs as plain Python. ``kinds_of(env)`` is the
    engine's ``hidden_kinds`` for these values (or a sentence: the engine
    declines them)."""
    # Nothing runs between a nest's prepare and its commit or discard: what an
    # interrupted run left (its buffers) goes now.
    _pending().clear()
    lists = []
    for name in plan.lists:
        obj = env.pop(name, None)
        if type(obj) is not list:
            what = type(obj).__name__
            what = (
                "a NumPy array"
                if isinstance(obj, numpy.ndarray)
                else f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"
            )
            return f"{name} is {what}, not a Python list, so its append runs as Python: the loop runs as plain Python"
        for other, seen in zip(plan.lists, lists):
            if seen is obj:
                return (
                    f"{other} and {name} are the same list, so the order of their appends matters: the loop "
                    f"runs as plain Python"
                )
        lists.append(obj)
    for key, value in env.items():
        for name, obj in zip(plan.lists, lists):
            if value is obj:
                # `len(other)` was read before the loop: Python reads it as the appends go.
                return (
                    f"{key} and {name} are the same list, which the loop reads while it appends to it: the loop "
                    f"runs as plain Python"
                )
    counts = [0] * len(plan.lists)
    try:
        for site, ranges in enumerate(plan.ranges):
            counts[plan.sites[site]] += _bound(ranges, env) * plan.factors.get(site, 1)
    except Exception:
        return (
            "the bounds of the loops around the appends could not be read before the loop, so the loop runs as "
            "plain Python"
        )
    for j, name in enumerate(plan.lists):
        if counts[j] * 16 > MAX_BYTES:  # the widest dtype: checked again with the buffer's own
            return _too_many(counts[j], name, plan, j)
    for name in plan.lists:
        env[count_name(name)] = 0
    # The types of the values do not depend on the buffers', but a store the
    # buffer cannot take exactly declines (a complex into float64, an int8
    # into float16): asked with the dtypes of the last run's values first,
    # then with buffers that take most numbers.
    signature = _signature(plan, env)
    kinds = plan.kinds_by_signature.get(signature)
    tried = []
    first = None if kinds is not None else [_guess(plan, j) for j in range(len(plan.lists))]
    for dtypes in () if kinds is not None else (first, *([d] * len(plan.lists) for d in _QUERY_DTYPES)):
        if dtypes in tried:
            continue
        tried.append(dtypes)
        for j, name in enumerate(plan.lists):
            env[buffer_name(name)] = numpy.empty(max(counts[j], 1), dtype=dtypes[j])
        got = kinds_of(env)
        if not isinstance(got, str):
            kinds = got
            if len(plan.kinds_by_signature) >= 64:
                plan.kinds_by_signature.clear()
            plan.kinds_by_signature[signature] = got
            break
        if kinds is None:
            kinds = got  # the first sentence, if every dtype declines
    if isinstance(kinds, str):
        return kinds
    per_list: Dict[int, Tuple[int, int]] = {}
    for site, j in enumerate(plan.sites):
        name = plan.lists[j]
        kind = kinds.get(f"{VALUE}{name}_{site}", -1)
        if kind not in _KINDS:
            return (
                f"the value appended to {name} at line {plan.lines[site]} may be of more than one type, so the "
                f"loop runs as plain Python"
            )
        if j in per_list and per_list[j][0] != kind:
            first_kind, first_site = per_list[j]
            return (
                f"the loop appends values of different types to {name} ({_a(_KINDS[first_kind][2])} at line "
                f"{plan.lines[first_site]}, {_a(_KINDS[kind][2])} at line {plan.lines[site]}), so it runs as "
                f"plain Python"
            )
        per_list.setdefault(j, (kind, site))
        plan.kinds_seen[site] = kind
    pending = []
    for j, name in enumerate(plan.lists):
        dtype, as_python, _ = _KINDS[per_list[j][0]]
        size = max(counts[j], 1) * dtype.itemsize
        if size > MAX_BYTES:
            return _too_many(counts[j], name, plan, j)
        buf = env.get(buffer_name(name))
        if buf is None or buf.dtype != dtype:
            buf = env[buffer_name(name)] = numpy.empty(max(counts[j], 1), dtype=dtype)
        pending.append((lists[j], buf, count_name(name), as_python))
    _pending()[nest_id] = (plan, pending)
    return None


def _a(kind: str) -> str:
    """ "an int", "a float", "an np.float32"."""
    return f"{'an' if kind[0] in 'aeiou' or kind.startswith('np.') else 'a'} {kind}"


def _too_many(count: int, name: str, plan: AppendPlan, j: int) -> str:
    grown = [site for site, f in plan.factors.items() if plan.sites[site] == j and f > WHILE_GUESS]
    if grown:
        return (
            f"the while loop around {name}.append at line {plan.lines[grown[0]]} appended more values than "
            f"native code kept aside at the last runs, and keeping aside more ({count}) passes what it keeps "
            f"({MAX_BYTES >> 20} MiB), so the loop runs as plain Python"
        )
    return (
        f"the loop may append up to {count} values to {name}, more than native code keeps aside "
        f"({MAX_BYTES >> 20} MiB), so it runs as plain Python"
    )


def commit(nest_id: int, out) -> None:
    """After a native run whose answer is ``out``: each list extended with
    the values appended to it, as the objects Python would have appended."""
    entry = _pending().pop(nest_id, None)
    if entry is None or out is None:
        return
    for lst, buf, count, as_python in entry[1]:
        n = out.get(count, 0)
        if n:
            lst.extend(buf[:n].tolist() if as_python else list(buf[:n]))


def discard(nest_id: int, stopped: bool = True) -> None:
    """The nest ran as Python (or was only explained): its lists stay as they
    are. ``stopped``: after its buffers were made, the native run did not
    finish (the buffer of an append inside a while may have been too small):
    those buffers are made twice as large at the next run."""
    entry = _pending().pop(nest_id, None)
    if entry is not None and stopped:
        plan = entry[0]
        for site, factor in plan.factors.items():
            plan.factors[site] = min(factor * 2, MAX_FACTOR)
