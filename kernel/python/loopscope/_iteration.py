"""Loops that do not iterate a ``range``, lowered to index loops.

``for x in a``, ``for i, x in enumerate(a[, start])``, ``for x in
reversed(a)``, ``for i in reversed(range(...))`` and ``for x, y in zip(a,
b)`` are loops over an index in disguise. In the copy of a nest that only the
front end reads (like the inlined calls of ``_inline``), each becomes a
``range`` loop that reads the element:

    for x in a:                  for $index_of_x in range(len(a)):
        body                         x = a[$index_of_x]
                                     body
    for i, x in enumerate(a, s): for i in range(s, s + len(a)):
                                     x = a[i - s]
    for x in reversed(a):        for $index_of_x in range(len(a) - 1, -1, -1):
                                     x = a[$index_of_x]
    for i in reversed(range(n)): for i in range(n - 1, -1, -1)
    for x, y in zip(a, b):       for $index_of_x in range(min(len(a), len(b))):
                                     x = a[$index_of_x]; y = b[$index_of_x]

The index is a hidden name (never written back, and shown to the user as the
loop's variable: ``_records.shown``); ``x`` and ``i`` keep the
values Python leaves after the loop (the last element, or their old values
when the loop runs no iteration). ``len(a)`` is read before the loop, as
``len(a)`` in a bound always is; ``a`` must be a one-dimensional NumPy array
when the nest runs (anything else, a list, or a 2-D array whose rows ``x``
is used as a number, runs the loop as Python: the binding or the typing
declines). Python iterates a NumPy array by reading element ``k`` at step
``k`` as the loop runs, which is what the index loop does.

More forms (``lower_with_facts``; what they assume of the values is checked
when the nest runs, ``values_broken``, and declines with a sentence):

    while c: body [else: e]      for $while in range(1):    (a nest starts
                                     while c: body [else: e]  with a for)
    for d in (-1, 0, 1):         for d in range(-1, 2, 1)
    for d in (3, 1, 4):          for $index_of_d in range(3):
                                     d = 3 if $index_of_d == 0 else ...
    for dx, dy in [(0, 1), ...]: for $index_of_dx in range(4):
    (also for w in (0.5, 1.5))       dx = 0 if $index_of_dx == 0 else ...; dy = ...
    for dx, dy in a:             for $index_of_dx in range(len(a)):
                                     dx = a[$index_of_dx, 0]; dy = a[$index_of_dx, 1]
    for row in a:                for $index_of_row in range(len(a)):
        ... row[j], len(row),        row = $index_of_row
        row.shape[0], for x in row   ... a[$index_of_row, j], a.shape[1] ...
    for i, j in np.ndindex(n, m):  for $index_of_i in range(n):
    (also np.ndindex(a.shape),       for $index_of_j in range(m):
    np.ndenumerate(a), a.flat)           i = $index_of_i; j = $index_of_j
    k = 0; for k in range(n):    for $index_of_k in range(n): k = $index_of_k

- ``for dx, dy in a``: ``a`` has two dimensions, rows of as many items as
  the names (``Facts.unpacked``; a list or tuple of pairs is such an array:
  ``_lists``).
- ``len(m[k])`` (``k`` an int constant) is ``m.shape[1]``, read before the
  loop like ``len(m)``: ``m`` must have at least two dimensions and a row
  ``k`` (``Facts.row_read``; a list of rows of one length is such an array).
- ``len(m[i])`` (``i`` an index that varies, in a statement inside the nest,
  or in the test of a while that assigns no name ``i`` reads) is ``m.shape[1]`` too, once ``m`` has a row ``i``: a
  hidden read ``$row_of_m_N = m[i][0]`` just before the statement makes the
  engine prove ``i`` in range before it runs, or stop and let Python raise
  its IndexError with its own partial writes (``Facts.row_length``: ``m``
  must have two dimensions and rows that are not empty, else the loop runs
  as Python). Rows of different lengths (a ragged list of lists) run as
  Python (``_lists`` says so); any other ``len`` the front end declines with
  a sentence about ``len``.
- A row used only as an array: the front end sees the row's index under the
  row's name, and the write-back makes it the row Python leaves, the view
  ``a[index]`` (``Facts.views``); ``a``'s number of dimensions must fit.
- ``np.ndindex`` and ``np.ndenumerate`` unpacked to names (a whole index
  tuple runs as Python), with no ``break`` (which would leave only the
  innermost loop); the names are assigned in the innermost body, so that a
  dimension of 0 leaves them as Python does; counts must be ints >= 0 (NumPy
  raises otherwise) and ``np`` NumPy itself. ``a.flat`` is read with as many
  indices as the nest's other subscripts of ``a`` have (else 2).
- A loop variable that the nest also assigns otherwise (``k = 0``) is a copy
  of a hidden index (only then: the copy hides ``k`` from the affine
  analysis).
- In the test of an if, a while or a conditional expression, the operands
  of and/or that are not truth values are compared with 0
  (``if i > 0 and labels[i, j]``): the front end types the value of and/or,
  which there only counts as true or false.
"""

