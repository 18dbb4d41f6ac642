"""Arrays made afresh in each pass of a loop, made once before the nest.

Time stepping and iterative solvers make a new array in each pass::

    for it in range(200):              for s in range(steps):
        w = np.zeros(n)                    Tn = np.copy(T)
        for i in range(n): ...w[i]...      for i ...: T[i, j] = Tn[i, j] ...

Native code makes no array. But when nothing can tell the arrays of two
passes apart, one array made before the nest with the very same call (so
its dtype, shape and memory layout are NumPy's) and filled again in each
pass gives the same results. In the copy of the nest that only the front end
reads (as ``_iteration`` and ``_inline`` make), the statement becomes loops
over the new array's elements::

    w = np.zeros(n)     ->  for $made_w_0 in range(w.shape[0]):
                                w[$made_w_0] = 0
                            __loopscope_made_w__ = 1

(``np.ones``: 1; ``np.full``: the elements of a second array made with the
same call, ``np.copy(x)`` and ``x.copy()``: the elements of ``x`` as they
are at that point; ``np.empty``: nothing, its values are arbitrary; the
``_like`` forms alike). ``w`` is then an array the nest is given:
``bind_env`` makes it (``bind``) and the flag tells the replacement code
that the statement ran, so that the name gets the array afterwards (a loop
that never reaches the statement leaves the name as it was, unbound
included).

The conditions, checked here (``lower``; anything else is left as it is,
and the front end declines the call with the sentence ``lower`` records for
its line):

- the statement is ``name = <call>`` with one of the calls above, written
  ``np.f(...)`` or ``numpy.f(...)`` (``x.copy()`` without arguments), once
  for the name in the nest, and its arguments (shape, dtype, order, fill
  value, source) read names the nest does not assign: they are the same in
  every pass, so one array serves them all;
- every other use of the name comes after the statement, in the block that
  holds it (nothing reads an array of an earlier pass, or the name's value
  from before the nest), and only reads or writes its elements or reads
  ``len()``, ``.shape``, ``.size``, ``.ndim``: no reference to the array
  survives a pass (appended to a list, passed to a function, kept under
  another name, returned), which would tell the arrays apart; but for
- ``a = name`` later in the same block, when ``a`` is assigned nowhere
  else in the nest and used only as an array (its elements, or as the
  array the call starts from): the Hillis-Steele scan's ``b = a.copy();
  ...; a = b``. Then ``a`` keeps the array of one pass while the next pass
  makes another, so two arrays take turns (``b``'s, and a second one made
  with the same call). A state number (``flag``) says which array each name
  holds (``_ALIAS_STATES``: ``a``'s own array from before the nest, or one
  of the two), the call fills the array ``a`` does not hold, ``a = b``
  changes the state, and each statement that uses the names runs in one
  copy per arrangement its place allows (as ``_rotations`` does for swaps):
  after the call, ``a``'s array and ``b``'s differ; after ``a = b`` they are
  one. After the run the names hold the arrays of the state it ended in;
- it is subscripted with one number of indices everywhere (the fill loops'
  number of dimensions, checked against the array when it is made).

When the nest runs, the call is evaluated with the values of its names
(only numbers, tuples, plain NumPy arrays, dtypes and strings: nothing the
user wrote runs), under NumPy's "raise" error state and with warnings
recorded: a call that raises or warns, a dtype native code does not hold,
or arrays larger than ``MAX_BYTES`` send the loop to Python, which makes its
arrays itself (or raises where it raises).

A loop that runs in parallel shares the one array between its iterations,
so the dependences on the array's elements keep that loop sequential (still
native); an array made in a sequential loop (a time step) leaves the loops
inside free.
"""

import ast
import itertools
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import numpy

from . import _records
from ._walk import copy_tree, element_uses, walk

FLAG_PREFIX = "__loopscope_made_"
TEMPLATE_PREFIX = "__loopscope_template_"
OTHER_PREFIX = "__loopscope_other_"
MAX_BYTES = 256 << 20  # the arrays made before one nest, all together

