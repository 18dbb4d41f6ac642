"""Arrays that trade places between the steps of a time loop.

Stencil codes keep two (or three) grids and swap their names after each
step, so that the new values of one step are the old values of the next::

    for t in range(steps):
        for i in range(1, n - 1):
            b[i] = a[i] + alpha * (a[i - 1] - 2 * a[i] + a[i + 1])
        a, b = b, a

A name that stands for different arrays in different iterations is nothing
the analysis can read: a reference must name one array. But the swaps
form a permutation of the names that comes back to the start after P steps
(2 for a swap, 3 for ``prev, cur, nxt = cur, nxt, prev``). In the copy of
the nest that only the front end reads (as ``_iteration`` and ``_inline``
make), the loop is unrolled P times over a hidden step counter, each copy
of the body naming the arrays that the names hold at that point::

    for $index_of_t in range(0, steps, 2):
        t = $index_of_t
        (body with a, b)
        if $index_of_t + 1 < steps:
            t = $index_of_t + 1
            (body with b for a, a for b)

The names themselves are not assigned in the copy: after a native run, the
replacement code (_rewrite) gives them the arrays Python's swaps would have
left, from the number of steps (``len(range(...))`` of the same arguments,
which the loop does not assign) modulo P. The hidden counter is shown to
the user as ``t``.

Only the simple shape is lowered: the root loop of the nest over
``range(stop)`` or ``range(start, stop)``, swaps of plain names at the top
level of its body, names that the nest otherwise only subscripts (or reads
``len()``, ``.shape``, ``.size``, ``.ndim`` of), no ``break``, ``continue``
or ``return`` that leaves the loop, and no ``else``. Anything else is left
as it is, and the analysis says why a name holds two arrays.
"""

import ast
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ._records import HIDDEN_INDEX
from ._walk import walk

_MAX_PERIOD = 4


@dataclass
class Rotation:
    """What the replacement code needs after a native run: the names that
    trade places, where each one's array is after k steps (k = 1 .. P-1),
    and the range() arguments of the loop."""

    names: List[str]
    after: List[Dict[str, str]]  # after[k - 1][name] = the name whose array it holds after k steps
    range_args: List[ast.expr]

    @property
    def period(self) -> int:
        return len(self.after) + 1


def _swap(s) -> Optional[Tuple[List[str], List[str]]]:
    """``(targets, values)`` of ``a, b = b, a`` (plain names, a permutation
    of the same names, not the identity); None otherwise."""
    if not (isinstance(s, ast.Assign) and len(s.targets) == 1):
        return None
    t, v = s.targets[0], s.value
    if not (isinstance(t, (ast.Tuple, ast.List)) and isinstance(v, (ast.Tuple, ast.List))):
        return None
    if len(t.elts) != len(v.elts) or len(t.elts) < 2:
        return None
    if not all(isinstance(e, ast.Name) for e in t.elts + v.elts):
        return None
    targets = [e.id for e in t.elts]
    values = [e.id for e in v.elts]
    if len(set(targets)) != len(targets) or sorted(targets) != sorted(values) or targets == values:
        return None
    return targets, values


_ARRAY_ATTRS = {"shape", "size", "ndim"}


def _uses_as_arrays_only(body: List[ast.stmt], names: set, swaps: set) -> bool:
    """Every use of the names in ``body`` (other than the swaps) subscripts
    them or reads len(), .shape, .size or .ndim, and at least one
    subscripts each."""
    subscripted = set()
    allowed = set()  # id() of Name nodes in allowed positions
    for s in body:
        for n in walk(s):
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id in names:
                subscripted.add(n.value.id)
                allowed.add(id(n.value))
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in names:
                if n.attr in _ARRAY_ATTRS and isinstance(n.ctx, ast.Load):
                    allowed.add(id(n.value))
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id == "len"
                and len(n.args) == 1
                and not n.keywords
                and isinstance(n.args[0], ast.Name)
                and n.args[0].id in names
            ):
                allowed.add(id(n.args[0]))
    for s in body:
        if id(s) in swaps:
            continue
        for n in walk(s):
            if isinstance(n, ast.Name) and n.id in names and id(n) not in allowed:
                return False
            if isinstance(n, (ast.Global, ast.Nonlocal)) and names & set(n.names):
                return False
    return subscripted == names


def _leaves(body: List[ast.stmt]) -> bool:
    """A break, continue or return that ends an iteration of the loop whose
    body this is (not one inside a loop of its own)."""
    for s in body:
        if isinstance(s, (ast.Break, ast.Continue, ast.Return)):
            return True
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            if any(isinstance(n, ast.Return) for n in walk(s)):
                return True
            if _leaves(s.orelse):
                return True
            continue
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(s, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt) and _leaves(block):
                return True
            if isinstance(block, list):
                for h in block:
                    if isinstance(h, (ast.ExceptHandler,)) and _leaves(h.body):
                        return True
                    if type(h).__name__ == "match_case" and _leaves(h.body):
                        return True
    return False


