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
when the nest runs (anything else, a list or a 2-D array whose rows would be
views, runs the loop as Python: the binding or the typing declines). Python
iterates a NumPy array by reading element ``k`` at step ``k`` as the loop
runs, which is what the index loop does.
"""

import ast
import copy
from typing import Optional

from ._records import HIDDEN_INDEX


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


def is_index_loop(node) -> bool:
    """Whether ``node`` is a ``for`` loop over a ``range`` or one of the
    forms this module lowers to one."""
    if not isinstance(node, ast.For) or node.orelse:
        return False
    if _call(node.iter, "range", 1, 3) and isinstance(node.target, ast.Name):
        return True
    return _lowered(node) is not None


def lower(node: ast.For) -> ast.For:
    """``node`` with every loop of the forms above turned into an index loop
    (a copy; ``node`` itself when there is none)."""
    if not any(isinstance(n, ast.For) and _lowered(n) is not None for n in ast.walk(node)):
        return node

    class Lower(ast.NodeTransformer):
        def visit_For(self, n):
            self.generic_visit(n)
            found = _lowered(n)
            if found is None:
                return n
            target, it, first = found
            n.target = ast.Name(target, ast.Store())
            n.iter = it
            for made in first + [n.target, n.iter]:
                for m in ast.walk(made):  # what was made here is at the loop's line
                    if "lineno" in m._attributes and not hasattr(m, "lineno"):
                        ast.copy_location(m, n)
            n.body = first + n.body
            return n

    return Lower().visit(copy.deepcopy(node))


def loop_names(node: ast.For) -> str:
    """The loop's variable(s), as written."""
    return ast.unparse(node.target)


def builtins_called(node: ast.For) -> set:
    """The builtins the loops of ``node`` iterate with (``enumerate``,
    ``reversed``, ``zip``): the lowered copy no longer calls them, but the user's code
    does, so they must still be Python's own when the nest runs."""
    return {
        n.iter.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.For)
        and isinstance(n.iter, ast.Call)
        and isinstance(n.iter.func, ast.Name)
        and n.iter.func.id in ("enumerate", "reversed", "zip")
    }
