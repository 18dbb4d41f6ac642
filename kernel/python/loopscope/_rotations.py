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

That unrolling is for the simple shape: the root loop of the nest over
``range(stop)`` or ``range(start, stop)``, swaps of plain names at the top
level of its body, no ``break``, ``continue`` or ``return`` that leaves the
loop, and no ``else``.

Other swaps (in a ``while`` loop, in a loop inside another, in one branch of
an ``if``, in a loop that may ``break``) are lowered with a hidden state
number instead (``STATE``): the swaps generate a small group of
permutations of the names (at most ``_MAX_STATES``), state k standing for
the k-th of them (0: each name holds its own array). Each swap becomes an
assignment of the state (``if STATE == 0: STATE = 1 else: STATE = 0``), and
each statement that uses the names and contains no swap runs in one copy
per state, under the same test, each copy naming the arrays that the names
hold in that state::

    while err > tol:                   while err > tol:
        for i in ...:                      if STATE == 0:
            new[i] = old[i] ...                for i in ...: new[i] = old[i] ...
        old, new = new, old      ->        else:
                                               for i in ...: old[i] = new[i] ...
                                           if STATE == 0: STATE = 1
                                           else: STATE = 0

The state starts at 0 (``bind_env`` gives it to the nest) and is an output:
after a native run the replacement code gives the names the arrays of the
state the run ended in (0 when no swap ran). The statements that contain a
swap (the loops and ``if`` around it), and an ``if`` or loop holding a
``break``, ``continue`` or ``return`` of a loop around it (whose place in
its ``if`` the engine reads), are not copied: their blocks are lowered the
same way, and a line of theirs that reads the names (``while a[0] > tol``,
``range(len(a))``) reads them in a conditional expression over the states
(``a[0] if STATE == 0 else b[0]``).

A swap through a temporary (``tmp = u; u = u_new; u_new = tmp``, three
statements in a row, ``tmp`` used nowhere else in the nest) is read as
``u, u_new = u_new, u``, lowered with states that also say which array
``tmp`` holds, which the replacement code gives it after the run (it keeps
its value when no swap ran).

Both ways, the names must be used otherwise only as arrays: subscripted, or
read with ``len()``, ``.shape``, ``.size``, ``.ndim``, and never assigned but
by the swaps. Anything else is left as it is, and the analysis says why a
name holds two arrays (``why_not`` gives the sentence).
"""

import ast
import copy
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ._records import HIDDEN_INDEX, SWAP_STATE
from ._walk import ARRAY_SIZE_ATTRS, copy_tree, element_uses, walk

_MAX_PERIOD = 4
_MAX_STATES = 6
# The state number of the swaps lowered with states: a name of the front end's
# copy only (not hidden with "$": the engine keeps it from one iteration to
# the next, and returns it); the replacement code reads it from the answer,
# the user reads it as a phrase (_records.shown).
STATE = SWAP_STATE


@dataclass
class Rotation:
    """What the replacement code needs after a native run: the names that
    trade places, where each one's array is after k steps (k = 1 .. P-1),
    and the range() arguments of the loop."""

    names: List[str]
    after: List[Dict[str, str]]  # after[k - 1][name] = the name whose array it holds after k steps
    range_args: List[ast.expr]
    # Lowered with states: after[k - 1] is what the names hold in state k,
    # which the native run returns as this variable (range_args is empty).
    state: Optional[str] = None

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


def _uses_as_arrays_only(body: List[ast.stmt], names: set, swaps: set, in_swaps: set = frozenset()) -> bool:
    """Every use of the names in ``body`` (other than the swaps: statements
    of ``body`` with these ids, or nodes with the ids ``in_swaps``)
    subscripts them or reads len(), .shape, .size or .ndim, and at least
    one subscripts each."""
    subscripted = set()
    allowed = set(in_swaps)  # id() of Name nodes in allowed positions
    for s in body:
        uses = element_uses(s, names)
        allowed.update(uses)
        subscripted.update(sub.value.id for sub in uses.values() if sub is not None)
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
        if isinstance(n, ast.Attribute) and n.attr in ARRAY_SIZE_ATTRS:
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
    """``(the front end's copy of node with its swapped arrays unrolled or
    numbered by states, the Rotation)``, or ``(node, None)`` when the nest
    has no swap of arrays that can be lowered (``why_not`` says why)."""
    out, rotation = _unroll(node)
    if rotation is not None:
        return out, rotation
    out, rotation, _why = _with_states(node)
    return out, rotation


def why_not(node: ast.stmt) -> Optional[str]:
    """Why the swaps of arrays in ``node`` are not lowered (a sentence), or
    None when there is none or they are."""
    if _unroll(node)[1] is not None:
        return None
    return _with_states(node)[2]


def _unroll(node: ast.stmt) -> Tuple[ast.stmt, Optional[Rotation]]:
    """The root loop unrolled by the period of its swaps, or ``(node, None)``."""
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


def _permute(holds: Dict[str, str], targets: List[str], values: List[str]) -> Dict[str, str]:
    return {**holds, **{t: holds[v] for t, v in zip(targets, values)}}


def _uses(s: ast.AST, names: set) -> set:
    return {n.id for n in walk(s) if isinstance(n, ast.Name) and n.id in names}


def _name_assign(s) -> Optional[Tuple[str, str]]:
    """``(target, value)`` of ``t = x`` (plain names)."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
        if isinstance(s.value, ast.Name):
            return s.targets[0].id, s.value.id
    return None