def _pure(e: ast.expr, arrays: set) -> bool:
    """A range() argument that reads nothing but names, constants, integer
    arithmetic, len(), .shape[k], .size and .ndim: evaluating it again after
    the loop gives the same value when the loop assigns none of its names."""
    for n in walk(e):
        if isinstance(n, (ast.Name, ast.Constant, ast.Load, ast.operator, ast.unaryop, ast.BinOp, ast.UnaryOp)):
            continue
        if isinstance(n, ast.Attribute) and n.attr in _ARRAY_ATTRS:
            continue
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute) and n.value.attr == "shape":
            continue
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len" and not n.keywords:
            continue
        return False
    return True


def _stored_names(body: List[ast.stmt]) -> set:
    out = set()
    for s in body:
        for n in walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in n.names)
    return out


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: Dict[str, str]):
        self.mapping = mapping

    def visit_Name(self, n):
        if isinstance(n.ctx, ast.Load) and n.id in self.mapping:
            return ast.copy_location(ast.Name(self.mapping[n.id], ast.Load()), n)
        return n


def lower(node: ast.stmt) -> Tuple[ast.stmt, Optional[Rotation]]:
    """``(the front end's copy of node with its swapped arrays unrolled, the
    Rotation)``, or ``(node, None)`` when the loop is not of that shape."""
    if not (
        isinstance(node, ast.For)
        and isinstance(node.target, ast.Name)
        and isinstance(node.iter, ast.Call)
        and isinstance(node.iter.func, ast.Name)
        and node.iter.func.id == "range"
        and 1 <= len(node.iter.args) <= 2
        and not node.iter.keywords
        and not node.orelse
    ):
        return node, None
    swaps = [(s, sw) for s in node.body if (sw := _swap(s)) is not None]
    if not swaps:
        return node, None
    names = set()
    for _, (targets, _values) in swaps:
        names.update(targets)
    var = node.target.id
    stored = _stored_names([s for s in node.body if all(s is not w for w, _ in swaps)])
    args = node.iter.args
    arg_names = {n.id for a in args for n in walk(a) if isinstance(n, ast.Name)}
    if (
        var in names
        or names & stored
        or var in stored
        or arg_names & (stored | names | {var})
        or not all(_pure(a, names) for a in args)
        or not _uses_as_arrays_only(node.body, names, {id(w) for w, _ in swaps})
        or _leaves(node.body)
    ):
        return node, None
    # One step's permutation, and its period.
    order = sorted(names)
    holds = {n: n for n in order}  # name -> the name whose array it holds now
    for _, (targets, values) in swaps:
        holds = {**holds, **{t: holds[v] for t, v in zip(targets, values)}}
    after, state = [], dict(holds)
    while state != {n: n for n in order}:
        after.append(state)
        if len(after) >= _MAX_PERIOD:
            return node, None
        state = {n: holds[state[n]] for n in order}
    period = len(after) + 1
    if period == 1:
        return node, None  # the swaps undo each other within a step
    start = args[0] if len(args) == 2 else ast.Constant(0)
    stop = args[-1]
    count = ast.BinOp(copy.deepcopy(stop), ast.Sub(), copy.deepcopy(start)) if len(args) == 2 else copy.deepcopy(stop)
    step = HIDDEN_INDEX + var

    def at(r: int) -> ast.expr:
        e = ast.Name(step, ast.Load())
        if r:
            e = ast.BinOp(e, ast.Add(), ast.Constant(r))
        if len(args) == 2:
            e = ast.BinOp(copy.deepcopy(start), ast.Add(), e)
        return e

    body: List[ast.stmt] = []
    current = {n: n for n in order}
    for r in range(period):
        part: List[ast.stmt] = [ast.Assign([ast.Name(var, ast.Store())], at(r))]
        for s in node.body:
            sw = next((w for w, _ in swaps if w is s), None)
            if sw is not None:
                targets, values = _swap(s)
                current = {**current, **{t: current[v] for t, v in zip(targets, values)}}
                continue
            part.append(_Rename(dict(current)).visit(copy.deepcopy(s)))
        if r == 0:
            body.extend(part)
        else:
            guard = ast.Compare(
                ast.BinOp(ast.Name(step, ast.Load()), ast.Add(), ast.Constant(r)), [ast.Lt()], [copy.deepcopy(count)]
            )
            body.append(ast.If(guard, part, []))
    loop = ast.For(
        target=ast.Name(step, ast.Store()),
        iter=ast.Call(ast.Name("range", ast.Load()), [ast.Constant(0), count, ast.Constant(period)], []),
        body=body,
        orelse=[],
        type_comment=None,
    )
    ast.copy_location(loop, node)
    for n in walk(loop):
        if "lineno" in n._attributes and not hasattr(n, "lineno"):
            ast.copy_location(n, node)
    ast.fix_missing_locations(loop)
    return loop, Rotation(order, after, [copy.deepcopy(a) for a in args])


def merge_copies(loops: List[dict]) -> List[dict]:
    """The engine's loops with the copies that the unrolling made of one
    loop (same variable and line, same verdict and reasons) shown once."""
    out, seen = [], set()
    for lp in loops:
        key = (lp.get("var"), lp.get("line"), lp.get("verdict"), tuple(lp.get("reasons") or ()))
        if key not in seen:
            seen.add(key)
            out.append(lp)
    return out
