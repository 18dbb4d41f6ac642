"""Python lists and tuples that a loop nest only reads, read natively.

``w = [0.25, 0.5, 0.25]`` then ``s += w[k] * b[i + k - 1]``, or ``for dx, dy
in offsets`` over a list of pairs: teaching code keeps small tables of
numbers in lists and tuples. Native code has no Python objects, but a list
the nest never changes is a table of numbers: when the nest runs
(``bind``, from ``_rewrite.bind_env``), each list or tuple the nest reads as
an array becomes a read-only NumPy snapshot (``Snapshot``), made again at
every run (the list may have changed since the last one), whose items the
engine types as Python numbers (``ArrayBinding::python_elements``): a name
assigned ``w[k]`` is a Python float, arithmetic on ints follows Python's
rules (an int64 overflow stops the native code and Python runs the loop,
which computes the big int).

- every item exactly a float: float64; exactly an int (not a bool) within
  64 bits: int64; exactly a bool: bool; a list of rows (lists or tuples) of
  one length and one such kind: two dimensions (``m[i][j]``);
- anything else (rows of different lengths, an int among floats, a NumPy
  scalar, rows of rows, other objects, an empty list) declines with a
  sentence that names the item;
- the nest must only read it (``registered``, from the copy the front end
  reads, after inlining): subscripts with one index at a time (``m[i, j]`` is
  a TypeError in Python, a slice makes a new list), ``len(w)``, and the
  loops ``for x in w``, ``for dx, dy in w``, ``enumerate``, ``zip``,
  ``reversed`` (lowered by ``_iteration`` to subscripts). An item
  assignment, a method call (``append``, ``sort``), the name assigned or
  used as a value (an alias, an argument of a function that is not
  inlined) declines.

Negative indices wrap as Python's do; an index out of range stops the
native code before anything is written where the engine cannot prove it in
range, so Python runs the loop and raises its own IndexError ("list index
out of range") after its own partial writes.

Making the snapshot costs a pass over the list at each run (about 10 ns an
item); the cost model does not price it (it prices the bytes transferred to
a GPU, as for any input array). Lists longer than ``MAX_ITEMS`` run as
Python.
"""

import ast
import itertools
from typing import Dict, Optional

import numpy

from . import _records
from ._walk import parent_map, walk

MAX_ITEMS = 10_000_000
_ITERATORS = ("enumerate", "reversed", "zip")


class Snapshot(numpy.ndarray):
    """A read-only copy of a list or tuple's numbers; the engine binds it as
    an array whose items are Python numbers (``kernel/bindings/values.cpp``)."""

    __loopscope_list_snapshot__ = True
    source_type = list  # list or tuple: what the user's name holds


# Stands for "list" or "tuple" in the sentences of ``registered``: what the
# user's name holds is known when the nest runs (``bind``).
_KIND = "\x01"


def _hidden(e) -> bool:
    return isinstance(e, ast.Name) and e.id.startswith("$")


