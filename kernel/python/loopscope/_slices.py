"""Slices filled with a constant inside a nest, lowered to loops.

``is_prime[i * i::i] = False`` (a sieve), ``a[1:-1] = 0.0``, ``grid[:, ::2]
= 1`` fill the elements a slice selects with one number. In the copy of the
nest that only the front end reads (as ``_iteration`` and ``_inline``
make), such a statement becomes a loop per sliced dimension over a hidden
index, with Python's slice rules written out: a missing start or stop is
the dimension's end, a negative one counts from the end, and both are
clipped to the dimension::

    a[s:t:2] = 0.0     for $slice1 in range(min(s, a.shape[0]) if s >= 0 else max(s + a.shape[0], 0),
                                            min(t, a.shape[0]) if t >= 0 else max(t + a.shape[0], 0), 2):
                           a[$slice1] = 0.0

The value must be a literal number or bool (NumPy converts it to the
array's type as an element store does, for finite values), and every
subscript a slice (an integer index raises IndexError in Python even when
the slice is empty, which no element store would). A step that is not a
literal chooses the rules of its sign when the statement runs. Anything
else is left as it is, and the analysis declines the slice with its
sentence. The index
reads "the slice's index" in sentences.
"""

import ast
import copy
import itertools
import math
from typing import Optional

from . import _records
from ._walk import copy_tree, walk

_counter = itertools.count(1)


def _literal(e: ast.expr) -> Optional[object]:
    """The value of a literal number or bool (with unary minus), or None."""
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
        v = _literal(e.operand)
        if v is None or isinstance(v, bool):
            return None
        return -v if isinstance(e.op, ast.USub) else v
    if isinstance(e, ast.Constant) and isinstance(e.value, (bool, int, float)):
        if isinstance(e.value, float) and (not math.isfinite(e.value) or abs(e.value) >= 2.0**53):
            return None
        return e.value
    return None


def _int_literal(e: Optional[ast.expr]) -> Optional[int]:
    v = None if e is None else _literal(e)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _call(fn: str, *args: ast.expr) -> ast.expr:
    return ast.Call(ast.Name(fn, ast.Load()), list(args), [])


def _num(v: int) -> ast.expr:
    return ast.Constant(v) if v >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-v))


def _add(a: ast.expr, b: ast.expr) -> ast.expr:
    return ast.BinOp(a, ast.Add(), b)


def _end(e: Optional[ast.expr], length: ast.expr, default: ast.expr, up: bool) -> ast.expr:
    """Python's value of a slice's start or stop ``e`` on a dimension of
    ``length``: negative counts from the end, then clipped to [0, length]
    (``up``) or [-1, length - 1]."""
    if e is None:
        return default
    lo, hi = (_num(0), length) if up else (_num(-1), _add(length, _num(-1)))
    c = _int_literal(e)
    if c is not None:
        return _call("min", _num(c), hi) if c >= 0 else _call("max", _add(copy.deepcopy(length), _num(c)), lo)
    nonneg = ast.Compare(copy.deepcopy(e), [ast.GtE()], [_num(0)])
    return ast.IfExp(
        nonneg,
        _call("min", copy.deepcopy(e), hi),
        _call("max", _add(copy.deepcopy(e), copy.deepcopy(length)), copy.deepcopy(lo)),
    )


def _lower_fill(s: ast.Assign) -> Optional[ast.stmt]:
    if len(s.targets) != 1 or _literal(s.value) is None:
        return None
    t = s.targets[0]
    if not (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)):
        return None
    parts = list(t.slice.elts) if isinstance(t.slice, ast.Tuple) else [t.slice]
    # Only slices: an integer index among them raises IndexError in Python
    # even when the slice is empty, which no element store would.
    if not all(isinstance(p, ast.Slice) for p in parts):
        return None
    array = t.value.id
    loops, index = [], []
    for d, p in enumerate(parts):
        length = ast.Subscript(
            ast.Attribute(ast.Name(array, ast.Load()), "shape", ast.Load()), ast.Constant(d), ast.Load()
        )

        def ends(up: bool):
            start = _end(p.lower, length, _num(0) if up else _add(copy.deepcopy(length), _num(-1)), up)
            stop = _end(p.upper, copy.deepcopy(length), copy.deepcopy(length) if up else _num(-1), up)
            return start, stop

        step = 1 if p.step is None else _int_literal(p.step)
        if step == 0:  # Python raises ValueError
            return None
        if step is not None:
            start, stop = ends(step > 0)
            step_expr = _num(step)
        else:
            # A step known when the statement runs: the rules of its sign (a
            # zero step stops native code, and Python raises ValueError).
            positive = ast.Compare(copy.deepcopy(p.step), [ast.Gt()], [_num(0)])
            (s_up, t_up), (s_down, t_down) = ends(True), ends(False)
            start = ast.IfExp(positive, s_up, s_down)
            stop = ast.IfExp(copy.deepcopy(positive), t_up, t_down)
            step_expr = copy.deepcopy(p.step)
        var = f"$slice{next(_counter)}"
        _records.show_hidden_as(var, "the slice's index")
        loops.append((var, _call("range", start, stop, step_expr)))
        index.append(ast.Name(var, ast.Load()))
    target = ast.Subscript(
        ast.Name(array, ast.Load()),
        ast.Tuple(index, ast.Load()) if len(index) > 1 else index[0],
        ast.Store(),
    )
    out: ast.stmt = ast.Assign([target], copy.deepcopy(s.value))
    for var, it in reversed(loops):
        out = ast.For(ast.Name(var, ast.Store()), it, [out], [], None)
    for n in walk(out):
        if "lineno" in n._attributes:
            ast.copy_location(n, s)
    return out


class _Lower(ast.NodeTransformer):
    changed = False

    def visit_Assign(self, s):
        new = _lower_fill(s)
        if new is None:
            return s
        self.changed = True
        return new

    def visit_FunctionDef(self, n):
        return n  # not part of the nest

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef


def lower(node: ast.stmt) -> ast.stmt:
    """``node`` (a copy) with every slice filled with a constant lowered to
    loops; ``node`` itself when there is none."""
    if not any(isinstance(n, ast.Slice) for n in walk(node)):
        return node  # nothing to lower: no copy
    t = _Lower()
    out = t.visit(copy_tree(node))
    return out if t.changed else node