# NumPy function -> (what each pass puts in the array, the names of its parameters in order)
_NUMPY = {
    "zeros": ("zero", ("shape", "dtype", "order")),
    "ones": ("one", ("shape", "dtype", "order")),
    "empty": ("none", ("shape", "dtype", "order")),
    "full": ("template", ("shape", "fill_value", "dtype", "order")),
    "zeros_like": ("zero", ("a", "dtype", "order")),
    "ones_like": ("one", ("a", "dtype", "order")),
    "empty_like": ("none", ("a", "dtype", "order")),
    "full_like": ("template", ("a", "fill_value", "dtype", "order")),
    "copy": ("copy", ("a", "order")),
}
_MODULES = ("np", "numpy")
_DTYPES = set("?bBhHiIlLqQefdFD")  # bool, integers, float16/32/64, complex64/128
_counter = itertools.count(1)


@dataclass
class Made:
    """One array made before the nest: ``name = call`` at ``line``."""

    name: str
    call: ast.Call  # as written (a copy), evaluated by ``bind``
    func: Optional[str]  # the NumPy function, or None for ``x.copy()``
    kind: str  # "zero", "one", "none", "template", "copy"
    ndim: int
    line: int
    text: str
    source: Optional[str] = None  # the array copied or imitated
    # ``alias = name`` later in the block (``b = a.copy(); ...; a = b``):
    # two arrays take turns, numbered by states (``_lower_alias``).
    alias: Optional[str] = None

    @property
    def flag(self) -> str:
        return f"{FLAG_PREFIX}{self.name}__"

    @property
    def other(self) -> str:
        """The second array of an alias (shown as the name's other array)."""
        return f"{OTHER_PREFIX}{self.name}__"

    @property
    def template(self) -> str:
        return f"{TEMPLATE_PREFIX}{self.name}__"


@dataclass
class Plan:
    made: List[Made] = field(default_factory=list)
    loads: List[str] = field(default_factory=list)  # names the calls read
    modules: Set[Tuple[str, str]] = field(default_factory=set)  # (np, "zeros"), (np, "float32")
    builtins: Set[str] = field(default_factory=set)  # len

    def provided(self) -> Set[str]:
        """The nest's inputs that ``bind`` gives (never loaded from the scope)."""
        out = set()
        for m in self.made:
            out.update((m.name, m.flag))
            if m.kind == "template":
                out.add(m.template)
            if m.alias is not None:
                out.add(m.other)
        return out


def _call_of(value: ast.expr) -> Optional[Tuple[Optional[str], str]]:
    """``(NumPy function or None, kind)`` of a call this module makes before the nest."""
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    f = value.func
    if not isinstance(f.value, ast.Name):
        return None
    if f.value.id in _MODULES and f.attr in _NUMPY:
        return f.attr, _NUMPY[f.attr][0]
    if f.attr == "copy" and not value.args and not value.keywords:
        return None, "copy"
    return None


def _arguments(call: ast.Call, func: Optional[str]) -> Optional[Dict[str, ast.expr]]:
    """The call's arguments by parameter name, or None (a star argument, an
    unknown keyword, too many)."""
    if func is None:
        return {"a": call.func.value}
    params = _NUMPY[func][1]
    if len(call.args) > len(params) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    out = dict(zip(params, call.args))
    for k in call.keywords:
        if k.arg is None or k.arg not in params or k.arg in out:
            return None
        out[k.arg] = k.value
    if params[0] not in out or ("fill_value" in params and "fill_value" not in out):
        return None
    return out


_ATTRS = {"shape", "dtype", "ndim", "size"}


def _plain(e: ast.expr) -> bool:
    """An argument ``bind`` can evaluate without running the user's code."""
    for n in walk(e):
        if isinstance(n, (ast.Name, ast.Constant, ast.Tuple, ast.Load, ast.operator, ast.unaryop)):
            continue
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)):
            continue
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            continue
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
            if n.value.id in _MODULES or n.attr in _ATTRS:
                continue
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and type(n.slice.value) is int:
            continue
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "len"
            and len(n.args) == 1
            and not n.keywords
        ):
            continue
        return False
    return True


def _stored(node: ast.AST) -> Set[str]:
    out = set()
    for n in walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)
    return out