import ast
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import numpy

from . import _lists
from ._records import HIDDEN_INDEX, HIDDEN_WHILE, show_hidden_as
from ._walk import copy_tree, parent_map, same_tree, walk


def _name(n) -> Optional[str]:
    return n.id if isinstance(n, ast.Name) else None


def _call(n, fn: str, lo: int, hi: int) -> bool:
    return (
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == fn
        and lo <= len(n.args) <= hi
        and not n.keywords
        and not any(isinstance(a, ast.Starred) for a in n.args)
    )


def _len(array: str) -> ast.expr:
    return ast.Call(ast.Name("len", ast.Load()), [ast.Name(array, ast.Load())], [])


def _range(*args: ast.expr) -> ast.expr:
    return ast.Call(ast.Name("range", ast.Load()), list(args), [])


def _int(v: int) -> ast.expr:
    return ast.Constant(v) if v >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-v))


def _element(target: str, array: str, index: ast.expr) -> ast.stmt:
    value = ast.Subscript(ast.Name(array, ast.Load()), index, ast.Load())
    return ast.Assign(targets=[ast.Name(target, ast.Store())], value=value)


def _lowered(loop: ast.For):
    """``(target, iter, first statements of the body)`` of the index loop
    that ``loop`` is, or None when it is not one of the forms above."""
    it, tgt = loop.iter, loop.target
    if _call(it, "range", 1, 3):
        return None  # already an index loop
    array = _name(it)
    if array is not None and _name(tgt):
        index = HIDDEN_INDEX + tgt.id
        return index, _range(_len(array)), [_element(tgt.id, array, ast.Name(index, ast.Load()))]
    names = _names_of(tgt) if array is not None else None
    if names is not None:
        # for dx, dy in offsets: the items of row k (a 2-D array, or a list of pairs: _lists)
        index = HIDDEN_INDEX + names[0]
        body = [
            _element(x, array, ast.Tuple([ast.Name(index, ast.Load()), ast.Constant(k)], ast.Load()))
            for k, x in enumerate(names)
        ]
        return index, _range(_len(array)), body
    if _call(it, "enumerate", 1, 2) and _name(it.args[0]) and isinstance(tgt, ast.Tuple) and len(tgt.elts) == 2:
        i, x = (_name(e) for e in tgt.elts)
        start = it.args[1] if len(it.args) == 2 else ast.Constant(0)
        if i is None or x is None or i == x or not (isinstance(start, ast.Constant) and type(start.value) is int):
            return None
        array, s = it.args[0].id, start.value
        stop = ast.BinOp(_int(s), ast.Add(), _len(array)) if s else _len(array)
        index = ast.BinOp(ast.Name(i, ast.Load()), ast.Sub(), _int(s)) if s else ast.Name(i, ast.Load())
        return i, _range(_int(s), stop) if s else _range(stop), [_element(x, array, index)]
    if _call(it, "zip", 1, 8) and all(_name(a) for a in it.args):
        names = [_name(e) for e in tgt.elts] if isinstance(tgt, ast.Tuple) else []
        if len(names) != len(it.args) or None in names or len(set(names)) != len(names):
            return None
        arrays = [a.id for a in it.args]
        index = HIDDEN_INDEX + names[0]
        # zip stops with its shortest iterable: a length read before the loop
        # (_rewrite._expression_value), a symbol named by its text.
        length = ast.Name("min(" + ", ".join(f"len({a})" for a in arrays) + ")", ast.Load())
        body = [_element(x, a, ast.Name(index, ast.Load())) for x, a in zip(names, arrays)]
        return index, _range(length), body
    if _call(it, "reversed", 1, 1):
        inner = it.args[0]
        if _name(inner) and _name(tgt):
            index = HIDDEN_INDEX + tgt.id
            last = ast.BinOp(_len(inner.id), ast.Sub(), ast.Constant(1))
            body = [_element(tgt.id, inner.id, ast.Name(index, ast.Load()))]
            return index, _range(last, _int(-1), _int(-1)), body
        if _call(inner, "range", 1, 2) and _name(tgt):
            # reversed(range(a, b)) is range(b - 1, a - 1, -1), a step of 1 reversed.
            a, b = (ast.Constant(0), inner.args[0]) if len(inner.args) == 1 else inner.args
            return (
                tgt.id,
                _range(ast.BinOp(b, ast.Sub(), ast.Constant(1)), ast.BinOp(a, ast.Sub(), ast.Constant(1)), _int(-1)),
                [],
            )
    return None


# --- more forms, lowered in the copy only the front end reads ------------------------