def _why_not_read_only(name: str, node: ast.Name, parents, lowered: bool, inlined=()) -> Optional[str]:
    """How the nest uses ``name`` at ``node`` when it is more than a read of
    its items (a sentence), or None. ``lowered``: in the copy the front end
    reads, where ``name.shape[k]`` is the length of a row that ``for row in
    name`` iterates (``_iteration``). ``inlined``: the functions whose
    calls the copy replaced by their bodies (judged there)."""
    p = parents.get(id(node))
    if not isinstance(node.ctx, ast.Load):
        return f"the loop assigns the name {name}"
    if isinstance(p, ast.Subscript) and p.value is node:
        if isinstance(p.slice, ast.Slice):
            return f"the loop takes a slice of it ({ast.unparse(p)}), which makes a new {_KIND}"
        if isinstance(p.slice, ast.Tuple) and not (p.slice.elts and _hidden(p.slice.elts[0])):
            return (
                f"the loop indexes it with a tuple ({ast.unparse(p)}), which Python refuses for a list or tuple "
                f"(TypeError; write {name}[i][j])"
            )
        top = p
        while isinstance(parents.get(id(top)), ast.Subscript) and parents[id(top)].value is top:
            top = parents[id(top)]
            if isinstance(top.slice, ast.Slice):
                return f"the loop takes a slice of it ({ast.unparse(top)}), which makes a new {_KIND}"
            if isinstance(top.slice, ast.Tuple):
                return f"the loop indexes it with a tuple ({ast.unparse(top)}), which Python refuses for a {_KIND}"
        if not isinstance(top.ctx, ast.Load):
            if isinstance(top.ctx, ast.Del):
                return f"the loop deletes its items (del {ast.unparse(top)})"
            return f"the loop changes its items ({ast.unparse(top)} = ...)"
        return None
    if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and node in p.args:
        if (p.func.id == "len" and len(p.args) == 1) or p.func.id in inlined:
            return None
        loop = parents.get(id(p))
        if p.func.id in _ITERATORS and isinstance(loop, (ast.For, ast.comprehension)) and loop.iter is p:
            return None
        return f"the loop passes it to {ast.unparse(p)}"
    if isinstance(p, ast.For) and p.iter is node:
        return None
    if lowered and isinstance(p, ast.Attribute) and p.attr == "shape" and isinstance(p.ctx, ast.Load):
        q = parents.get(id(p))
        if isinstance(q, ast.Subscript) and q.value is p and isinstance(q.slice, ast.Constant):
            return None
    if isinstance(p, ast.Attribute):
        call = parents.get(id(p))
        text = ast.unparse(call if isinstance(call, ast.Call) and call.func is p else p)
        return f"the loop uses {text}"
    if isinstance(p, ast.Call):
        return f"the loop passes it to {ast.unparse(p)}"
    if p is not None and not isinstance(p, ast.stmt):
        return f"the loop uses it as a whole value ({ast.unparse(p)})"
    return f"the loop uses {name} as a whole value"


def registered(original, lowered, arrays, inlined=()) -> Dict[str, str]:
    """For each of ``arrays`` (the names the nest subscripts) that the nest
    uses otherwise than to read its items: why a list or tuple held in it
    must stay in Python. ``original`` is the nest as written (its sentences
    quote it), ``lowered`` the copy the front end reads (the user's
    functions inlined: what they do with a list passed to them)."""
    wanted = set(arrays)
    out: Dict[str, str] = {}
    for tree, is_lowered in ((original, False), (lowered, True)):
        parents = parent_map(tree)
        for n in walk(tree):
            if isinstance(n, ast.Name) and n.id in wanted and n.id not in out:
                why = _why_not_read_only(n.id, n, parents, is_lowered, () if is_lowered else inlined)
                if why is not None:
                    out[n.id] = _records.shown(why) if is_lowered else why
    return out


def _a(text: str) -> str:
    return f"{'an' if text[:1].lower() in 'aeiou' else 'a'} {text}"


def _what(x) -> str:
    if isinstance(x, numpy.generic):
        return f"an np.{type(x).__name__} (a NumPy scalar)"
    return _a(type(x).__name__)


_KINDS = {float: ("float", numpy.float64), int: ("int", numpy.int64), bool: ("bool", numpy.bool_)}


def _item_text(name: str, index) -> str:
    return f"{name}[{index[0]}]" if len(index) == 1 else f"{name}[{index[0]}][{index[1]}]"


def _first_unlike(name: str, value, two_d: bool, kind) -> str:
    """The sentence for the first item of ``value`` whose type is not
    ``kind`` (or not a float, int or bool when ``kind`` is None)."""
    items = (
        (((i, j), x) for i, row in enumerate(value) for j, x in enumerate(row))
        if two_d
        else (((i,), x) for i, x in enumerate(value))
    )
    first = None
    for index, x in items:
        t = type(x)
        if t not in _KINDS:
            if t in (list, tuple):
                return (
                    f"{_item_text(name, index)} is {_what(x)} inside a row, which native code does not hold "
                    f"(a table of numbers has one or two levels): the loop runs as plain Python"
                )
            if isinstance(x, numpy.generic):
                return (
                    f"{_item_text(name, index)} is {_what(x)}, not a Python number, so the loop runs as plain "
                    f"Python (make {name} a NumPy array, np.array({name}), to run it natively)"
                )
            return (
                f"{_item_text(name, index)} is {_what(x)}, not a float, int or bool, so the loop that reads {name} "
                f"runs as plain Python"
            )
        if first is None:
            first = (index, t)
        elif t is not first[1]:
            return (
                f"{_item_text(name, index)} is {_a(_KINDS[t][0])} among {_KINDS[first[1]][0]}s "
                f"({_item_text(name, first[0])} is {_a(_KINDS[first[1]][0])}), so {name} is not one kind of "
                f"number and the loop runs as plain Python"
            )
    return f"the items of {name} are not one kind of number, so the loop runs as plain Python"