def _blocks(node: ast.AST):
    """Every statement block of ``node``: (its owner, the list)."""
    for n in walk(node):
        for fld in ("body", "orelse", "finalbody"):
            block = getattr(n, fld, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield n, block
        for h in getattr(n, "handlers", None) or ():
            yield h, h.body
        for c in getattr(n, "cases", None) or ():
            yield c, c.body


def _allowed_uses(node: ast.AST, name: str) -> Tuple[Set[int], Set[int]]:
    """``(ids of the Name nodes of name in allowed positions, numbers of
    indices of its subscripts)``."""
    uses = element_uses(node, (name,))
    dims = {len(s.slice.elts) if isinstance(s.slice, ast.Tuple) else 1 for s in uses.values() if s is not None}
    return set(uses), dims


def _what(n: ast.AST, parent: Optional[ast.AST], name: str) -> str:
    """What a use of ``name`` at ``n`` does to the array, for a sentence."""
    if isinstance(parent, ast.Call) and n in parent.args:
        f = ast.unparse(parent.func)
        if isinstance(parent.func, ast.Attribute) and parent.func.attr in ("append", "extend", "insert", "add"):
            return f"it is stored by {f}(...)"
        return f"it is passed to {f}"
    if isinstance(parent, ast.Return):
        return "it is returned"
    if isinstance(parent, ast.Assign) and n is parent.value:
        return f"it is kept as {ast.unparse(parent.targets[0])}"
    if isinstance(parent, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
        return "it is put in a container"
    if isinstance(parent, ast.Subscript) and n is parent.slice:
        return "it is used as an index"
    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
        return f"{name} is also assigned otherwise"
    return f"{name} is used as a whole in {ast.unparse(parent) if parent is not None else name}"


def _sites(node: ast.AST) -> list:
    """``(owner, block, index, statement)`` of every ``name = <a call this
    module makes before the nest>`` in node's blocks."""
    return [
        (owner, block, k, s)
        for owner, block in _blocks(node)
        for k, s in enumerate(block)
        if isinstance(s, ast.Assign)
        and len(s.targets) == 1
        and isinstance(s.targets[0], ast.Name)
        and _call_of(s.value) is not None
    ]


def lower(node: ast.stmt, facts=None) -> Tuple[ast.stmt, Optional[Plan]]:
    """``(the front end's copy of node with the arrays it makes lowered to
    fills, the Plan)``, or ``(node, None)`` when there is none. The calls
    left as they are get a sentence in ``facts.unlowered`` (by line)."""
    sites = _sites(node)
    if not sites:
        return node, None
    why_not: Dict[int, str] = {}
    stored = _stored(node)
    count: Dict[str, int] = {}
    for _o, _b, _k, s in sites:
        count[s.targets[0].id] = count.get(s.targets[0].id, 0) + 1
    parents = {}
    for p in walk(node):
        for fld in p._fields:
            v = getattr(p, fld, None)
            for c in v if isinstance(v, list) else [v]:
                if isinstance(c, ast.AST):
                    parents[id(c)] = p
    chosen = []  # (id of the statement, Made)
    names_read: List[str] = []
    plan = Plan()
    for _owner, block, k, s in sites:
        name = s.targets[0].id
        func, kind = _call_of(s.value)
        shown_call = ast.unparse(s.value)
        text = f"{name} = {shown_call}"
        line = s.lineno

        def no(why: str):
            why_not.setdefault(
                line,
                f"{text} makes a new array in each pass, and {why}, so the loop runs as plain Python "
                "(native code makes the array once before the loop only when each pass only reads and "
                "writes its elements)",
            )

        if count[name] != 1:
            no(f"{name} is assigned a new array at more than one place in the loop")
            continue
        # Every other use comes after the statement, in its block.
        after = block[k + 1 :]
        inside = {id(n) for t in after for n in walk(t)}
        allowed, dims = _allowed_uses(node, name)
        uses = [n for n in walk(node) if isinstance(n, ast.Name) and n.id == name and n is not s.targets[0]]
        alias = _alias(node, block, k, s, name, uses, allowed, parents, count)
        if alias is not None:
            if any(m.alias is not None for m in plan.made):
                alias = None  # one pair of arrays taking turns per nest
            else:
                allowed.add(id(alias.value))
        bad = next((_what(n, parents.get(id(n)), name) for n in uses if id(n) not in allowed), None)
        if bad is None and any(id(n) not in inside for n in uses):
            bad = f"{name} is read before the statement that makes it (the array of an earlier pass)"
        if bad is not None:
            no(bad)
            continue
        args = _arguments(s.value, func)
        if args is None or not all(_plain(a) for a in args.values()):
            no("its arguments are not plain names, numbers or shapes")
            continue
        read = {n.id for a in args.values() for n in walk(a) if isinstance(n, ast.Name)}
        read -= set(_MODULES) - stored
        if alias is not None and isinstance(args.get("a"), ast.Name) and args["a"].id == alias.targets[0].id:
            read.discard(alias.targets[0].id)  # the arrays taking turns have the same shape, dtype and layout
        if read & stored:
            changed = sorted(read & stored)[0]
            no(f"the loop assigns {changed}, which the call reads")
            continue
        source = args.get("a")
        if source is not None and not isinstance(source, ast.Name):
            no("the array it starts from is not a plain name")
            continue
        if len(dims) != 1:
            no(
                f"{name} is not read element by element"
                if not dims
                else f"{name} is subscripted with different numbers of indices"
            )
            continue
        ndim = dims.pop()
        shape = args.get("shape")
        if isinstance(shape, ast.Tuple) and len(shape.elts) != ndim:
            no(f"{name} has {len(shape.elts)} dimension(s) but is subscripted with {ndim} index(es)")
            continue
        made = Made(name, copy_tree(s.value), func, kind, ndim, line, text, source.id if source is not None else None)
        if alias is not None:
            made.alias = alias.targets[0].id
        chosen.append((id(s), made))
        plan.made.append(made)
        for n in sorted(read):
            if n not in names_read:
                names_read.append(n)
        for a in args.values():
            for n in walk(a):
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in _MODULES:
                    plan.modules.add((n.value.id, n.attr))
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len":
                    plan.builtins.add("len")
        if func is not None:
            plan.modules.add((s.value.func.value.id, func))
    if facts is not None:
        for line, why in why_not.items():
            facts.unlowered.setdefault(line, why)
    if not chosen:
        return node, None
    plan.loads = names_read
    by_id = dict(chosen)
    work = copy_tree(node)
    # copy_tree copies the statements: find them again by position.
    originals = [s for _o, _b, _k, s in sites if id(s) in by_id]
    copies = [s for _o, _b, _k, s in _sites(work)]
    mapping = {}
    for s in copies:
        for o in originals:
            if (s.lineno, s.col_offset, s.targets[0].id) == (o.lineno, o.col_offset, o.targets[0].id):
                mapping[id(s)] = by_id[id(o)]
    for _owner, block in list(_blocks(work)):
        k = 0
        while k < len(block):
            made = mapping.get(id(block[k]))
            if made is None or made.alias is not None:
                k += 1
                continue
            new = _fill(made, block[k])
            block[k : k + 1] = new
            k += len(new)
    for s in copies:
        made = mapping.get(id(s))
        if made is not None and made.alias is not None:
            try:
                work = _lower_alias(work, made, s)
            except _NotLowered as why:
                if facts is not None:
                    facts.unlowered.setdefault(
                        made.line,
                        f"{made.text} makes a new array in each pass, and {made.alias} = {made.name} keeps it, "
                        f"but {why.args[0]}, so the loop runs as plain Python",
                    )
                return node, None
    ast.fix_missing_locations(work)
    return work, plan


def _alias(node, block, k, s, name, uses, allowed, parents, count) -> Optional[ast.Assign]:
    """The statement ``a = name`` after ``s`` in its block that makes the
    arrays take turns (``b = a.copy(); ...; a = b``), when it is the one use
    of ``name`` as a whole and ``a`` is used only as an array (assigned only
    there, read element by element or as the array the call starts from)."""
    whole = [n for n in uses if id(n) not in allowed]
    if len(whole) != 1:
        return None
    t = parents.get(id(whole[0]))
    if not (
        isinstance(t, ast.Assign)
        and t.value is whole[0]
        and len(t.targets) == 1
        and isinstance(t.targets[0], ast.Name)
        and any(t is x for x in block[k + 1 :])
    ):
        return None
    a = t.targets[0].id
    if a == name or a in count:
        return None
    a_allowed, _dims = _allowed_uses(node, a)
    source = s.value.func.value if _call_of(s.value)[0] is None else None
    if source is None:
        args = _arguments(s.value, _call_of(s.value)[0]) or {}
        source = args.get("a")
    for n in walk(node):
        if isinstance(n, ast.Name) and n.id == a:
            if n is t.targets[0] or n is source or id(n) in a_allowed:
                continue
            return None
        if isinstance(n, (ast.Global, ast.Nonlocal)) and a in n.names:
            return None
    return t


class _NotLowered(Exception):
    pass


def _names_in(n: ast.AST, names) -> Set[str]:
    return {x.id for x in walk(n) if isinstance(x, ast.Name) and x.id in names}


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: Dict[str, str]):
        self.mapping = mapping

    def visit_Name(self, n):
        if n.id in self.mapping:
            return ast.copy_location(ast.Name(self.mapping[n.id], n.ctx), n)
        return n


# The arrays two names hold, by state, for ``b = a.copy(); ...; a = b``
# (P: b's array, Q: the other; a: a's array from before the nest; None: b
# not made yet): the call makes b's array one that a does not hold.
_ALIAS_STATES = [("a", None), ("a", "P"), ("P", "P"), ("P", "Q"), ("Q", "Q"), ("Q", "P")]
_AFTER_CALL = {0: 1, 1: 1, 2: 3, 3: 3, 4: 5, 5: 5}
_AFTER_ALIAS = {0: 0, 1: 2, 2: 2, 3: 4, 4: 4, 5: 2}


def _lower_alias(work: ast.stmt, m: Made, s: ast.Assign) -> ast.stmt:
    """``b = a.copy(); ...; a = b`` with two arrays taking turns, numbered by
    the state ``m.flag`` (``_ALIAS_STATES``): the call fills the array a
    does not hold, ``a = b`` changes the state, and each statement that
    uses the names runs in one copy per arrangement its place allows (after
    the call: a's array and another; after ``a = b``: one array)."""
    a, b = m.alias, m.name
    arrays = {"a": a, "P": b, "Q": m.other}
    parents = {}
    for p in walk(work):
        for fld in p._fields:
            v = getattr(p, fld, None)
            for c in v if isinstance(v, list) else [v]:
                if isinstance(c, ast.AST):
                    parents[id(c)] = p
    block = next(bl for _o, bl in _blocks(work) if any(x is s for x in bl))
    k = next(i for i, x in enumerate(block) if x is s)
    t = next(
        i
        for i, x in enumerate(block)
        if i > k
        and isinstance(x, ast.Assign)
        and isinstance(x.targets[0], ast.Name)
        and x.targets[0].id == a
        and isinstance(x.value, ast.Name)
        and x.value.id == b
    )
    # The statements around the block: their headers must not use the names.
    around = set()
    p = parents.get(id(s))
    while p is not None:
        around.add(id(p))
        p = parents.get(id(p))

    def state_is(ks) -> ast.expr:
        tests = [ast.Compare(ast.Name(m.flag, ast.Load()), [ast.Eq()], [ast.Constant(x)]) for x in ks]
        return tests[0] if len(tests) == 1 else ast.BoolOp(ast.Or(), tests)

    def chain(parts, where) -> List[ast.stmt]:
        out = parts[-1][1]
        for ks, body in reversed(parts[:-1]):
            out = [ast.copy_location(ast.If(state_is(ks), body, out), where)]
        return out

    def renamed(states, where: ast.stmt) -> List[ast.stmt]:
        used = sorted(_names_in(where, {a, b}))
        groups: Dict[tuple, List[int]] = {}
        for st in states:
            have = _ALIAS_STATES[st]
            key = tuple(have[0] if n == a else have[1] for n in used)
            if None in key:
                continue  # b is not made yet: never run there
            groups.setdefault(key, []).append(st)
        parts = []
        for key, ks in groups.items():
            mapping = {n: arrays[h] for n, h in zip(used, key)}
            parts.append((ks, [_Rename(mapping).visit(copy_tree(where))]))
        if not parts:
            raise _NotLowered(f"{b} is used where it may not be made yet")
        return chain(parts, where)

    def made_at(st: int) -> List[ast.stmt]:
        have = _ALIAS_STATES[st]
        after = _ALIAS_STATES[_AFTER_CALL[st]]
        target, source = arrays[after[1]], arrays[have[0]]
        return _fill_loops(m, target, source, s) + [_set(m.flag, _AFTER_CALL[st], s)]

    def block_of(body: List[ast.stmt], states) -> List[ast.stmt]:
        out = []
        for j, x in enumerate(body):
            here = states
            if body is block:
                here = [1, 3, 5] if k < j <= t else [2, 4] if j > t else states
            if x is s:
                out.extend(chain([([0, 1], made_at(0)), ([2, 3], made_at(2)), ([4, 5], made_at(4))], s))
            elif body is block and j == t:
                out.extend(
                    chain([([1, 5], [_set(m.flag, 2, x)]), ([3], [_set(m.flag, 4, x)]), ([0, 2, 4], [ast.Pass()])], x)
                )
            elif id(x) in around:
                header = [getattr(x, f) for f in ("target", "iter", "test") if getattr(x, f, None) is not None]
                if not isinstance(x, (ast.For, ast.While, ast.If)) or any(_names_in(h, {a, b}) for h in header):
                    raise _NotLowered(f"{a} is used around the loop that makes {b}")
                x.body = block_of(x.body, states)
                x.orelse = block_of(x.orelse, states)
                out.append(x)
            elif _names_in(x, {a, b}):
                out.extend(renamed(here, x))
            else:
                out.append(x)
        return out

    every = list(range(len(_ALIAS_STATES)))
    if id(work) not in around:
        raise _NotLowered("the statement is not inside the loop")
    header = [getattr(work, f) for f in ("target", "iter", "test") if getattr(work, f, None) is not None]
    if any(_names_in(h, {a, b}) for h in header):
        raise _NotLowered(f"{a} is used around the loop that makes {b}")
    work.body = block_of(work.body, every)
    work.orelse = block_of(work.orelse, every)
    return work


def _set(name: str, value: int, where: ast.stmt) -> ast.stmt:
    return ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], ast.Constant(value)), where)