def _int_constants(it) -> Optional[List[int]]:
    """The ints of a literal tuple or list of int constants (``(-1, 0, 1)``)."""
    if not isinstance(it, (ast.Tuple, ast.List)):
        return None
    out = []
    for e in it.elts:
        neg = isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub)
        c = e.operand if neg else e
        if not (isinstance(c, ast.Constant) and type(c.value) is int):
            return None
        out.append(-c.value if neg else c.value)
    return out


def _number(e) -> Optional[ast.expr]:
    """An int or float constant, negated or not (``-1``, ``0.5``): itself."""
    c = e.operand if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)) else e
    if isinstance(c, ast.Constant) and type(c.value) in (int, float):
        return e
    return None


def _pick(index: str, values: List[ast.expr]) -> ast.expr:
    """``values[0] if index == 0 else values[1] if index == 1 else ...``."""
    pick = copy_tree(values[-1])
    for k in range(len(values) - 2, -1, -1):
        test = ast.Compare(ast.Name(index, ast.Load()), [ast.Eq()], [ast.Constant(k)])
        pick = ast.IfExp(test, copy_tree(values[k]), pick)
    return pick


def _over_constant_rows(loop: ast.For):
    """``for dx, dy in [(-1, 0), (1, 0), (0, -1), (0, 1)]``: rows of number
    constants, as many in each row as the names they unpack to; a hidden
    index and a choice among the constants for each name. Also ``for w in
    (0.25, 0.5, 0.25)``: numbers that are not all ints."""
    names = _names_of(loop.target)
    it = loop.iter
    if not isinstance(it, (ast.Tuple, ast.List)) or not it.elts:
        return None
    if names is None and _name(loop.target):
        # for w in (0.25, 0.5, 0.25): numbers that are not all ints
        values = [_number(x) for x in it.elts]
        if None in values:
            return None
        index = HIDDEN_INDEX + loop.target.id
        return (
            index,
            _range(ast.Constant(len(values))),
            [ast.Assign(targets=[ast.Name(loop.target.id, ast.Store())], value=_pick(index, values))],
        )
    if names is None:
        return None
    rows = []
    for e in it.elts:
        if not isinstance(e, (ast.Tuple, ast.List)) or len(e.elts) != len(names):
            return None  # Python raises ValueError when a row does not unpack
        row = [_number(x) for x in e.elts]
        if None in row:
            return None
        rows.append(row)
    index = HIDDEN_INDEX + names[0]
    body = [
        ast.Assign(targets=[ast.Name(x, ast.Store())], value=_pick(index, [row[k] for row in rows]))
        for k, x in enumerate(names)
    ]
    return index, _range(ast.Constant(len(rows))), body


def _over_constants(loop: ast.For):
    """``for d in (-1, 0, 1)``: a range when the constants step evenly, else
    a hidden index and a choice among the constants."""
    values = _int_constants(loop.iter)
    if values is None or not _name(loop.target):
        return _over_constant_rows(loop)
    d = loop.target.id
    if not values:
        return d, _range(ast.Constant(0)), []
    step = values[1] - values[0] if len(values) > 1 else 1
    if step and all(b - a == step for a, b in zip(values, values[1:])):
        return d, _range(_int(values[0]), _int(values[-1] + step), _int(step)), []
    index = HIDDEN_INDEX + d
    pick: ast.expr = _int(values[-1])
    for k in range(len(values) - 2, -1, -1):
        test = ast.Compare(ast.Name(index, ast.Load()), [ast.Eq()], [ast.Constant(k)])
        pick = ast.IfExp(test, _int(values[k]), pick)
    assign = ast.Assign(targets=[ast.Name(d, ast.Store())], value=pick)
    return index, _range(ast.Constant(len(values))), [assign]


NUMPY_NAMES = ("np", "numpy")
_FLAT_COUNTER = itertools.count(1)  # numbers the hidden indices of a.flat
_ROW_COUNTER = itertools.count(1)  # numbers the hidden reads that check a row of len(m[i])


def _numpy_call(n, fn: str) -> bool:
    return (
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id in NUMPY_NAMES
        and n.func.attr == fn
        and not n.keywords
    )


def _names_of(t) -> Optional[List[str]]:
    """The distinct names of a tuple target ``i, j`` (None otherwise)."""
    if not isinstance(t, (ast.Tuple, ast.List)) or not t.elts:
        return None
    names = [_name(e) for e in t.elts]
    if None in names or len(set(names)) != len(names):
        return None
    return names


def _breaks(body) -> bool:
    """Whether a break in ``body`` leaves the loop whose body it is."""
    for s in body:
        if isinstance(s, ast.Break):
            return True
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(s, (ast.For, ast.AsyncFor, ast.While)) and _breaks(s.orelse):
                return True
            continue
        for part in ("body", "orelse", "finalbody", "handlers", "cases"):  # handlers and cases have a body
            block = getattr(s, part, None)
            if isinstance(block, list) and _breaks(block):
                return True
    return False