def _fold_temporary_swaps(tree: ast.AST, dry: bool = False) -> Dict[int, str]:
    """Each ``t = x; x = y; y = t`` in ``tree`` (three statements in a row)
    replaced by ``x, y = y, x``: ``{id(the new swap): t}`` (``dry``: only
    found, ``{}`` when there is none)."""
    temps: Dict[int, str] = {}
    for n in walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(n, field, None)
            if not (isinstance(block, list) and len(block) >= 3 and isinstance(block[0], ast.stmt)):
                continue
            k = 0
            while k + 2 < len(block):
                first, second, third = (_name_assign(s) for s in block[k : k + 3])
                if (
                    first
                    and second
                    and third
                    and second[0] == first[1]
                    and third == (second[1], first[0])
                    and len({first[0], first[1], second[1]}) == 3
                ):
                    t, x, y = first[0], first[1], second[1]
                    if dry:
                        return {0: t}
                    swap = ast.Assign(
                        [ast.Tuple([ast.Name(x, ast.Store()), ast.Name(y, ast.Store())], ast.Store())],
                        ast.Tuple([ast.Name(y, ast.Load()), ast.Name(x, ast.Load())], ast.Load()),
                    )
                    ast.copy_location(swap, block[k])
                    swap.end_lineno = getattr(block[k + 2], "end_lineno", swap.lineno)
                    temps[id(swap)] = t
                    block[k : k + 3] = [swap]
                k += 1
    return temps