def _fill(m: Made, where: ast.stmt) -> List[ast.stmt]:
    """The statements that refill m's array where ``name = call`` was."""
    return _fill_loops(m, m.name, m.source, where) + [_set(m.flag, 1, where)]


def _fill_loops(m: Made, target: str, source: Optional[str], where: ast.stmt) -> List[ast.stmt]:
    """Loops that fill the array ``target`` as m's call makes it (from the
    array ``source`` for a copy)."""
    out: List[ast.stmt] = []
    if m.kind != "none":
        base = f"$made_{m.name}_{next(_counter)}_"
        idx = []
        for d in range(m.ndim):
            var = f"{base}{d}"
            _records.show_hidden_as(var, f"the index of the new {m.name}")
            idx.append(var)

        def at(array: str, ctx) -> ast.expr:
            names = [ast.Name(v, ast.Load()) for v in idx]
            return ast.Subscript(
                ast.Name(array, ast.Load()), ast.Tuple(names, ast.Load()) if len(names) > 1 else names[0], ctx
            )

        if m.kind == "zero":
            value = ast.Constant(0)
        elif m.kind == "one":
            value = ast.Constant(1)
        elif m.kind == "template":
            value = at(m.template, ast.Load())
        else:
            value = at(source, ast.Load())
        stmt: ast.stmt = ast.Assign([at(target, ast.Store())], value)
        for d in reversed(range(m.ndim)):
            length = ast.Subscript(
                ast.Attribute(ast.Name(target, ast.Load()), "shape", ast.Load()), ast.Constant(d), ast.Load()
            )
            stmt = ast.For(
                ast.Name(idx[d], ast.Store()),
                ast.Call(ast.Name("range", ast.Load()), [length], []),
                [stmt],
                [],
                None,
            )
        out.append(stmt)
    for s in out:
        for n in walk(s):
            if "lineno" in n._attributes:
                ast.copy_location(n, where)
    return out