def _dims_of(loop: ast.For, facts: "Facts", subscript_dims: Dict[str, int]):
    """``(names, bounds, array, elements)`` of the index loops an n-D
    iteration is: ``np.ndindex(n, m)``, ``np.ndindex(a.shape)``,
    ``np.ndenumerate(a)``, ``a.flat``; None for any other loop. ``names``
    are the user's index variables (None for ``a.flat``), ``elements`` the
    name assigned the element (or None)."""
    it, tgt = loop.iter, loop.target
    if _numpy_call(it, "ndindex") and not any(isinstance(a, ast.Starred) for a in it.args[1:]):
        names = _names_of(tgt)
        if names is None:
            return None  # the index tuple itself is used: Python leaves a tuple
        args = it.args
        if len(args) == 1 and isinstance(args[0], ast.Starred):
            args = [args[0].value]
            if not _shape_of(args[0]):
                return None
        if len(args) == 1 and _shape_of(args[0]):
            array = args[0].value.id
            bounds = [_shape(array, k) for k in range(len(names))]
            facts.ndims[array] = len(names)
        elif len(args) == len(names) and all(_bound_name(a) for a in args):
            bounds = list(args)
            facts.counts.update(a.id for a in args if isinstance(a, ast.Name))
        else:
            return None
        facts.modules.add((it.func.value.id, "ndindex"))
        return names, bounds, None, None
    if _numpy_call(it, "ndenumerate") and len(it.args) == 1 and _name(it.args[0]):
        if not (isinstance(tgt, ast.Tuple) and len(tgt.elts) == 2):
            return None
        names, value = _names_of(tgt.elts[0]), _name(tgt.elts[1])
        if names is None or value is None or value in names:
            return None
        array = it.args[0].id
        facts.ndims[array] = len(names)
        facts.modules.add((it.func.value.id, "ndenumerate"))
        return names, [_shape(array, k) for k in range(len(names))], array, value
    if isinstance(it, ast.Attribute) and it.attr == "flat" and _name(it.value) and _name(tgt):
        # As many dimensions as the nest's subscripts of the array have, else
        # two (an image, a grid): checked when the nest runs.
        array = it.value.id
        ndim = subscript_dims.get(array, 2)
        facts.ndims[array] = ndim
        return [None] * ndim, [_shape(array, k) for k in range(ndim)], array, tgt.id
    return None


def _numpy_iteration(it) -> bool:
    """``np.ndindex(...)``, ``np.ndenumerate(...)`` or ``x.flat``."""
    return (
        _numpy_call(it, "ndindex")
        or _numpy_call(it, "ndenumerate")
        or (isinstance(it, ast.Attribute) and it.attr == "flat")
    )


def _why_unlowered(loop: ast.For, breaks: bool) -> str:
    it, tgt = ast.unparse(loop.iter), ast.unparse(loop.target)
    if breaks:
        return (
            f"a break in the loop over {it} would leave only the innermost of the index loops that native "
            f"code runs it as, so the loop runs as plain Python"
        )
    if isinstance(loop.target, ast.Name):
        unpacked = "(i, j), v" if _numpy_call(loop.iter, "ndenumerate") else "i, j"
        return (
            f"{tgt} holds a whole tuple from {it}, which native code does not build; unpack it "
            f"(for {unpacked} in {it}) to run the loop natively"
        )
    return f"the loop over {it} is not in a form native code runs (unpack its indices to names: for i, j in ...)"


def _shape_of(n) -> bool:
    """``a.shape`` (a plain name's)."""
    return isinstance(n, ast.Attribute) and n.attr == "shape" and _name(n.value) is not None


def _shape(array: str, k: int) -> ast.expr:
    return ast.Subscript(ast.Attribute(ast.Name(array, ast.Load()), "shape", ast.Load()), ast.Constant(k), ast.Load())


def _bound_name(a) -> bool:
    """A dimension np.ndindex takes that the nest can check before it runs: a
    plain name (checked to be a non-negative int) or a non-negative int."""
    if isinstance(a, ast.Constant):
        return type(a.value) is int and a.value >= 0
    return isinstance(a, ast.Name)


def _nested(loop: ast.For, names, bounds, array, element, hidden_base: str) -> ast.For:
    """The index loops of an n-D iteration, the user's names assigned at the
    top of the innermost body (so that they keep their values when a
    dimension is 0, as Python leaves them)."""
    indices = [f"{hidden_base}{k}" if n is None else HIDDEN_INDEX + n for k, n in enumerate(names)]
    first: List[ast.stmt] = [
        ast.Assign(targets=[ast.Name(n, ast.Store())], value=ast.Name(ix, ast.Load()))
        for n, ix in zip(names, indices)
        if n is not None
    ]
    if element is not None:
        where = ast.Tuple([ast.Name(ix, ast.Load()) for ix in indices], ast.Load())
        first.append(_element(element, array, where if len(indices) > 1 else where.elts[0]))
    body = first + loop.body
    for k in range(len(indices) - 1, -1, -1):
        inner = ast.For(
            target=ast.Name(indices[k], ast.Store()),
            iter=_range(bounds[k]),
            body=body,
            orelse=loop.orelse if k == 0 else [],
            type_comment=None,
        )
        body = [inner]
    return inner