def _with_states(node: ast.stmt) -> Tuple[ast.stmt, Optional[Rotation], Optional[str]]:
    """The nest with its swaps numbered by states (see the module's text):
    ``(copy, Rotation, None)``, or ``(node, None, why)`` (why is None when
    the nest swaps no arrays)."""
    if not any(isinstance(n, ast.Assign) and _swap(n) is not None for n in walk(node)):
        if not _fold_temporary_swaps(node, dry=True):
            return node, None, None
    work = copy_tree(node)
    temps = _fold_temporary_swaps(work)  # id(swap) -> its temporary
    # Swaps of names the nest subscripts (a swap of numbers is the engine's).
    subscripted = {n.value.id for n in walk(work) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)}

    def of_arrays(n) -> bool:
        return isinstance(n, ast.Assign) and (sw := _swap(n)) is not None and set(sw[0]) <= subscripted

    swaps = [n for n in walk(work) if of_arrays(n)]
    if not swaps:
        return node, None, None
    # A temporary of a swap of arrays is used nowhere else in the nest.
    held = sorted({temps[id(s)] for s in swaps if id(s) in temps})
    if any(isinstance(n, ast.Name) and n.id in held for n in walk(work)):
        return node, None, None
    names = set()
    for s in swaps:
        names.update(_swap(s)[0])
    order = sorted(names)
    shown = ", ".join(order)
    in_swaps = {id(n) for s in swaps for n in walk(s)}
    if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) for n in walk(work)):
        return node, None, None
    for n in walk(work):
        if id(n) in in_swaps:
            continue
        if isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, (ast.Store, ast.Del)):
            return node, None, f"{n.id} trades places with another array and is also assigned otherwise in the loop"
        if isinstance(n, (ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom)):
            return node, None, None
    if not _uses_as_arrays_only([work], names, set(), in_swaps):
        return node, None, None  # the engine says which name is used as a value
    # The states: the permutations the swaps generate, from the identity,
    # with the array each temporary holds (None: not assigned yet).
    identity = {**{n: n for n in order}, **{t: None for t in held}}
    states = [identity]
    key = lambda h: tuple(h[n] for n in order + held)  # noqa: E731
    index = {key(identity): 0}

    def step(h: Dict[str, Optional[str]], s: ast.Assign) -> Dict[str, Optional[str]]:
        targets, values = _swap(s)
        g = _permute(h, targets, values)
        if id(s) in temps:  # t = x; x = y; y = t: t holds x's array
            g[temps[id(s)]] = h[targets[0]]
        return g

    todo = [identity]
    while todo:
        h = todo.pop()
        for s in swaps:
            g = step(h, s)
            if key(g) not in index:
                if len(states) == _MAX_STATES:
                    return (
                        node,
                        None,
                        (
                            f"the swaps of {shown} leave them in more than {_MAX_STATES} arrangements, "
                            "too many to follow in native code"
                        ),
                    )
                index[key(g)] = len(states)
                states.append(g)
                todo.append(g)

    def arrays(h: Dict[str, Optional[str]]) -> Dict[str, str]:
        return {n: h[n] for n in order}

    def state_is(k: int) -> ast.expr:
        return ast.Compare(ast.Name(STATE, ast.Load()), [ast.Eq()], [ast.Constant(k)])

    def chain(parts: List[Tuple[int, List[ast.stmt]]], where: ast.stmt) -> ast.stmt:
        """if STATE == k0: parts0 elif ... else: the last part."""
        out = parts[-1][1]
        for k, body in reversed(parts[:-1]):
            out = [ast.copy_location(ast.If(state_is(k), body, out), where)]
        return out[0]

    class NotLowered(Exception):
        pass

    def transition(s: ast.stmt) -> ast.stmt:
        parts = []
        for k, h in enumerate(states):
            assign = ast.Assign([ast.Name(STATE, ast.Store())], ast.Constant(index[key(step(h, s))]))
            parts.append((k, [ast.copy_location(assign, s)]))
        return chain(parts, s)

    def dispatched(s: ast.stmt) -> ast.stmt:
        used = sorted(_uses(s, names))
        groups: Dict[tuple, List[int]] = {}
        for k, h in enumerate(states):
            groups.setdefault(tuple(h[n] for n in used), []).append(k)
        if len(groups) == 1:
            return _Rename(arrays(states[next(iter(groups.values()))[0]])).visit(s)
        parts = []
        for ks in groups.values():
            copied = _Rename(arrays(states[ks[0]])).visit(copy.deepcopy(s))
            for k in ks:
                parts.append((k, [copied if k == ks[0] else copy.deepcopy(copied)]))
        parts.sort(key=lambda p: p[0])
        return chain(parts, s)

    def expression(e: ast.expr) -> ast.expr:
        """e, or when it uses the names, ``e0 if STATE == 0 else e1 ...``
        (the header of a loop or if that holds a swap: a while's test is
        evaluated again with the arrays of each pass)."""
        used = sorted(_uses(e, names))
        groups: Dict[tuple, List[int]] = {}
        for k, h in enumerate(states):
            groups.setdefault(tuple(h[n] for n in used), []).append(k)
        parts = [(ks, _Rename(arrays(states[ks[0]])).visit(copy.deepcopy(e))) for ks in groups.values()]
        out = parts[-1][1]
        for ks, part in reversed(parts[:-1]):
            test = state_is(ks[0])
            if len(ks) > 1:
                test = ast.BoolOp(ast.Or(), [state_is(k) for k in ks])
            out = ast.copy_location(ast.IfExp(test, part, out), e)
        return out

    def block(body: List[ast.stmt]) -> List[ast.stmt]:
        out = []
        for s in body:
            if any(s is w for w in swaps):
                out.append(transition(s))
            elif not _uses(s, names):
                out.append(s)
            elif not any(id(n) in swap_ids for n in walk(s)) and not (
                isinstance(s, (ast.If, ast.For, ast.While)) and _leaves([s])
            ):
                out.append(dispatched(s))
            else:
                compound(s)
                out.append(s)
        return out

    def compound(s: ast.stmt):
        """A statement that contains a swap, or a break, continue or return
        of a loop around it (whose place in its if the engine reads): its
        blocks lowered, its header numbered by states when it uses the names."""
        if not isinstance(s, (ast.For, ast.While, ast.If)):
            raise NotLowered(f"a swap of {shown} inside a {type(s).__name__.lower()} statement is not supported")
        if isinstance(s, ast.For) and isinstance(s.iter, ast.Call) and not s.iter.keywords:
            s.iter.args = [expression(a) for a in s.iter.args]  # range(n if STATE == 0 else m)
        elif isinstance(s, ast.For):
            s.iter = expression(s.iter)
        else:
            s.test = expression(s.test)
        s.body = block(s.body)
        s.orelse = block(s.orelse)

    swap_ids = {id(s) for s in swaps}
    try:
        compound(work)
    except NotLowered as why:
        return node, None, str(why)
    for n in walk(work):
        if "lineno" in n._attributes and not hasattr(n, "lineno"):
            ast.copy_location(n, node)
    ast.fix_missing_locations(work)
    # What each name (and each temporary that was assigned) holds in state k.
    after = [{n: v for n, v in h.items() if v is not None} for h in states[1:]]
    return work, Rotation(order, after, [], STATE), None


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