# --- when the nest runs --------------------------------------------------------------------

_LOCAL = threading.local()


class _Refused(Exception):
    pass


def _value(e: ast.expr, env: dict):
    """The value of a plain argument (``_plain``) from ``env``; raises
    _Refused for a value whose behaviour is not known."""
    if isinstance(e, ast.Constant):
        if type(e.value) in (int, float, complex, bool, str) or e.value is None:
            return e.value
        raise _Refused(f"the constant {e.value!r}")
    if isinstance(e, ast.Name):
        if e.id not in env:
            raise _Refused(f"{e.id} is not defined")
        v = env[e.id]
        if type(v) in (int, float, complex, bool, str, numpy.ndarray) or isinstance(v, numpy.dtype) or v is None:
            return v
        if isinstance(v, numpy.generic) and type(v).__module__ == "numpy":
            return v
        if type(v) is tuple and all(type(x) is int or isinstance(x, numpy.integer) for x in v):
            return v
        if any(v is t for t in (float, int, bool, complex)) or (isinstance(v, type) and issubclass(v, numpy.generic)):
            return v
        raise _Refused(f"{e.id} is {type(v).__name__}")
    if isinstance(e, ast.Tuple):
        return tuple(_value(x, env) for x in e.elts)
    if isinstance(e, ast.UnaryOp):
        v = _value(e.operand, env)
        if type(v) not in (int, float, complex) and not isinstance(v, numpy.number):
            raise _Refused("a sign of something other than a number")
        return -v if isinstance(e.op, ast.USub) else +v
    if isinstance(e, ast.BinOp):
        a, b = _value(e.left, env), _value(e.right, env)
        if not all(type(v) is int or isinstance(v, numpy.integer) for v in (a, b)):
            raise _Refused("arithmetic on something other than integers")
        op = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__, ast.FloorDiv: int.__floordiv__}
        return op[type(e.op)](int(a), int(b))
    if isinstance(e, ast.Attribute):
        if e.value.id in _MODULES:
            # (from the module's own names: its deprecated aliases, np.bool8 ...,
            # would warn here rather than where the loop reads them)
            v = vars(numpy).get(e.attr)
            if isinstance(v, type) and issubclass(v, numpy.generic):
                return v
            raise _Refused(f"{e.value.id}.{e.attr} is not a NumPy type")
        obj = _value(e.value, env)
        if type(obj) is not numpy.ndarray:
            raise _Refused(f"{e.value.id} is not a NumPy array")
        return getattr(obj, e.attr)
    if isinstance(e, ast.Subscript):
        obj = _value(e.value, env)
        if type(obj) is not tuple:
            raise _Refused("an item of something other than a tuple")
        return obj[e.slice.value]
    if isinstance(e, ast.Call):
        obj = _value(e.args[0], env)
        if type(obj) not in (numpy.ndarray, tuple):
            raise _Refused("len() of something other than an array or tuple")
        return len(obj)
    raise _Refused("an expression")