# A row of a 2-D array used as an array (`for row in a: ... row[j] ...`):
# each use of the row reads the array with the row's index first.


def _row_uses(body: List[ast.stmt], row: str):
    """The uses of ``row`` in ``body`` when every one is an array use
    (``row[...]``, ``len(row)``, ``row.shape[k]``), None when one is not
    (or there is none)."""
    holder = ast.Module(body=body, type_ignores=[])
    parents = parent_map(holder)
    uses = []
    for n in walk(holder):
        if not (isinstance(n, ast.Name) and n.id == row):
            continue
        if not isinstance(n.ctx, ast.Load):
            return None
        p = parents.get(id(n))
        if isinstance(p, ast.Subscript) and p.value is n:
            uses.append(("item", p))
        elif isinstance(p, ast.Call) and _call(p, "len", 1, 1) and p.args[0] is n:
            uses.append(("len", p))
        elif isinstance(p, ast.Attribute) and p.attr == "shape":
            q = parents.get(id(p))
            if not (
                isinstance(q, ast.Subscript)
                and q.value is p
                and isinstance(q.slice, ast.Constant)
                and type(q.slice.value) is int
                and q.slice.value >= 0
            ):
                return None
            uses.append(("shape", q))
        else:
            return None
    return uses or None


class _Substitute(ast.NodeTransformer):
    """Replaces the uses of a row by reads of its array."""

    def __init__(self, row: str, array: str, index: str):
        self.row, self.array, self.index = row, array, index

    def _is_row(self, n) -> bool:
        return isinstance(n, ast.Name) and n.id == self.row

    def visit_Subscript(self, n):
        self.generic_visit(n)
        if self._is_row(n.value):
            rest = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            where = ast.Tuple([ast.Name(self.index, ast.Load())] + list(rest), ast.Load())
            return ast.copy_location(ast.Subscript(ast.Name(self.array, ast.Load()), where, n.ctx), n)
        if (
            isinstance(n.value, ast.Attribute)
            and n.value.attr == "shape"
            and self._is_row(n.value.value)
            and isinstance(n.slice, ast.Constant)
        ):
            return ast.copy_location(_shape(self.array, n.slice.value + 1), n)
        return n

    def visit_Call(self, n):
        self.generic_visit(n)
        if _call(n, "len", 1, 1) and self._is_row(n.args[0]):
            return ast.copy_location(_shape(self.array, 1), n)
        return n


def _stores(root) -> Tuple[Counter, Counter]:
    """How many times each name is a loop's target, and how many times it is
    stored otherwise, in the nest ``root``."""
    targets, others = Counter(), Counter()
    loop_targets = set()
    for n in walk(root):
        if isinstance(n, (ast.For, ast.AsyncFor)):
            for t in walk(n.target):
                if isinstance(t, ast.Name):
                    targets[t.id] += 1
                    loop_targets.add(id(t))
    for n in walk(root):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and id(n) not in loop_targets:
            others[n.id] += 1
    return targets, others


def _subscript_dims(root) -> Dict[str, int]:
    """Arrays subscripted with the same number of indices everywhere in the
    nest: that number (what ``a.flat`` is lowered for)."""
    seen: Dict[str, Set[int]] = {}
    for n in walk(root):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            k = len(n.slice.elts) if isinstance(n.slice, ast.Tuple) else 1
            seen.setdefault(n.value.id, set()).add(k)
    return {a: next(iter(ks)) for a, ks in seen.items() if len(ks) == 1}


