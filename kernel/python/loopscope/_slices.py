"""Slices inside a nest, lowered to loops: slices filled with a constant
(below), slices copied from another array, and reductions of small slices
(``np.sum``, ``np.mean``, ``np.max``, ``np.min``, ``np.median``: the sections
at the end).

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

import numpy

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

    def __init__(self, facts=None, arrays=(), medians=None):
        self.facts = facts
        self.arrays = set(arrays)  # the names subscripted in the nest
        self.medians = medians or {}  # other spellings of np.median (median_names)

    def _reduce(self, s, where):
        new = _lower_reductions(s, where, self.facts, self.medians) if where is not None else None
        if new is None:
            return s
        self.changed = True
        return new

    def visit_Assign(self, s):
        new = _lower_fill(s) or _lower_copy(s, self.arrays, self.facts)
        if new is None:
            return self._reduce(s, s.value)
        self.changed = True
        return new

    def visit_AugAssign(self, s):
        return self._reduce(s, s.value)

    def visit_Return(self, s):
        return self._reduce(s, s.value)

    def visit_If(self, s):
        self.generic_visit(s)
        return self._reduce(s, s.test)

    def visit_FunctionDef(self, n):
        return n  # not part of the nest

    visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_FunctionDef


def lower(node: ast.stmt, facts=None, resolver=None) -> ast.stmt:
    """``node`` (a copy) with every slice filled with a constant lowered to
    loops, and the reductions of small slices to sums of their elements
    (what they assume added to ``facts.reductions`` and ``facts.modules``);
    ``node`` itself when there is none. ``resolver`` (``_aliases.Resolver``)
    finds np.median spelled otherwise."""
    if not any(isinstance(n, ast.Slice) for n in walk(node)):
        return node  # nothing to lower: no copy
    t = _Lower(
        facts,
        {n.value.id for n in walk(node) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)},
        median_names(node, resolver),
    )
    out = t.visit(copy_tree(node))
    if facts is not None:
        _why_medians_stay(out, t.medians, facts)
    return out if t.changed else node


# --- reductions of small slices -------------------------------------------------------
#
# (1-D slices of a length known only when the statement runs, ``x[i:i +
# w]``, take the same order in loops: ``_lower_unknown``.)
#
# ``np.sum(img[i:i + 3, j:j + 3] * k)``, ``a[i, j - 1:j + 2].sum()``,
# ``np.mean(x[i:i + 4])``: a reduction of slices whose lengths are constants
# written in the subscripts becomes a sum of their elements in NumPy's order,
# computed in hidden variables before the statement. NumPy adds the
# elements of such a small array (buffered, in C order) with its pairwise
# sum: below 8 elements one accumulator from 0.0, from 8 to 128 elements
# eight accumulators over blocks of 8 combined as ((r0 + r1) + (r2 + r3)) +
# ((r4 + r5) + (r6 + r7)), then the rest one by one, and the result added
# to 0.0 (so never -0.0). What the order depends on is checked when the
# nest runs (``values_broken``): plain NumPy arrays with the dimensions the
# subscripts use, laid out in C order (positive, non-increasing strides: a
# transposed or reversed array is summed in memory order), elements whose
# common type is one np.sum keeps (float64, float32, int64, uint64; np.mean:
# float64, int64 or int32, added as float64). A slice clipped by the
# array's end (or starting below 0) has another length: a guard stops the
# native code there and the loop runs as Python.

# An input of a nest with np.max or np.min of slices, set when it runs
# (``values_broken``), not read from the loop's scope: 1 when the elements
# are floats, else 0 (np.median: 1 when they are float32).
FLOATS_PREFIX = "__loopscope_floats"
MAX_REDUCED = 128  # NumPy's pairwise block (PW_BLOCKSIZE): one level of the sum
_NUMPY = ("np", "numpy")
_ARITH = (ast.Add, ast.Sub, ast.Mult)


class Reduction:
    """What a lowered reduction assumes of the values (``values_broken``)."""

    def __init__(self, kind: str, text: str, ndims: dict, shapes: dict, floats: Optional[str] = None):
        self.kind = kind  # "sum", "mean", "max" or "min"
        self.floats = floats  # max, min: the hidden input that says the elements are floats
        self.text = text  # the call as the user wrote it
        self.ndims = ndims  # array -> number of dimensions
        self.shapes = shapes  # array used whole -> its shape


def _simple(e: ast.expr) -> bool:
    """An integer expression of names and constants (evaluated once per
    element read without effect)."""
    if isinstance(e, ast.Name):
        return True
    if isinstance(e, ast.Constant):
        return type(e.value) is int
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)):
        return _simple(e.left) and _simple(e.right)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        return _simple(e.operand)
    return False


def _terms(e: ast.expr, sign: int, terms: list) -> int:
    """``e`` as a sum: its terms (sign, node) appended to ``terms``, its
    integer constants returned."""
    c = _int_literal(e)
    if c is not None:
        return sign * c
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub)):
        right = sign if isinstance(e.op, ast.Add) else -sign
        return _terms(e.left, sign, terms) + _terms(e.right, right, terms)
    terms.append((sign, e))
    return 0


def _difference(upper: ast.expr, lower: ast.expr):
    """``upper - lower`` with the terms they share cancelled: an int, or an
    expression."""
    up, low = [], []
    const = _terms(upper, 1, up) - _terms(lower, 1, low)
    low = [(-sg, e) for sg, e in low]
    left = []
    for sg, e in up + low:
        key = ast.dump(e)
        for k, (sg2, e2) in enumerate(left):
            if sg2 == -sg and ast.dump(e2) == key:
                del left[k]
                break
        else:
            left.append((sg, e))
    if not left:
        return const
    out = None
    for sg, e in left:
        e = copy.deepcopy(e)
        if out is None:
            out = e if sg > 0 else ast.UnaryOp(ast.USub(), e)
        else:
            out = ast.BinOp(out, ast.Add() if sg > 0 else ast.Sub(), e)
    return _add(out, _num(const)) if const else out


def _window(p: ast.Slice):
    """(start expression, length) of a slice with step 1 and an end: a
    constant length (``i:i + 3``), or its string and expression when it is
    known only when the statement runs (``i:i + w``); None otherwise."""
    if p.step is not None and _int_literal(p.step) != 1:
        return None
    if p.upper is None:
        return None
    lower = p.lower if p.lower is not None else ast.Constant(0)
    if not (_simple(lower) and _simple(p.upper)):
        return None
    for end in (lower, p.upper):
        c = _int_literal(end)
        if c is not None and c < 0:
            return None  # counts from the end
    n = _difference(p.upper, lower)
    if isinstance(n, int):
        return (lower, n) if n > 0 else None
    return lower, ast.dump(n), n


class _Operand:
    def __init__(self, array: str, parts, shape, lengths=None):
        self.array, self.parts, self.shape = array, parts, shape
        # the shape's string of a length known when the statement runs -> its expression
        self.lengths = lengths or {}


def _operands(e: ast.expr, out: list):
    """The element expression of ``e`` (slices of arrays combined with + - *)
    as a template, or None: its operands are appended to ``out``."""
    if isinstance(e, ast.BinOp) and isinstance(e.op, _ARITH):
        left, right = _operands(e.left, out), _operands(e.right, out)
        if left is None or right is None:
            return None
        return ("op", e.op, left, right)
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Name):
        parts = list(e.slice.elts) if isinstance(e.slice, ast.Tuple) else [e.slice]
        shape, kept, lengths = [], [], {}
        for p in parts:
            if isinstance(p, ast.Slice):
                w = _window(p)
                if w is None:
                    return None
                kept.append(("slice", w[0]))
                shape.append(w[1])
                if len(w) == 3:
                    lengths[w[1]] = w[2]
            elif isinstance(p, (ast.Starred,)) or not _simple(p):
                return None
            else:
                kept.append(("index", p))
        if not shape:
            return None
        out.append(_Operand(e.value.id, kept, tuple(shape), lengths))
        return ("read", len(out) - 1)
    if isinstance(e, ast.Name):
        out.append(_Operand(e.id, None, None))
        return ("read", len(out) - 1)
    return None


def _reduction_call(c: ast.expr):
    """(kind, argument, module name, its attribute) of ``np.sum(x)``,
    ``np.mean(x)``, ``np.max(x)`` (``np.amax``), ``np.min(x)``
    (``np.amin``), the methods ``x.sum()``, ``x.mean()``, ``x.max()``,
    ``x.min()``, or None."""
    if not isinstance(c, ast.Call) or c.keywords:
        return None
    if isinstance(c.func, ast.Name) and c.func.id in ("max", "min") and len(c.args) == 1:
        # Python's max and min iterate the slice: "pymax", "pymin".
        return "py" + c.func.id, c.args[0], None, None
    if not isinstance(c.func, ast.Attribute):
        return None
    f = c.func
    kind = _KINDS.get(f.attr)
    if kind is None:
        return None
    if isinstance(f.value, ast.Name) and f.value.id in _NUMPY:
        return (kind, c.args[0], f.value.id, f.attr) if len(c.args) == 1 else None
    if not c.args and isinstance(f.value, ast.Subscript) and f.attr == kind:
        return kind, f.value, None, None
    return None


_KINDS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "amax": "max", "amin": "min"}


def _element(t, ops, index) -> ast.expr:
    if t[0] == "op":
        return ast.BinOp(_element(t[2], ops, index), t[1], _element(t[3], ops, index))
    op = ops[t[1]]
    if op.parts is None:
        subs = [_num(r) for r in index]
    else:
        subs, k = [], 0
        for kind, e in op.parts:
            if kind == "index":
                subs.append(copy.deepcopy(e))
            else:
                r = index[k]
                if isinstance(r, int):
                    subs.append(_add(copy.deepcopy(e), _num(r)) if r else copy.deepcopy(e))
                else:
                    subs.append(_add(copy.deepcopy(e), copy.deepcopy(r)))
                k += 1
    return ast.Subscript(
        ast.Name(op.array, ast.Load()), ast.Tuple(subs, ast.Load()) if len(subs) > 1 else subs[0], ast.Load()
    )


def _hidden(text: str) -> str:
    var = f"$reduce{next(_counter)}"
    _records.show_hidden_as(var, text)
    return var


def _assign(var: str, value: ast.expr) -> ast.stmt:
    return ast.Assign([ast.Name(var, ast.Store())], value)


def _all(conds: list) -> ast.expr:
    return conds[0] if len(conds) == 1 else ast.BoolOp(ast.And(), conds)


def _guard(test: ast.expr, stop_if: bool = False) -> ast.stmt:
    """The check that stops the native code, so that Python runs the loop
    from the state before it: ``0 // 0`` when ``test`` is ``stop_if``. It
    shares the division-by-zero trap, whose sentence _rewrite._stop_sentence
    replaces for nests with lowered slices."""
    divisor = ast.IfExp(test, _num(0), _num(1)) if stop_if else ast.IfExp(test, _num(1), _num(0))
    return _assign(_hidden("the slice's check"), ast.BinOp(_num(0), ast.FloorDiv(), divisor))


def _replaces(x: str, best: str, beats: ast.cmpop) -> ast.expr:
    """Whether element ``x`` replaces ``best`` in np.max/np.min: it beats it, or it is NaN."""
    return ast.BoolOp(
        ast.Or(),
        [ast.Compare(_load(x), [beats], [_load(best)]), ast.Compare(_load(x), [ast.NotEq()], [_load(x)])],
    )


def _unsure(result: str, floats: str) -> ast.expr:
    """Whether np.max/np.min's ``result`` is one whose bits NumPy's SIMD
    loops choose: NaN, or 0 of a float type (``floats`` is 1)."""
    return ast.BoolOp(
        ast.Or(),
        [
            ast.Compare(_load(result), [ast.NotEq()], [_load(result)]),
            ast.BoolOp(
                ast.And(),
                [
                    ast.Compare(_load(result), [ast.Eq()], [_num(0)]),
                    ast.Compare(_load(floats), [ast.Eq()], [_num(1)]),
                ],
            ),
        ],
    )


def _load(var: str) -> ast.expr:
    return ast.Name(var, ast.Load())


def _lower_reduction(c: ast.Call, facts) -> Optional[tuple]:
    """(statements, result variable) computing the reduction ``c``, or None."""
    found = _reduction_call(c)
    if found is None:
        return None
    kind, arg, module, attr = found
    ops: list = []
    tmpl = _operands(arg, ops)
    if tmpl is None:
        return None
    shapes = {op.shape for op in ops if op.shape is not None}
    if len(shapes) != 1:
        return None  # no slice, or slices of other shapes (NumPy broadcasts them)
    (shape,) = shapes
    if not all(isinstance(n, int) for n in shape):
        if len(shape) != 1 or any(op.parts is None for op in ops):
            return None
        length = next(op.lengths[shape[0]] for op in ops if shape[0] in op.lengths)
        return _lower_unknown(c, kind, module, attr, tmpl, ops, length, facts)
    count = math.prod(shape)
    if count > MAX_REDUCED or (kind.startswith("py") and (len(shape) != 1 or any(op.parts is None for op in ops))):
        return None
    ndims, whole = {}, {}
    for op in ops:
        nd = len(shape) if op.parts is None else len(op.parts)
        if ndims.setdefault(op.array, nd) != nd:
            return None
        if op.parts is None:
            whole[op.array] = shape
    text = ast.unparse(c)
    # The guard: every slice lies inside its dimension (else Python clips it).
    conds = []
    for op in ops:
        if op.parts is None:
            continue
        k = 0
        for d, (kind_d, e) in enumerate(op.parts):
            if kind_d != "slice":
                continue
            dim = ast.Subscript(
                ast.Attribute(ast.Name(op.array, ast.Load()), "shape", ast.Load()), ast.Constant(d), ast.Load()
            )
            conds.append(ast.Compare(copy.deepcopy(e), [ast.GtE()], [_num(0)]))
            conds.append(ast.Compare(_add(copy.deepcopy(e), _num(shape[k])), [ast.LtE()], [dim]))
            k += 1
    out: list = []
    out.append(_guard(_all(conds)))
    elements = [_element(tmpl, ops, idx) for idx in itertools.product(*(range(n) for n in shape))]
    if kind.startswith("py"):
        # Python's max(x0, x1) is its max over [x0, x1]: the first item,
        # replaced by each later one that compares greater (less).
        acc = _call(kind[2:], elements[0], copy.deepcopy(elements[0]) if count == 1 else elements[1])
        for x in elements[2:]:
            acc = _call(kind[2:], acc, x)
        total = _hidden(f"the {kind[2:]} of {text}")
        out.append(_assign(total, acc))
        if facts is not None:
            facts.reductions.append(Reduction(kind, text, ndims, whole))
        return out, total
    if kind in ("max", "min"):
        floats = f"{FLOATS_PREFIX}{next(_counter)}__"
        total = _extreme(kind, text, elements, floats, out)
        if facts is not None:
            if module is not None:
                facts.modules.add((module, attr))
            facts.reductions.append(Reduction(kind, text, ndims, whole, floats))
        return out, total
    if kind == "mean":
        np_name = module or "np"
        elements = [
            ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "float64", ast.Load()), [x], []) for x in elements
        ]
    total = _hidden(f"the {kind} of {text}")
    if count < 8:
        acc = elements[0]
        for x in elements[1:]:
            acc = ast.BinOp(acc, ast.Add(), x)
        out.append(_assign(total, acc))
    else:
        rs = [_hidden(f"the {kind} of {text}") for _ in range(8)]
        out.extend(_assign(r, x) for r, x in zip(rs, elements[:8]))
        i = 8
        while i < count - count % 8:
            out.extend(_assign(r, ast.BinOp(_load(r), ast.Add(), x)) for r, x in zip(rs, elements[i : i + 8]))
            i += 8

        def pair(a, b):
            return ast.BinOp(a, ast.Add(), b)

        acc = pair(
            pair(pair(_load(rs[0]), _load(rs[1])), pair(_load(rs[2]), _load(rs[3]))),
            pair(pair(_load(rs[4]), _load(rs[5])), pair(_load(rs[6]), _load(rs[7]))),
        )
        for x in elements[i:]:
            acc = ast.BinOp(acc, ast.Add(), x)
        out.append(_assign(total, acc))
    # NumPy adds the sum to 0.0: never -0.0.
    zero = ast.Compare(_load(total), [ast.Eq()], [_num(0)])
    result: ast.expr = ast.IfExp(zero, ast.BinOp(_load(total), ast.Sub(), _load(total)), _load(total))
    if kind == "mean":
        result = ast.BinOp(result, ast.Div(), _num(count))
    out.append(_assign(total, result))
    if facts is not None:
        if module is not None:
            facts.modules.add((module, attr))
        facts.reductions.append(Reduction(kind, text, ndims, whole))
    return out, total


def _lower_unknown(c, kind, module, attr, tmpl, ops, length, facts) -> tuple:
    """The reduction of 1-D slices whose length is known when the statement
    runs (``np.mean(x[i:i + w])``): the same order as for constant lengths,
    in loops over hidden indices, for 1 to 128 elements (a guard stops the
    native code otherwise)."""
    text = ast.unparse(c)
    n = _hidden("the slice's length")
    out: list = [_assign(n, copy.deepcopy(length))]
    conds = [ast.Compare(_load(n), [ast.GtE()], [_num(1)])]
    if not kind.startswith("py"):  # Python's max and min: any length
        conds.append(ast.Compare(_load(n), [ast.LtE()], [_num(MAX_REDUCED)]))
    ndims = {}
    for op in ops:
        if ndims.setdefault(op.array, len(op.parts)) != len(op.parts):
            return None
        for d, (kind_d, e) in enumerate(op.parts):
            if kind_d == "slice":
                conds.append(ast.Compare(copy.deepcopy(e), [ast.GtE()], [_num(0)]))
                conds.append(ast.Compare(_add(copy.deepcopy(e), _load(n)), [ast.LtE()], [_dim(op.array, d)]))
    out.append(_guard(_all(conds)))
    np_name = module or "np"

    def element(at: ast.expr) -> ast.expr:
        x = _element(tmpl, ops, [at])
        if kind == "mean":
            x = ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "float64", ast.Load()), [x], [])
        return x

    def bound() -> ast.expr:
        # The engine reads a loop's bounds from the names known before the
        # nest: the length's expression, not the hidden variable.
        return copy.deepcopy(length)

    def loop(var, it, body):
        return ast.For(ast.Name(var, ast.Store()), it, body, [], None)

    def rng(*args):
        return _call("range", *args)

    def plus(a, b):
        return ast.BinOp(a, ast.Add(), b)

    total = _hidden(f"the {kind} of {text}")
    k = _hidden("the slice's index")
    floats = None
    if kind.startswith("py"):
        out.append(_assign(total, element(_num(0))))
        step = _assign(total, _call(kind[2:], _load(total), element(_load(k))))
        out.append(loop(k, rng(_num(1), bound()), [step]))
    elif kind in ("max", "min"):
        x = _hidden(f"an element of {text}")
        beats = ast.Gt() if kind == "max" else ast.Lt()
        out.append(_assign(total, element(_num(0))))
        wins = _replaces(x, total, beats)
        out.append(
            loop(
                k,
                rng(_num(1), bound()),
                [_assign(x, element(_load(k))), _assign(total, ast.IfExp(wins, _load(x), _load(total)))],
            )
        )
        floats = f"{FLOATS_PREFIX}{next(_counter)}__"
        out.append(_guard(_unsure(total, floats), stop_if=True))
    else:
        few = [
            _assign(total, element(_num(0))),
            loop(k, rng(_num(1), bound()), [_assign(total, plus(_load(total), element(_load(k))))]),
        ]
        rs = [_hidden(f"the {kind} of {text}") for _ in range(8)]
        b = _hidden("the slice's index")
        whole = ast.BinOp(bound(), ast.Sub(), ast.BinOp(bound(), ast.Mod(), _num(8)))
        tree = plus(
            plus(plus(_load(rs[0]), _load(rs[1])), plus(_load(rs[2]), _load(rs[3]))),
            plus(plus(_load(rs[4]), _load(rs[5])), plus(_load(rs[6]), _load(rs[7]))),
        )
        many = [_assign(r, element(_num(j))) for j, r in enumerate(rs)]
        many.append(
            loop(
                b,
                rng(_num(8), whole, _num(8)),
                [_assign(r, plus(_load(r), element(plus(_load(b), _num(j))))) for j, r in enumerate(rs)],
            )
        )
        many.append(_assign(total, tree))
        many.append(
            loop(k, rng(copy.deepcopy(whole), bound()), [_assign(total, plus(_load(total), element(_load(k))))])
        )
        out.append(ast.If(ast.Compare(_load(n), [ast.Lt()], [_num(8)]), few, many))
        zero = ast.Compare(_load(total), [ast.Eq()], [_num(0)])
        result: ast.expr = ast.IfExp(zero, ast.BinOp(_load(total), ast.Sub(), _load(total)), _load(total))
        if kind == "mean":
            result = ast.BinOp(result, ast.Div(), _load(n))
        out.append(_assign(total, result))
    if facts is not None:
        if module is not None:
            facts.modules.add((module, attr))
        facts.reductions.append(Reduction(kind, text, ndims, {}, floats))
    return out, total


def _extreme(kind: str, text: str, elements: list, floats: str, out: list) -> str:
    """The statements (appended to ``out``) of np.max or np.min of
    ``elements``, and the variable of the result. NumPy's SIMD loops choose
    between +0.0 and -0.0, and which NaN, in their own order: a guard stops
    the native code when the result is NaN, or 0 of a float type (``floats``,
    a hidden input set when the nest runs: 1 for float elements, else 0);
    any other result is the one element of its bits."""
    best, x = _hidden(f"the {kind} of {text}"), _hidden(f"an element of {text}")
    beats = ast.Gt() if kind == "max" else ast.Lt()
    for k, e in enumerate(elements):
        if k == 0:
            out.append(_assign(best, e))
            continue
        out.append(_assign(x, e))
        out.append(_assign(best, ast.IfExp(_replaces(x, best, beats), _load(x), _load(best))))
    out.append(_guard(_unsure(best, floats), stop_if=True))
    return best


def _hoistable_calls(e: ast.expr, medians=None):
    """The calls in ``e`` evaluated whenever ``e`` is (not in a branch of
    ``and``/``or``/``if else``, a lambda or a comprehension)."""
    todo = [e]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Call) and (_reduction_call(n) is not None or _median_call(n, medians or {}) is not None):
            yield n
            continue
        if isinstance(n, ast.BoolOp):
            todo.append(n.values[0])
            continue
        if isinstance(n, ast.IfExp):
            todo.append(n.test)
            continue
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)):
            continue
        todo.extend(ast.iter_child_nodes(n))


class _Replace(ast.NodeTransformer):
    def __init__(self, done):
        self.done = done  # id of a call -> its variable

    def visit_Call(self, n):
        var = self.done.get(id(n))
        if var is not None:
            return ast.copy_location(ast.Name(var, ast.Load()), n)
        return self.generic_visit(n)


def _lower_reductions(s: ast.stmt, where: ast.expr, facts, medians=None) -> Optional[list]:
    before, done = [], {}
    # np.median stored straight into an array element: its type does not show.
    stored = None
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Subscript):
        if isinstance(s.targets[0].value, ast.Name):
            stored = s.targets[0].value.id
    for c in list(_hoistable_calls(where, medians)):
        if _median_call(c, medians or {}) is not None:
            got = _lower_median(c, facts, medians or {}, stored if stored and c is s.value else None)
        else:
            got = _lower_reduction(c, facts)
        if got is None:
            continue
        before.extend(got[0])
        done[id(c)] = got[1]
    if not done:
        return None
    _Replace(done).visit(s)
    for st in before:
        for n in walk(st):
            if "lineno" in n._attributes:
                ast.copy_location(n, s)
    return before + [s]


def values_broken(reductions, env: dict) -> Optional[str]:
    """Why the values of ``env`` do not fit what the lowered reductions
    assume (a sentence), or None."""
    for r in reductions:
        if isinstance(r, Copy):
            why = r.broken(env)
            if why is not None:
                return why
            continue
        dtypes = []
        anyorder = r.kind in ("max", "min", "pymax", "pymin", "median")
        for array, ndim in sorted(r.ndims.items()):
            obj = env.get(array)
            if type(obj) is not numpy.ndarray:
                return f"{r.text} reads {array}, which is not a NumPy array, so the loop runs as plain Python"
            if obj.ndim != ndim:
                return (
                    f"{r.text} reads {array} with {ndim} subscript(s), but it has {obj.ndim} dimension(s), "
                    f"so the loop runs as plain Python"
                )
            if array in r.shapes and obj.shape != r.shapes[array]:
                return (
                    f"{r.text} combines slices of shape {r.shapes[array]} with {array} of shape {obj.shape}, "
                    f"so the loop runs as plain Python (NumPy broadcasts or raises)"
                )
            strides = [s for s, n in zip(obj.strides, obj.shape) if n > 1]
            if not anyorder and (any(s <= 0 for s in strides) or any(a < b for a, b in zip(strides, strides[1:]))):
                return (
                    f"{array} is not laid out in C order (a transposed or reversed view), and NumPy adds "
                    f"the elements of {r.text} in memory order, so the loop runs as plain Python"
                )
            dtypes.append(obj.dtype)
        if r.kind.startswith("py"):
            continue  # Python's max and min compare the items as the loop does
        if isinstance(r, Median):
            (array,) = r.ndims
            why = median_broken(r, env)
            if why is not None:
                return why
            env[r.floats] = int(env[array].dtype == numpy.float32)
            continue
        common = numpy.result_type(*dtypes)
        if r.floats is not None:
            env[r.floats] = int(common.kind in "fc")
        if r.kind == "sum" and common not in _SUM_KEEPS:
            return (
                f"the elements of {r.text} are {common}, which np.sum adds as another type, "
                f"so the loop runs as plain Python"
            )
        if r.kind == "mean" and not (common == numpy.float64 or common.kind in "iub"):
            return (
                f"the elements of {r.text} are {common}, which np.mean adds as {common}, "
                f"so the loop runs as plain Python"
            )
        if r.kind == "mean" and common not in _MEAN_CONVERTS:
            # np.mean adds integers as float64: native code converts int32
            # and int64 elements only.
            return (
                f"np.mean adds the {common} elements of {r.text} as float64, a conversion native code "
                f"does not make for {common}, so the loop runs as plain Python"
            )
    return None


_SUM_KEEPS = tuple(numpy.dtype(t) for t in ("float64", "float32", "int64", "uint64"))
_MEAN_CONVERTS = tuple(numpy.dtype(t) for t in ("float64", "int64", "int32"))


# --- copies between slices --------------------------------------------------------------
#
# ``board[:, :] = new``, ``a[i, :] = b[i, :]``, ``a[1:-1] = b[2:]``: a slice
# of one array assigned a slice (or the whole) of another becomes a loop
# per sliced dimension over a hidden count, each side's index its start
# plus the count times its step, with Python's slice rules for the starts
# and lengths. A guard before the loops stops the native code (and the
# loop runs as Python, which raises NumPy's ValueError or broadcasts) when
# the lengths differ, and when an integer index is out of range (Python
# raises IndexError even for an empty slice). When the nest runs
# (``Copy.broken``): both NumPy arrays with as many dimensions as
# subscripts, not sharing memory (NumPy then copies through a temporary),
# the source's type cast safely to the destination's.


class Copy:
    """What a lowered slice copy assumes of the values."""

    def __init__(self, text: str, dst: str, src: str, ndims: dict):
        self.text, self.dst, self.src, self.ndims = text, dst, src, ndims

    def broken(self, env: dict) -> Optional[str]:
        for array, ndim in sorted(self.ndims.items()):
            obj = env.get(array)
            if type(obj) is not numpy.ndarray:
                return f"{self.text} copies {array}, which is not a NumPy array, so the loop runs as plain Python"
            if obj.ndim != ndim:
                return (
                    f"{self.text} reads {array} with {ndim} subscript(s), but it has {obj.ndim} dimension(s), "
                    f"so the loop runs as plain Python"
                )
        dst, src = env[self.dst], env[self.src]
        if numpy.may_share_memory(dst, src):
            return (
                f"{self.dst} and {self.src} share memory, and NumPy copies {self.text} as if through a "
                f"temporary array, so the loop runs as plain Python"
            )
        if not numpy.can_cast(src.dtype, dst.dtype, "safe"):
            return (
                f"{self.text} converts {src.dtype} elements to {dst.dtype} as NumPy converts arrays, "
                f"so the loop runs as plain Python"
            )
        return None


def _parts(t: ast.Subscript) -> list:
    return list(t.slice.elts) if isinstance(t.slice, ast.Tuple) else [t.slice]


def _dim(array: str, d: int) -> ast.expr:
    return ast.Subscript(ast.Attribute(ast.Name(array, ast.Load()), "shape", ast.Load()), ast.Constant(d), ast.Load())


def _copy_side(array: str, parts: list, before: list, conds: list):
    """Per part: ("index", expression) or ("slice", start variable, step,
    length variable); hidden assignments appended to ``before``, guards
    to ``conds``. None when a part is not simple."""
    out = []
    for d, p in enumerate(parts):
        if not isinstance(p, ast.Slice):
            if isinstance(p, ast.Starred) or not _simple(p):
                return None
            n = _dim(array, d)
            conds.append(
                ast.Compare(ast.UnaryOp(ast.USub(), copy.deepcopy(n)), [ast.LtE(), ast.Lt()], [copy.deepcopy(p), n])
            )
            out.append(("index", p))
            continue
        if any(e is not None and not _simple(e) for e in (p.lower, p.upper)):
            return None
        step = 1 if p.step is None else _int_literal(p.step)
        if not step:
            return None
        length = _dim(array, d)
        up = step > 0
        start = _end(p.lower, length, _num(0) if up else _add(copy.deepcopy(length), _num(-1)), up)
        stop = _end(p.upper, copy.deepcopy(length), copy.deepcopy(length) if up else _num(-1), up)
        s_var, n_var = _hidden("the slice's start"), _hidden("the slice's length")
        before.append(_assign(s_var, start))
        # len(range(start, stop, step))
        if up:
            span = ast.BinOp(ast.BinOp(stop, ast.Sub(), _load(s_var)), ast.Add(), _num(step - 1))
        else:
            span = ast.BinOp(ast.BinOp(_load(s_var), ast.Sub(), stop), ast.Add(), _num(-step - 1))
        before.append(_assign(n_var, _call("max", _num(0), ast.BinOp(span, ast.FloorDiv(), _num(abs(step))))))
        out.append(("slice", s_var, step, n_var))
    return out


def _lower_copy(s: ast.Assign, arrays: set, facts) -> Optional[list]:
    if len(s.targets) != 1:
        return None
    t, v = s.targets[0], s.value
    if not (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)):
        return None
    dst_parts = _parts(t)
    n_sliced = sum(isinstance(p, ast.Slice) for p in dst_parts)
    if not n_sliced:
        return None
    if isinstance(v, ast.Subscript) and isinstance(v.value, ast.Name):
        src, src_parts = v.value.id, _parts(v)
    elif isinstance(v, ast.Name) and v.id in arrays:
        src, src_parts = v.id, [ast.Slice(None, None, None) for _ in range(n_sliced)]
    else:
        return None
    dst = t.value.id
    if src == dst or sum(isinstance(p, ast.Slice) for p in src_parts) != n_sliced:
        return None
    before, conds = [], []
    dside = _copy_side(dst, dst_parts, before, conds)
    sside = _copy_side(src, src_parts, before, conds)
    if dside is None or sside is None:
        return None
    dsl = [p for p in dside if p[0] == "slice"]
    ssl = [p for p in sside if p[0] == "slice"]
    conds.extend(ast.Compare(_load(a[3]), [ast.Eq()], [_load(b[3])]) for a, b in zip(dsl, ssl))
    before.append(_guard(_all(conds)))
    counts = [_hidden("the slice's index") for _ in dsl]

    def index(side):
        subs, k = [], 0
        for p in side:
            if p[0] == "index":
                subs.append(copy.deepcopy(p[1]))
            else:
                at = _load(counts[k]) if p[2] == 1 else ast.BinOp(_load(counts[k]), ast.Mult(), _num(p[2]))
                subs.append(_add(_load(p[1]), at))
                k += 1
        return ast.Tuple(subs, ast.Load()) if len(subs) > 1 else subs[0]

    body: ast.stmt = ast.Assign(
        [ast.Subscript(ast.Name(dst, ast.Load()), index(dside), ast.Store())],
        ast.Subscript(ast.Name(src, ast.Load()), index(sside), ast.Load()),
    )
    for var, p in reversed(list(zip(counts, dsl))):
        body = ast.For(ast.Name(var, ast.Store()), _call("range", _load(p[3])), [body], [], None)
    out = before + [body]
    for st in out:
        for n in walk(st):
            if "lineno" in n._attributes:
                ast.copy_location(n, s)
    if facts is not None:
        facts.reductions.append(Copy(ast.unparse(s), dst, src, {dst: len(dst_parts), src: len(src_parts)}))
    return out


# --- np.median of small windows ---------------------------------------------------------
#
# ``out[i, j] = np.median(img[i - 1:i + 2, j - 1:j + 2])``, the median filter:
# the median of one slice whose lengths are constants written in the
# subscripts (1 to MAX_MEDIAN elements) becomes a selection network over
# hidden variables: each element read as a Python float (exact for every
# integer, bool and float type it accepts, and monotonic, so the middle of
# the converted elements is the converted middle), then the compare-exchanges
# of a sorting network that the middle outputs depend on. NumPy's median is
# np.mean of the middle element (odd count) or the two middle elements (even
# count), added from 0.0 (so a zero is +0.0) and divided by the count, in
# float64 for integer, bool and float64 elements, in float32 for float32
# ones: the native code rounds the sum and the half to float32 then (a
# hidden input set when the nest runs says so). The result is an np.float64:
# for float32 elements its value is the float32 NumPy gives, which an
# element store converts as NumPy would, so a median of float32 elements
# must be stored straight into an array element (``values_broken``). A
# guard stops the native code (and Python runs the loop) when the window
# is clipped by the array's end, holds a NaN (NumPy returns one of its NaNs),
# or the two middle elements add to an infinity or NaN from finite values
# or opposite infinities (NumPy warns). A 1-D window of a length known when the
# statement runs (``np.median(x[i:i + w])``) counts each element's rank
# against the others instead (``_lower_median_unknown``).

MAX_MEDIAN = 49  # a 7x7 window


class Median(Reduction):
    """What a lowered np.median assumes of the values: ``floats`` is the
    hidden input set to 1 for float32 elements; ``stored`` is the name the
    result is stored straight into an element of (None otherwise)."""

    def __init__(self, text: str, ndims: dict, floats: str, stored: Optional[str], alias=None):
        super().__init__("median", text, ndims, {}, floats)
        self.stored = stored
        self.alias = alias  # (name, _aliases.Meaning) of a median spelled otherwise, or None


def _merge_exchange(n: int) -> list:
    """The comparators (i, j), i < j, of Batcher's merge exchange sort of
    ``n`` items (Knuth, Algorithm 5.2.2M), in order: after them item k holds
    the k-th smallest."""
    out = []
    if n < 2:
        return out
    t = (n - 1).bit_length()
    p = 1 << (t - 1)
    while p > 0:
        q, r, d = 1 << (t - 1), 0, p
        while True:
            for i in range(n - d):
                if i & p == r:
                    out.append((i, i + d))
            if q == p:
                break
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return out


def _selection(n: int, wanted) -> list:
    """(i, j, lo needed, hi needed) of the comparators of the merge exchange
    sort of ``n`` items that outputs ``wanted`` depend on."""
    need = set(wanted)
    out = []
    for i, j in reversed(_merge_exchange(n)):
        lo, hi = i in need, j in need
        if lo or hi:
            out.append((i, j, lo, hi))
            need.update((i, j))
    out.reverse()
    return out


def _median_call(c: ast.expr, medians: dict):
    """(argument, numpy module name, (module name, "median") or None, alias
    name or None) of ``np.median(x)`` (or ``median(x)`` where ``medians``
    says that name is NumPy's median: name -> (numpy module name, meaning)),
    or None."""
    if not isinstance(c, ast.Call) or c.keywords or len(c.args) != 1 or isinstance(c.args[0], ast.Starred):
        return None
    f = c.func
    if isinstance(f, ast.Attribute) and f.attr == "median" and isinstance(f.value, ast.Name) and f.value.id in _NUMPY:
        return c.args[0], f.value.id, (f.value.id, "median"), None
    if isinstance(f, ast.Name) and f.id in medians:
        return c.args[0], medians[f.id][0], None, f.id
    return None


def _lower_median(c: ast.Call, facts, medians: dict, stored: Optional[str]) -> Optional[tuple]:
    """(statements, result variable) computing ``np.median`` of a small
    window, or None."""
    found = _median_call(c, medians)
    if found is None:
        return None
    arg, np_name, attr, alias = found
    ops: list = []
    tmpl = _operands(arg, ops)
    if tmpl != ("read", 0) or ops[0].parts is None:
        return None  # one slice of one array (arithmetic on slices computes in the array's type)
    (op,) = ops
    shape = op.shape
    text = ast.unparse(c)
    if not all(isinstance(k, int) for k in shape):
        if len(shape) != 1:
            return None
        out, total, floats = _lower_median_unknown(text, op, tmpl, ops, op.lengths[shape[0]], np_name)
        return _median_done(out, total, np_name, facts, attr, text, op, floats, stored, alias, medians)
    count = math.prod(shape)
    if count > MAX_MEDIAN:
        return None
    conds = []
    k = 0
    for d, (kind_d, e) in enumerate(op.parts):
        if kind_d != "slice":
            continue
        conds.append(ast.Compare(copy.deepcopy(e), [ast.GtE()], [_num(0)]))
        conds.append(ast.Compare(_add(copy.deepcopy(e), _num(shape[k])), [ast.LtE()], [_dim(op.array, d)]))
        k += 1
    out: list = [_guard(_all(conds))]
    wires = []
    for idx in itertools.product(*(range(n) for n in shape)):
        x = _hidden(f"an element of {text}")
        out.append(_assign(x, _call("float", _element(tmpl, ops, idx))))
        wires.append(x)

    # A NaN: NumPy returns one of the NaNs of the window. (np.isnan, a
    # compare in native code, is a NumPy call in the interpreter: the cost
    # model prices the Python loop's np.median as NumPy calls too.)
    def isnan(x):
        return ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "isnan", ast.Load()), [_load(x)], [])

    out.append(
        _guard(
            ast.BoolOp(ast.Or(), [isnan(x) for x in wires]) if count > 1 else isnan(wires[0]),
            stop_if=True,
        )
    )
    mid = count // 2
    wanted = [mid] if count % 2 else [mid - 1, mid]
    for i, j, lo_needed, hi_needed in _selection(count, wanted):
        a, b = wires[i], wires[j]
        less = ast.Compare(_load(b), [ast.Lt()], [_load(a)])
        if lo_needed:
            lo = _hidden(f"an element of {text}")
            out.append(_assign(lo, ast.IfExp(less, _load(b), _load(a))))
            wires[i] = lo
        if hi_needed:
            hi = _hidden(f"an element of {text}")
            out.append(_assign(hi, ast.IfExp(copy.deepcopy(less), _load(a), _load(b))))
            wires[j] = hi
    floats = f"{FLOATS_PREFIX}{next(_counter)}__"
    total = _hidden(f"the median of {text}")
    if count % 2:
        out.extend(_middle_mean(np_name, floats, total, wires[mid], None))
    else:
        out.extend(_middle_mean(np_name, floats, total, wires[mid - 1], wires[mid]))
    return _median_done(out, total, np_name, facts, attr, text, op, floats, stored, alias, medians)


def _median_done(out, total, np_name, facts, attr, text, op, floats, stored, alias, medians) -> tuple:
    """The lowered median's statements ending with its result as an
    np.float64, and what it assumes added to ``facts``."""
    out.append(
        _assign(
            total, ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "float64", ast.Load()), [_load(total)], [])
        )
    )
    if facts is not None:
        if attr is not None:
            facts.modules.add(attr)
        facts.reductions.append(
            Median(
                text, {op.array: len(op.parts)}, floats, stored, None if alias is None else (alias, medians[alias][1])
            )
        )
    return out, total


def _middle_mean(np_name: str, floats: str, total: str, a: str, b: Optional[str]) -> list:
    """The statements that set ``total`` to NumPy's mean of the middle
    element ``a`` (``b`` None) or of the middle elements ``a`` and ``b``
    (Python floats): from 0.0 (a zero is +0.0), in float32 when ``floats``
    (a hidden input) is 1; a guard for a sum NumPy warns of."""

    def to_float32(var: str) -> ast.stmt:
        # float32 elements: NumPy adds and halves in float32.
        f32 = ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "float32", ast.Load()), [_load(var)], [])
        return ast.If(ast.Compare(_load(floats), [ast.Eq()], [_num(1)]), [_assign(var, _call("float", f32))], [])

    zero = ast.Constant(0.0)
    if b is None:
        return [_assign(total, ast.BinOp(_load(a), ast.Add(), zero))]
    out = [_assign(total, ast.BinOp(ast.BinOp(_load(a), ast.Add(), _load(b)), ast.Add(), zero)), to_float32(total)]

    def infinite(v):
        return ast.BoolOp(
            ast.Or(),
            [
                ast.Compare(_load(v), [ast.Eq()], [ast.Constant(math.inf)]),
                ast.Compare(_load(v), [ast.Eq()], [ast.Constant(-math.inf)]),
            ],
        )

    # An infinity from finite elements (NumPy warns of the overflow), or
    # NaN from opposite infinities (NumPy warns of the invalid value).
    broke = ast.BoolOp(
        ast.Or(),
        [
            ast.Compare(_load(total), [ast.NotEq()], [_load(total)]),
            ast.BoolOp(
                ast.And(),
                [infinite(total), ast.UnaryOp(ast.Not(), infinite(a)), ast.UnaryOp(ast.Not(), infinite(b))],
            ),
        ],
    )
    out.append(_guard(broke, stop_if=True))
    out.append(_assign(total, ast.BinOp(_load(total), ast.Mult(), ast.Constant(0.5))))
    out.append(to_float32(total))
    return out


def _lower_median_unknown(text, op, tmpl, ops, length, np_name) -> tuple:
    """(statements, result variable, the hidden input of float32) of the
    median of a 1-D window whose length is known when the statement runs
    (``np.median(x[i:i + w])``): each element's rank counted against the
    others (loops over hidden indices), the middle one or two kept; a guard
    stops the native code for a length outside 1 to MAX_MEDIAN."""

    def loop(var, body):
        # The engine reads a loop's bounds from the names known before the
        # nest: the length's expression, not the hidden variable.
        return ast.For(ast.Name(var, ast.Store()), _call("range", copy.deepcopy(length)), body, [], None)

    def element(at: str) -> ast.expr:
        return _call("float", _element(tmpl, ops, [_load(at)]))

    def plus_if(var, test):
        return _assign(var, ast.BinOp(_load(var), ast.Add(), ast.IfExp(test, _num(1), _num(0))))

    def ranks(lo_var, rank_var):
        # less <= rank < less or equal: the element sorted at ``rank``
        return ast.Compare(_load(lo_var), [ast.LtE(), ast.Lt()], [_load(rank_var), _load(leq)])

    n = _hidden("the slice's length")
    out: list = [_assign(n, copy.deepcopy(length))]
    conds = [
        ast.Compare(_load(n), [ast.GtE()], [_num(1)]),
        ast.Compare(_load(n), [ast.LtE()], [_num(MAX_MEDIAN)]),
    ]
    for d, (kind_d, e) in enumerate(op.parts):
        if kind_d == "slice":
            conds.append(ast.Compare(copy.deepcopy(e), [ast.GtE()], [_num(0)]))
            conds.append(ast.Compare(_add(copy.deepcopy(e), _load(n)), [ast.LtE()], [_dim(op.array, d)]))
    out.append(_guard(_all(conds)))
    k, m = _hidden("the slice's index"), _hidden("the slice's index")
    v, u = _hidden(f"an element of {text}"), _hidden(f"an element of {text}")
    less, leq = _hidden(f"a rank in {text}"), _hidden(f"a rank in {text}")
    ra, rb = _hidden(f"a rank in {text}"), _hidden(f"a rank in {text}")
    a, b = _hidden(f"the median of {text}"), _hidden(f"the median of {text}")
    isnan = ast.Call(ast.Attribute(ast.Name(np_name, ast.Load()), "isnan", ast.Load()), [_load(v)], [])
    # A NaN: NumPy returns one of the NaNs of the window.
    out.append(loop(k, [_assign(v, element(k)), _guard(isnan, stop_if=True)]))
    out.append(_assign(ra, ast.BinOp(ast.BinOp(_load(n), ast.Sub(), _num(1)), ast.FloorDiv(), _num(2))))
    out.append(_assign(rb, ast.BinOp(_load(n), ast.FloorDiv(), _num(2))))
    out.append(_assign(a, ast.Constant(0.0)))
    out.append(_assign(b, ast.Constant(0.0)))
    count = [
        _assign(u, element(m)),
        plus_if(less, ast.Compare(_load(u), [ast.Lt()], [_load(v)])),
        plus_if(leq, ast.Compare(_load(u), [ast.LtE()], [_load(v)])),
    ]
    body = [
        _assign(v, element(k)),
        _assign(less, _num(0)),
        _assign(leq, _num(0)),
        loop(m, count),
        ast.If(ranks(less, ra), [_assign(a, _load(v))], []),
        ast.If(ranks(less, rb), [_assign(b, _load(v))], []),
    ]
    out.append(loop(k, body))
    floats = f"{FLOATS_PREFIX}{next(_counter)}__"
    total = _hidden(f"the median of {text}")
    odd = ast.Compare(ast.BinOp(_load(n), ast.Mod(), _num(2)), [ast.Eq()], [_num(1)])
    out.append(ast.If(odd, _middle_mean(np_name, floats, total, a, None), _middle_mean(np_name, floats, total, a, b)))
    return out, total, floats


def median_broken(r: Median, env: dict) -> Optional[str]:
    """Why the values of ``env`` do not fit the lowered median ``r`` (a
    sentence), or None."""
    (array,) = r.ndims
    dt = env[array].dtype
    if dt.kind in "iub" or dt == numpy.float64:
        return None
    if dt == numpy.float32:
        if r.stored is not None and type(env.get(r.stored)) is numpy.ndarray:
            return None
        return (
            f"{r.text} is an np.float32 for float32 elements, which native code gives only when it is "
            f"stored straight into an array element, so the loop runs as plain Python"
        )
    return (
        f"the elements of {r.text} are {dt}, whose median native code does not compute as NumPy does "
        f"(it takes integers, bool, float32 and float64), so the loop runs as plain Python"
    )


def median_names(node: ast.AST, resolver) -> dict:
    """The names ``node`` calls that are NumPy's median under another
    spelling (``from numpy import median``): name -> (a name of the numpy
    module where the code runs, its meaning), when there is one."""
    if resolver is None:
        return {}
    calls = {
        n.func.id
        for n in walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in _NUMPY
    }
    stored = {n.id for n in walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    out = {}
    for name in sorted(calls - stored):
        try:
            m = resolver.meaning(name)
        except Exception:
            m = None
        if m is None or m.module != "np" or m.attr != "median":
            continue
        for np_name in _NUMPY:
            if np_name in stored:
                continue
            bound = resolver._imports.get(np_name) if hasattr(resolver, "_imports") else None
            if resolver.value(np_name) is numpy or (bound is not None and bound.module == "np" and bound.attr is None):
                out[name] = (np_name, m)
                break
    return out


def _why_median_stays(c: ast.Call, medians: dict) -> Optional[str]:
    """Why the call ``c`` of np.median was not lowered, for the user, or None."""
    text = ast.unparse(c)
    example = "(np.median(img[i - 1:i + 2, j - 1:j + 2]))"
    if c.keywords:
        names = ", ".join(f"{k.arg}=" if k.arg else "**" for k in c.keywords)
        return (
            f"{text} passes {names}, which native code does not compute: only the median of a small window "
            f"with no other argument {example} runs natively"
        )
    if len(c.args) != 1 or isinstance(c.args[0], ast.Starred):
        return None
    arg = c.args[0]
    if isinstance(arg, ast.Subscript):
        for p in _parts(arg):
            if isinstance(p, ast.Slice) and p.upper is not None and (p.step is None or _int_literal(p.step) == 1):
                n = _difference(p.upper, p.lower if p.lower is not None else ast.Constant(0))
                if isinstance(n, int) and n <= 0:
                    return f"{text} takes an empty window (NumPy warns and gives nan)"
    ops: list = []
    if _operands(arg, ops) != ("read", 0) or ops[0].parts is None:
        return (
            f"{text} takes the median of {ast.unparse(c.args[0])}, which native code computes only for one "
            f"slice of an array with its lengths written in the subscripts {example}"
        )
    shape = ops[0].shape
    if not all(isinstance(k, int) for k in shape):
        return (
            f"{text} takes a window of {len(shape)} dimensions whose lengths are known only when the loop runs; "
            f"native code computes the median of such windows in one dimension (np.median(x[i:i + w])), "
            f"otherwise of lengths written as constants in the subscripts {example}"
        )
    count = math.prod(shape)
    if count > MAX_MEDIAN:
        return (
            f"{text} takes a window of {count} elements; native code computes the median of windows of at "
            f"most {MAX_MEDIAN} elements (7x7)"
        )
    return None


def _why_medians_stay(node: ast.AST, medians: dict, facts) -> None:
    """A sentence in ``facts.unlowered`` (by line) for each np.median call
    of ``node`` left as it is, which the front end declines."""
    for n in walk(node):
        if not isinstance(n, ast.Call):
            continue
        f = n.func
        spelled = (isinstance(f, ast.Attribute) and f.attr == "median" and isinstance(f.value, ast.Name)) and (
            f.value.id in _NUMPY
        )
        if not (spelled or (isinstance(f, ast.Name) and f.id in medians)):
            continue
        why = _why_median_stays(n, medians)
        if why is not None and getattr(n, "lineno", None) is not None:
            facts.unlowered.setdefault(n.lineno, why + ", so the loop runs as plain Python")