class _TooLarge(Exception):
    pass


# dtype strings taken as they are (others, some deprecated, stay Python).
_DTYPE_NAMES = frozenset(
    "float64 float32 float16 int64 int32 int16 int8 uint64 uint32 uint16 uint8 bool complex128 complex64 "
    "float int complex double f8 f4 f2 i8 i4 i2 i1 u8 u4 u2 u1 c16 c8 b1 ?".split()
)


def _check_fill(fill, dtype: numpy.dtype):
    """Refuses a fill value whose conversion to ``dtype`` NumPy 1.24 warns
    about through the warnings module (a Python int out of an integer
    dtype's range: DeprecationWarning); the floating-point warnings of a
    cast are errors under ``bind``'s ``numpy.errstate``."""
    if dtype.kind in "iu" and (type(fill) is int or isinstance(fill, numpy.integer)):
        info = numpy.iinfo(dtype)
        if not info.min <= int(fill) <= info.max:
            raise _Refused(f"its fill value {fill} is out of the range of {dtype}")


def _copies(m: Made) -> int:
    """How many arrays of m's size are made before the nest."""
    return 1 + (m.kind == "template") + (m.alias is not None)


def _make(m: Made, env: dict, budget: int):
    """The array m's call makes from env's values; raises _TooLarge (with
    the bytes) when the arrays made for it would take more than ``budget``,
    before anything is made."""
    if m.func is None:
        src = _value(m.call.func.value, env)
        if type(src) is not numpy.ndarray:
            raise _Refused(f"{m.source} is not a NumPy array")
        if src.nbytes * _copies(m) > budget:
            raise _TooLarge(src.nbytes * _copies(m))
        return src.copy()
    args = _arguments(m.call, m.func)
    values = {k: _value(v, env) for k, v in args.items()}
    if "a" in values and type(values["a"]) is not numpy.ndarray:
        raise _Refused(f"{m.source} is not a NumPy array")
    if "order" in values and type(values["order"]) is not str:
        raise _Refused("the order is not a string")
    if "fill_value" in values and type(values["fill_value"]) in (str, numpy.ndarray, tuple):
        raise _Refused("the fill value is not a number")
    if "shape" in values and type(values["shape"]) in (numpy.ndarray, str, float, complex):
        raise _Refused("the shape is not made of integers")
    if type(values.get("dtype")) is str and values["dtype"] not in _DTYPE_NAMES:
        raise _Refused(f"the dtype {values['dtype']!r} is not one of NumPy's plain names")
    if "a" in values:
        dtype = values["a"].dtype if values.get("dtype") is None else numpy.dtype(values["dtype"])
        count = values["a"].size
    else:
        shape = values["shape"]
        shape = shape if type(shape) is tuple else (shape,)
        if not all(type(k) is int or isinstance(k, numpy.integer) for k in shape):
            raise _Refused("the shape is not made of integers")
        count = 1
        for k in shape:
            count *= max(int(k), 0)
        dtype = values.get("dtype")
        if dtype is None:
            dtype = numpy.asarray(values["fill_value"]).dtype if "fill_value" in values else numpy.float64
        dtype = numpy.dtype(dtype)
    if count * dtype.itemsize * _copies(m) > budget:
        raise _TooLarge(count * dtype.itemsize * _copies(m))
    if "fill_value" in values:
        _check_fill(values["fill_value"], dtype)
    func = getattr(numpy, m.func)
    params = _NUMPY[m.func][1]
    first = params[0]  # np.copy's and the _like functions' array has another name in NumPy
    return func(values.pop(first), **values)