@dataclass
class Facts:
    """What the lowered copy of a nest assumes, checked when it runs
    (``_rewrite.bind_env``), and how some names are written back.

    - ``views``: a loop over the rows of an array whose variable is used as an
      array (``for row in a``): the front end sees the row's index under the
      row's name, written back as the row itself, ``a[index]``;
    - ``ndims``: arrays whose number of dimensions the lowering assumes;
    - ``counts``: names that must hold non-negative ints (``np.ndindex(n, m)``);
    - ``modules``: ``(module name, attribute)`` the user's loops call
      (``np.ndindex``): still NumPy's own when the nest runs;
    - ``unlowered``: why a NumPy iteration stays as it is, by line;
    - ``reductions``: the reductions of slices ``_slices`` lowered
      (``_slices.Reduction``), checked by ``_slices.values_broken``."""

    views: Dict[str, str] = field(default_factory=dict)
    ndims: Dict[str, int] = field(default_factory=dict)
    counts: Set[str] = field(default_factory=set)
    modules: Set[Tuple[str, str]] = field(default_factory=set)
    # NumPy iterations left as they are (the index tuple used whole, a
    # break): line -> why, for the user (the front end declines them).
    unlowered: Dict[int, str] = field(default_factory=dict)
    reductions: list = field(default_factory=list)
    # Arrays iterated row by row (`for row in a`, `for dx, dy in a`): a list
    # or tuple of rows may be them too (_lists.Snapshot).
    rows_of: Set[str] = field(default_factory=set)
    # `for dx, dy in a`: array -> (the number of names its rows unpack to, the loop's header).
    unpacked: Dict[str, Tuple[int, str]] = field(default_factory=dict)
    # `len(m[k])` read as m.shape[1]: m -> the largest row it reads (k, or -k - 1 for k < 0).
    row_read: Dict[str, int] = field(default_factory=dict)
    # `len(m[i])` with a row index that varies, read as m.shape[1]: m -> the call as written.
    row_length: Dict[str, str] = field(default_factory=dict)


def values_broken(facts: Facts, env: dict) -> Optional[str]:
    """Why the values of ``env`` do not fit what the lowering of the nest
    assumed (a sentence), or None."""
    for array, ndim in sorted(facts.ndims.items()):
        obj = env.get(array)
        if type(obj) is not numpy.ndarray and not (array in facts.rows_of and type(obj) is _lists.Snapshot):
            return f"{array} is not a NumPy array, so the loop over its elements runs as plain Python"
        if obj.ndim != ndim:
            return (
                f"{array} has {obj.ndim} dimension(s), but the loop reads it as an array of {ndim}, "
                f"so it runs as plain Python"
            )
    for array, k in sorted(facts.row_read.items()):
        obj = env.get(array)
        if type(obj) is not numpy.ndarray and type(obj) is not _lists.Snapshot:
            return f"{array} is not a NumPy array or a list of rows, so len({array}[...]) is computed by Python"
        if obj.ndim < 2 or len(obj) <= k:
            return (
                f"{array} has no row {k} whose length len({array}[...]) reads, so the loop runs as plain Python, "
                f"which raises where it reads it"
            )
    for array, text in sorted(facts.row_length.items()):
        obj = env.get(array)
        if type(obj) is not numpy.ndarray and type(obj) is not _lists.Snapshot:
            return f"{array} is not a NumPy array or a list of rows, so {text} is computed by Python"
        if obj.ndim != 2:
            return (
                f"{text} reads the length of a row of {array}, which has {obj.ndim} dimension(s) (native code "
                f"reads it for two), so the loop runs as plain Python"
            )
        if obj.shape[1] == 0:
            return f"the rows of {array} are empty, so the loop that reads {text} runs as plain Python"
    for array, (width, text) in sorted(facts.unpacked.items()):
        if env[array].shape[1] != width:
            return (
                f"the rows of {array} have {env[array].shape[1]} items but the loop unpacks {width} ({text}): "
                f"Python raises ValueError, so the loop runs as plain Python"
            )
    for name in sorted(facts.counts):
        value = env.get(name)
        if not (type(value) is int or isinstance(value, numpy.integer)) or value < 0:
            return (
                f"np.ndindex is given {name} = {value!r}, not a count (an int >= 0), so the loop runs as plain Python"
            )
    return None


def is_index_loop(node) -> bool:
    """Whether ``node`` starts a nest: a ``for`` loop over a ``range`` or one
    of the forms this module lowers to one, or a ``while`` loop."""
    if isinstance(node, ast.While):
        return True
    if not isinstance(node, ast.For) or node.orelse:
        return False
    if _call(node.iter, "range", 1, 3) and isinstance(node.target, ast.Name):
        return True
    if _lowered(node) is not None or _over_constants(node) is not None:
        return True
    return _dims_of(node, Facts(), _subscript_dims(node)) is not None or _numpy_iteration(node.iter)


def lower(node) -> ast.stmt:
    """``node`` with every loop of the forms above turned into an index loop
    (a copy; ``node`` itself when there is none)."""
    return lower_with_facts(node)[0]