def snapshot(name: str, value):
    """A read-only ``Snapshot`` of the list or tuple ``value``, or a
    sentence saying why the loop runs as Python."""
    what = type(value).__name__
    n = len(value)
    if n == 0:
        return f"{name} is an empty {what}, so the loop that reads it runs as plain Python"
    rows = set(map(type, value))
    two_d = bool(rows & {list, tuple})
    if two_d:
        if not rows <= {list, tuple}:
            k = next(i for i, x in enumerate(value) if type(x) not in (list, tuple))
            return (
                f"{name}[{k}] is {_what(value[k])} but other items of {name} are rows, so the loop runs as plain "
                f"Python"
            )
        widths = set(map(len, value))
        if len(widths) != 1:
            first = len(value[0])
            k = next(i for i, x in enumerate(value) if len(x) != first)
            return (
                f"the rows of {name} have different lengths ({name}[0] has {first} items, {name}[{k}] has "
                f"{len(value[k])}), so the loop runs as plain Python"
            )
        width = widths.pop()
        if width == 0:
            return f"the rows of {name} are empty, so the loop that reads it runs as plain Python"
        if n * width > MAX_ITEMS:
            return _too_long(name, n * width)
        kinds = set(map(type, itertools.chain.from_iterable(value)))
    else:
        if n > MAX_ITEMS:
            return _too_long(name, n)
        kinds = rows
    if len(kinds) != 1 or next(iter(kinds)) not in _KINDS:
        return _first_unlike(name, value, two_d, None)
    kind = kinds.pop()
    try:
        data = numpy.array(value, dtype=_KINDS[kind][1])
    except OverflowError:
        return (
            f"an int in {name} does not fit in 64 bits, so the loop that reads it runs as plain Python, which "
            f"computes with big ints"
        )
    out = data.view(Snapshot)
    out.source_type = type(value)
    out.flags.writeable = False
    return out


def _too_long(name: str, count: int) -> str:
    return (
        f"{name} holds {count} numbers, more than native code copies from a Python list "
        f"({MAX_ITEMS}), so the loop runs as plain Python (make it a NumPy array to run it natively)"
    )


def bind(refused: Dict[str, str], arrays, env: dict, appended=()) -> Optional[str]:
    """Replaces in ``env`` each list or tuple among the nest's ``arrays`` by
    its snapshot; None, or why the loop runs as plain Python. ``appended``:
    the names of the lists the nest appends to (``_appends``): a list read
    under one name and appended to under another changes as the loop reads
    it, which no snapshot shows."""
    for name in arrays:
        value = env.get(name)
        t = type(value)
        if t is not list and t is not tuple:
            continue
        why = refused.get(name)
        if why is not None:
            if t is tuple and why.startswith("the loop changes its items"):
                why = why.replace("changes its items", "assigns its items", 1) + (
                    ", which Python refuses for a tuple (TypeError)"
                )
            elif t is tuple and why.startswith("the loop deletes its items"):
                why += ", which Python refuses for a tuple (TypeError)"
            why = why.replace(_KIND, t.__name__)
            return (
                f"{name} is a Python {t.__name__}, which native code only reads, and {why}: the loop runs as "
                f"plain Python"
            )
        for other in appended:
            target = env.get(other)
            if target is value:
                return (
                    f"{name} and {other} are the same list, which the loop reads while it appends to it: the "
                    f"loop runs as plain Python"
                )
            if any(row is target for row in value):
                return (
                    f"{other} is a row of {name}, which the loop reads while it appends to {other}: the loop "
                    f"runs as plain Python"
                )
        got = snapshot(name, value)
        if isinstance(got, str):
            return got
        env[name] = got
    return None