def bind(plan: Plan, nest_id: int, env: dict) -> Optional[str]:
    """Makes the arrays of ``plan`` into ``env`` (and keeps them for
    ``made``); returns why the loop must run as Python instead, or None."""
    made = {}
    total = 0
    for m in plan.made:
        try:
            # Floating-point warnings (an invalid or overflowing cast of a fill
            # value) raise here, per thread; the warnings module's filters and
            # registries are left alone (changing them would show the user
            # warnings again that Python shows once), so what else could warn
            # is refused before the call (_value, _check_fill).
            with numpy.errstate(all="raise"):
                array = _make(m, env, MAX_BYTES - total)
                template = array.copy(order="K") if m.kind == "template" else None
        except _Refused as why:
            return (
                f"{m.text} is made once before the loop in native code, but {why.args[0]}, "
                "so the loop runs as plain Python"
            )
        except _TooLarge as size:
            return (
                f"{m.text} would take {(total + size.args[0]) >> 20} MB made before the loop, more than native "
                f"code makes in advance ({MAX_BYTES >> 20} MB), so the loop runs as plain Python"
            )
        except FloatingPointError:
            return (
                f"{m.text} warns when it is made (RuntimeWarning), so the loop runs as plain Python, which "
                "warns where it makes the array"
            )
        except Exception as exc:  # noqa: BLE001 - Python raises it (or not) where the loop makes the array
            return (
                f"{m.text} raises {type(exc).__name__} when it is made before the loop, so the loop runs "
                "as plain Python, which makes the array (and raises) where it does"
            )
        if type(array) is not numpy.ndarray or array.dtype.char not in _DTYPES:
            return (
                f"{m.text} makes an array of {array.dtype}, which native code does not hold, so the loop "
                "runs as plain Python"
            )
        if array.ndim != m.ndim:
            return (
                f"{m.text} makes an array of {array.ndim} dimension(s), but the loop subscripts {m.name} "
                f"with {m.ndim} index(es), so it runs as plain Python"
            )
        total += array.nbytes * _copies(m)
        env[m.name] = array
        env[m.flag] = 0
        if template is not None:
            env[m.template] = template
        made[m.name] = array
        if m.alias is not None:
            # The second array, made as the first (NumPy's copy of a copy has its layout).
            other = array.copy(order="K")
            env[m.other] = other
            made[m.other] = other
    buffers = getattr(_LOCAL, "buffers", None)
    if buffers is None:
        buffers = _LOCAL.buffers = {}
    buffers[nest_id] = made
    return None