def lower_with_facts(node) -> Tuple[ast.stmt, Facts]:
    """``(the lowered copy of node, its Facts)``. A ``while`` loop at the
    root becomes the body of a loop of one iteration over a hidden name
    (``HIDDEN_WHILE``): a nest starts with a ``for``."""
    facts = Facts()
    targets, others = _stores(node)
    dims = _subscript_dims(node)
    if not isinstance(node, ast.While) and not any(
        (isinstance(n, ast.For) and _to_lower(n, targets, others, dims))
        or (isinstance(n, (ast.If, ast.While, ast.IfExp)) and _as_condition(n.test) is not n.test)
        or _row_length(n) is not None
        or _row_length_varying(n) is not None
        for n in walk(node)
    ):
        return node, facts  # nothing to lower: no copy

    class Lower(ast.NodeTransformer):
        # The statements being visited, outermost first, and the checks
        # (`$row_of_m = m[i][0]`) each needs just before it.
        statements: list = []

        def visit(self, n):
            if not isinstance(n, ast.stmt):
                return super().visit(n)
            self.statements = self.statements + [(n, [])]
            try:
                out = super().visit(n)
                checks = self.statements[-1][1]
            finally:
                self.statements = self.statements[:-1]
            if not checks:
                return out
            return checks + (out if isinstance(out, list) else [out])

        def visit_For(self, n):
            self.generic_visit(n)
            found = _lowered(n)
            if _name(n.iter) and _name(n.target) and n.target.id not in facts.views:
                row, array = n.target.id, n.iter.id
                if (
                    targets[row] == 1
                    and not others[row]
                    and not others[array]
                    and not targets[array]
                    and array not in facts.views
                    and (uses := _row_uses(n.body, row)) is not None
                ):
                    index = HIDDEN_INDEX + row
                    ks = {len(p.slice.elts) if isinstance(p.slice, ast.Tuple) else 1 for k, p in uses if k == "item"}
                    if len(ks) == 1 and array not in facts.ndims:
                        facts.ndims[array] = 1 + ks.pop()  # rows of this many dimensions, read element by element
                    n.body = [_Substitute(row, array, index).visit(s) for s in n.body]
                    facts.views[row] = array
                    facts.rows_of.add(array)
                    # The front end sees the row's index under the row's name.
                    found = (index, _range(_len(array)), [_element_index(row, index)])
            names = _names_of(n.target) if found is not None and _name(n.iter) else None
            if names is not None:
                array = n.iter.id
                facts.ndims[array] = 2
                facts.rows_of.add(array)
                width = len(names) if facts.unpacked.get(array, (len(names),))[0] == len(names) else -1
                facts.unpacked[array] = (width, f"for {ast.unparse(n.target)} in {array}")
            if found is None:
                found = _over_constants(n)
            if found is None:
                nd = _dims_of(n, facts, dims)
                if nd is not None and not _breaks(n.body):
                    base = f"$flat{next(_FLAT_COUNTER)}_"
                    for k in range(len(nd[0])):
                        show_hidden_as(f"{base}{k}", ast.unparse(n.target))
                    made = _nested(n, *nd, base)
                    _locate(made, n)
                    return made
                if _numpy_iteration(n.iter):
                    facts.unlowered[n.lineno] = _why_unlowered(n, nd is not None)
            if found is None and _call(n.iter, "range", 1, 3) and _name(n.target):
                found = (n.target.id, n.iter, [])
            if found is None:
                return n
            target, it, first = found
            if not target.startswith("$") and others[target] and targets[target] == 1:
                # The loop's variable is also assigned otherwise in the nest:
                # the loop runs over a hidden index that it copies.
                first = [_element_index(target, HIDDEN_INDEX + target)] + first
                target = HIDDEN_INDEX + target
            elif target == getattr(n.target, "id", None) and it is n.iter:
                return n  # a range loop as it is
            n.target = ast.Name(target, ast.Store())
            n.iter = it
            n.body = first + n.body
            _locate(n, n)
            return n

        def visit_If(self, n):
            self.generic_visit(n)
            n.test = _as_condition(n.test)
            return n

        visit_While = visit_IfExp = visit_If

        def visit_Call(self, n):
            self.generic_visit(n)
            found = _row_length(n)
            if found is None:
                return self._varying_row_length(n) or n
            array, k = found
            # len(m[k]): the length of m's rows (a 2-D array, or a list of
            # rows of one length: _lists), when m has a row k.
            facts.rows_of.add(array)
            facts.row_read[array] = max(facts.row_read.get(array, 0), k if k >= 0 else -k - 1)
            return ast.copy_location(_shape(array, 1), n)

        def _varying_row_length(self, n):
            # len(m[i]), i an index that varies: m.shape[1] once m has a row
            # i. A hidden read of m[i][0] just before the statement makes the
            # engine prove i in range (or stop and let Python raise its
            # IndexError); in a while's test (read again at every pass) only
            # when the while assigns no name of i; not at the nest's root
            # (nothing before it in the nest).
            found = _row_length_varying(n)
            if found is None or len(self.statements) < 2:
                return None
            array, index = found
            where = self.statements[-1][0]
            if isinstance(where, ast.While):
                read = {m.id for m in walk(index) if isinstance(m, ast.Name)}
                if any(
                    isinstance(m, ast.Name) and not isinstance(m.ctx, ast.Load) and m.id in read for m in walk(where)
                ):
                    return None
            if targets[array] or others[array]:
                return None
            facts.row_length.setdefault(array, ast.unparse(n))
            hidden = f"$row_of_{array}_{next(_ROW_COUNTER)}"
            show_hidden_as(hidden, ast.unparse(n))
            check = ast.Assign(
                targets=[ast.Name(hidden, ast.Store())],
                value=ast.Subscript(
                    ast.Subscript(ast.Name(array, ast.Load()), copy_tree(index), ast.Load()),
                    ast.Constant(0),
                    ast.Load(),
                ),
            )
            _locate(check, self.statements[-1][0])
            self.statements[-1][1].append(check)
            return ast.copy_location(_shape(array, 1), n)

    copied = copy_tree(node)
    out = Lower().visit(copied)
    if isinstance(node, ast.While):
        out = ast.For(
            target=ast.Name(HIDDEN_WHILE, ast.Store()),
            iter=_range(ast.Constant(1)),
            body=[out],
            orelse=[],
            type_comment=None,
        )
        _locate(out, node)
    elif not _changed(node, out):
        return node, facts
    return out, facts


def _row_length(n) -> Optional[Tuple[str, int]]:
    """``(m, k)`` of ``len(m[k])`` (``k`` an int constant), else None."""
    if not (_call(n, "len", 1, 1) and isinstance(n.args[0], ast.Subscript) and _name(n.args[0].value)):
        return None
    k = _int_constants(ast.Tuple([n.args[0].slice], ast.Load()))
    return (n.args[0].value.id, k[0]) if k else None


def _row_length_varying(n) -> Optional[Tuple[str, ast.expr]]:
    """``(m, i)`` of ``len(m[i])`` whose index ``i`` is one expression that
    is not an int constant (a slice or a tuple is not one), else None."""
    if not (_call(n, "len", 1, 1) and isinstance(n.args[0], ast.Subscript) and _name(n.args[0].value)):
        return None
    index = n.args[0].slice
    if isinstance(index, (ast.Slice, ast.Tuple, ast.Starred)) or _row_length(n) is not None:
        return None
    return n.args[0].value.id, index


def _to_lower(n: ast.For, targets: Counter, others: Counter, dims: Dict[str, int]) -> bool:
    """Whether ``lower_with_facts`` may lower the loop ``n`` (a cheap test)."""
    if _lowered(n) is not None or _over_constants(n) is not None:
        return True
    if _dims_of(n, Facts(), dims) is not None or _numpy_iteration(n.iter):
        return True
    return _call(n.iter, "range", 1, 3) and _name(n.target) is not None and others[n.target.id] > 0


# `if i > 0 and labels[i, j]:` only asks whether each operand is true, but
# the value of `and` is one of its operands, which the front end types: here
# each operand that is not already a truth value is compared with 0, which
# is its truth for every number (0, 0.0, -0.0, 0j are false, NaN is true).


def _is_truth(v) -> bool:
    return (
        isinstance(v, ast.Compare)
        or (isinstance(v, ast.Constant) and type(v.value) is bool)
        or (isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.Not))
    )


def _as_condition(test: ast.expr) -> ast.expr:
    """``test`` of an if, a while or a conditional expression with the
    operands of its and/or made truth values (``test`` itself when none
    needs it)."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _as_condition(test.operand)
        return test if inner is test.operand else ast.copy_location(ast.UnaryOp(ast.Not(), inner), test)
    if not isinstance(test, ast.BoolOp):
        return test
    values = []
    for v in test.values:
        if isinstance(v, ast.BoolOp) or (isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.Not)):
            w = _as_condition(v)
        elif _is_truth(v):
            w = v
        else:
            w = ast.copy_location(ast.Compare(v, [ast.NotEq()], [ast.Constant(0)]), v)
        values.append(w)
    if all(a is b for a, b in zip(values, test.values)):
        return test
    return ast.copy_location(ast.BoolOp(test.op, values), test)


def _changed(a, b) -> bool:
    return not same_tree(a, b)


def _element_index(target: str, index: str) -> ast.stmt:
    return ast.Assign(targets=[ast.Name(target, ast.Store())], value=ast.Name(index, ast.Load()))


def _locate(made, where):
    """What was made for a loop is at the loop's line."""
    for m in walk(made):
        if "lineno" in m._attributes and not hasattr(m, "lineno"):
            ast.copy_location(m, where)


def loop_names(node) -> str:
    """The loop's variable(s), as written ("while" for a while loop)."""
    if isinstance(node, ast.While):
        return "while"
    return ast.unparse(node.target)


def builtins_called(node) -> set:
    """The builtins the loops of ``node`` iterate with (``enumerate``,
    ``reversed``, ``zip``): the lowered copy no longer calls them, but the user's code
    does, so they must still be Python's own when the nest runs."""
    return {
        n.iter.func.id
        for n in walk(node)
        if isinstance(n, ast.For)
        and isinstance(n.iter, ast.Call)
        and isinstance(n.iter.func, ast.Name)
        and n.iter.func.id in ("enumerate", "reversed", "zip")
    }