def written(plan: Plan, nest_id: int, out: dict) -> dict:
    """``{name: array}``: what the names of ``plan`` hold after a native run
    whose answer is ``out`` (the arrays ``bind`` made in the last binding of
    the nest on this thread); a name whose statement never ran keeps its value."""
    buffers = discard(nest_id)
    got = {}
    if buffers is None:
        return got
    for m in plan.made:
        state = out.get(m.flag)
        if state is None:
            continue
        if m.alias is None:
            got[m.name] = buffers[m.name]
            continue
        arrays = {"P": buffers[m.name], "Q": buffers[m.other]}
        a, b = _ALIAS_STATES[state]
        if a != "a":
            got[m.alias] = arrays[a]
        if b is not None:
            got[m.name] = arrays[b]
    return got


def discard(nest_id: int) -> Optional[dict]:
    """Forgets (and returns) the arrays made for the nest's last binding
    on this thread: the loop ran as Python, or the names got them."""
    buffers = getattr(_LOCAL, "buffers", None)
    return None if buffers is None else buffers.pop(nest_id, None)


def names(plan: Plan) -> List[str]:
    """The names whose values ``written`` may give."""
    out = []
    for m in plan.made:
        out.extend(n for n in (m.name, m.alias) if n is not None and n not in out)
    return out
