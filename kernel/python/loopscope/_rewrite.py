"""Rewriting of Python code so that each supported loop nest goes through a
hook (the engine) before, or instead of, running as plain Python.

Protocol. Every outermost supported ``for v in range(...)`` nest (at module
level, in function bodies, and inside if/while/with/try/class bodies) is
registered with the engine (front end + static phase, giving an integer nest
id) and replaced by::

    try:
        __loopscope_state__.out = HOOK(NEST_ID, {'A': A, 'n': n, '@range': range})
    except NameError:
        __loopscope_state__.out = HOOK(NEST_ID, None)
    if __loopscope_state__.out is None:
        <the original loop, unchanged>
        __loopscope_state__.ran = NEST_ID   # tells the kernel's report the Python loop ended
    else:
        if 'i' in __loopscope_state__.out:
            i = __loopscope_state__.out['i']   # every scalar / loop variable the nest assigns

``HOOK`` is the global ``__loopscope_hook__`` in a cell; in a function that
``compile_function`` rebuilds it is ``__loopscope_state__.call(<the hook, a
constant of the code>, ...)``, so no free variable shows in ``locals()``.

The replacement assigns no name of its own: the function's locals
(``co_varnames``), a cell's namespace and a class body hold only the user's
names, whatever happens. The hook's answer goes to a thread-local object
reached through a builtin (``STATE_NAME``); it is read right after the call,
before any user code can run again, so recursion, nested replacements (a
declined loop around an accepted one) and threads each see their own.

The env holds plain name loads only, evaluated where the loop is: every name
the nest reads from outside, and under ``@name`` every global or builtin the
compiled code assumes (``range``, ``abs``, ``math``, ``np``, ...). Nothing with
a side effect runs before the hook. ``bind_env`` (called once by every hook
front: the kernel, ``run``/``jit``, ``explain``, ``estimate``) then checks by
identity that each assumed object is the one the compiled code implements (a
user's own ``abs``, a rebound ``np`` or a monkeypatched ``math.sqrt`` declines
the nest, with the reason) and computes the values the nest reads through
expressions (``A.shape[0]``, ``len(A)``) only from objects whose behaviour is
known.

``HOOK(nest_id, env)`` returning ``None`` means "run the Python loop";
returning a dict means the nest was executed natively (or deliberately
skipped) and the names in it must be written back. The generated statements
carry the original loop's line numbers, so tracebacks point at the user's
code. A nest the front end declines is left as it is (its decline is
recorded) and the nests inside its body are considered in turn.

API:

- ``rewrite_module(tree, filename, hook_name, source=None, hook_declined=False,
  namespace=None)`` -> ``(new_tree, nests)``
- ``rewrite_function(fn)`` -> ``(module_tree, nests)``: the module defines
  ``__loopscope_make__(<free variables of fn>)`` returning the rewritten
  function, whose nests reach the hook through ``HOOK_CONSTANT``;
  ``compile_function`` does the rest.
- ``compile_function(fn, hook)`` -> ``(new_fn, nests)``:
  a function with the same globals, defaults, closure, annotations and
  attributes as ``fn`` whose nests call ``hook``; raises ``NotRewritable``
  (with a reason for the user) when ``fn`` cannot be rewritten, and the
  caller then runs ``fn`` as it is.
- ``bind_env(nest_id, env)`` -> ``(env, None)`` or ``(None, decline)`` (a ``_records.Decline``).
- ``NESTS``: registry, nest id -> :class:`NestRecord`.

Each element of ``nests`` is a :class:`NestRecord`.
"""

import __future__
import ast
import bisect
import builtins
import copy
import dis
import functools
import inspect
import math
import re
import sys
import textwrap
import threading
import types
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy

import _loopscope

from . import _aliases, _appends, _callees, _draws, _fresh, _inline, _iteration, _lists, _rotations, _slices, _source
from . import _records
from ._records import EXACTNESS, UNSUPPORTED_SYNTAX, UNSUPPORTED_VALUE, Decline, shown_all
from ._walk import walk

HOOK_NAME = "__loopscope_hook__"
# A rebuilt function reaches its hook through a constant of its own code, not
# through a name: a free variable would show in the function's ``locals()``.
# The generated call is ``__loopscope_state__.call(HOOK_CONSTANT, id, env)``;
# compile_function swaps the placeholder string for the hook object in the
# compiled code's constants.
HOOK_CONSTANT = f"<loopscope hook {uuid.uuid4().hex}>"
MAKER_NAME = "__loopscope_make__"
# The generated code's only name: a builtin, so that it is in no namespace of
# the user's; its ``out`` attribute is per thread.
STATE_NAME = "__loopscope_state__"
# Called with the nest id when a nest has run as plain Python (the statement
# after the original loop); the kernel times Python runs with it. None: nobody
# listens (loopscope.run, or outside a kernel).
PYTHON_RAN_LISTENER: List[Any] = [None]
# The same for auto, which times the Python runs it chose (_run).
AUTO_PYTHON_RAN_LISTENER: List[Any] = [None]


# Rewriting and registering nests, one thread at a time: the trees being
# rewritten, the registry and the caches of inlined functions are shared by
# the threads that call loopscope.run or a jit function at once (a
# re-entrant lock: rewriting a function rewrites the functions it calls).
REWRITE_LOCK = threading.RLock()


class _HookState(threading.local):
    """Per thread: ``out``, the hook's last answer; assigning ``ran`` (a nest
    id) tells ``PYTHON_RAN_LISTENER`` that the nest's Python loop ended."""

    out = None

    @staticmethod
    def steps(r: range) -> int:
        """How many steps a loop over ``r`` ran (_rotations_after; not the
        user's ``len``, which may be anything)."""
        return len(r)

    @staticmethod
    def call(hook, nest_id, env):
        """A rebuilt function's way to its hook (see HOOK_CONSTANT)."""
        return hook(nest_id, env)

    def _python_ran(self, nest_id):
        for listener in (AUTO_PYTHON_RAN_LISTENER[0], PYTHON_RAN_LISTENER[0]):
            if listener is not None:
                try:
                    listener(nest_id)
                except Exception:  # a report problem never reaches the user's code
                    pass

    ran = property(None, _python_ran)

    @staticmethod
    def lazy(hook, key):
        """A nest that calls names known only when it runs (_inline.LazyNest)."""
        return _lazy_call(hook, key, sys._getframe(1))

    def _python_ran_lazy(self, key):
        lazy = _inline.LAZY.get(key)
        if lazy is not None and lazy.last is not None:
            self._python_ran(lazy.last)

    ran_lazy = property(None, _python_ran_lazy)

    def made(self, nest_id):
        """A native run: the answer gets the arrays made before the nest
        that its names hold now (_fresh)."""
        self.out = {**self.out, **_fresh.written(NESTS[nest_id].fresh, nest_id, self.out)}

    @staticmethod
    def not_made(nest_id):
        """The nest ran as Python: the arrays made for it are dropped (_fresh)."""
        _fresh.discard(nest_id)

    @staticmethod
    def restore_draws():
        _draws.restore()

    @staticmethod
    def keep_draws():
        _draws.keep()

    def appended(self, nest_id):
        """A native run: the lists the nest appends to get their values (_appends)."""
        _appends.commit(nest_id, self.out)

    @staticmethod
    def not_appended(nest_id):
        """The nest ran as Python: it appends to its lists itself (_appends)."""
        _appends.discard(nest_id)


_STATE = _HookState()
setattr(builtins, STATE_NAME, _STATE)
ASSUMED_PREFIX = "@"  # env keys of assumed globals; never a Python identifier


class NotRewritable(ValueError):
    """``fn`` cannot be rewritten; the message says why, for the user."""


# --- what the compiled code assumes ---------------------------------------------------
#
# The front end gives a meaning to some names (analysis/src/frontend.cpp): the
# builtins below, and the modules math and numpy (as ``np`` or ``numpy``) with
# their functions and constants. Compiled code implements those meanings, so
# before it runs, every such name the nest reads must still be that object.
# The originals are taken when this module is imported (in the kernel, before
# any user code runs).

ASSUMED_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "range",
        "len",
        "abs",
        "min",
        "max",
        "float",
        "int",
        "round",
        "pow",
        "divmod",
        "complex",
        "enumerate",
        "reversed",
        "zip",
    )
}
ASSUMED_MODULES = {"math": math, "np": numpy, "numpy": numpy}
_MODULE_ATTRS = {id(math): _aliases.SNAPSHOT["math"], id(numpy): _aliases.SNAPSHOT["np"]}
_MISSING = object()
NAMESPACE_MISSING = _aliases.MISSING  # a namespace lookup of an unbound name
_ndarray = numpy.ndarray


@dataclass
class NestRecord:
    id: int
    line: int  # line of the root `for` in the parsed source
    end_line: int
    var: str  # variable of the root loop
    source: str
    declined: bool
    decline: Optional[Decline]  # when declined
    inputs: List[str] = field(default_factory=list)
    outputs: List[str] = field(default_factory=list)
    arrays: List[str] = field(default_factory=list)
    loops: List[dict] = field(default_factory=list)  # from the engine, or from the ast when declined
    static: Optional[dict] = None
    filename: str = ""
    # Names the generated code loads into the env: the plain names among the
    # inputs, the bases of expression inputs, and the assumed globals.
    loads: List[str] = field(default_factory=list)
    assumed: List[str] = field(default_factory=list)  # builtin and module names, other spellings
    assumed_attrs: List[Tuple[str, str]] = field(default_factory=list)  # (module name, attribute)
    # Other spellings of math and NumPy (`m` for `import math as m`, `sqrt`
    # for `from math import sqrt`): what each must be when the nest runs.
    aliases: Dict[str, "_aliases.Meaning"] = field(default_factory=dict)
    # Random numbers the nest draws, drawn before it runs (_draws).
    draws: Optional["_draws.DrawPlan"] = None
    # The root loop iterates an iterable (`for x in a`, lowered by _iteration),
    # not a range: when its values decline, its body's own nests are rewritten.
    over_iterable: bool = False
    # The user's functions inlined into the nest (_inline), checked likewise.
    callees: Dict[str, "_inline.Callee"] = field(default_factory=dict)
    # In a rewritten function (rewrite_function): its qualified name, and
    # the line of its def in its file (``line`` counts that line as 1).
    function: str = ""
    def_line: int = 0
    # The nest returns from its function (_inline.lower_nest_returns): "value" or "none".
    returns: Optional[str] = None
    # It calls names known only when it runs (_inline.LazyNest): its key in _inline.LAZY.
    lazy: Optional[int] = None
    # What the lowered loops assume of the values (_iteration.Facts).
    iteration: Optional["_iteration.Facts"] = None
    # Arrays whose names trade places between the root loop's steps (_rotations).
    rotation: Optional["_rotations.Rotation"] = None
    # Arrays made in each pass, made once before the nest (_fresh).
    fresh: Optional["_fresh.Plan"] = None
    # Lists the nest appends to, filled after a native run (_appends).
    appends: Optional["_appends.AppendPlan"] = None
    # The inputs computed from other values (`len(a)`, `a.shape[0]`), found at the first bind.
    expression_inputs: Optional[Tuple[str, ...]] = None
    # The arrays of the nest that a list or tuple may not be for, and why (_lists).
    lists: Optional[Dict[str, str]] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "line": self.line,
            "end_line": self.end_line,
            "var": self.var,
            "source": self.source,
            "declined": self.declined,
            "decline": self.decline.as_dict() if self.decline else None,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "arrays": list(self.arrays),
            "loops": [dict(l) for l in self.loops],
            "static": self.static,
        }


NESTS: Dict[int, NestRecord] = {}

# What a lowered slice's check (_slices: a slice clipped at the array's edge
# or empty, lengths that differ, a float max/min whose zero or NaN NumPy
# picks in its own way, a median window holding NaN or whose middle elements
# add to an infinity NumPy warns of) stops the native code with: the division-by-zero
# trap, whose own sentence names only the division.
_SLICE_CHECK_STOP = (
    "a division or modulo by zero, or a check of the slices this nest reduces or copies: a slice clipped at "
    "the array's edge or empty, slices of different lengths, a float max/min that is zero or NaN (NumPy "
    "decides those in its own way), or an np.median window holding NaN or whose middle elements add to an "
    "infinity or NaN that NumPy warns of, so Python ran the loop"
)


# The generated CUDA checks a window's subscripts before the slice's own
# check can run: a clipped window stops it with the subscript trap.
_SLICE_INDEX_STOP = (
    "a subscript out of range, or a slice this nest reduces that is clipped at the array's edge or empty, so "
    "Python ran the loop (raising IndexError where a subscript is out of range)"
)


def _stop_sentence(nest_id: int, decline):
    """The record's sentence for a native run that stopped (_records.STOP_SENTENCE)."""
    rec = NESTS.get(nest_id)
    plan = getattr(rec, "appends", None)
    if plan is not None and plan.factors and decline.reason.startswith("a subscript is out of range"):
        names = sorted({plan.lists[plan.sites[site]] for site in plan.factors})
        return Decline(
            decline.code,
            decline.line,
            f"a subscript is out of range, or the values appended to {' and '.join(names)} inside a while loop "
            f"passed the space native code kept aside for them (the next run keeps twice as much): Python ran "
            f"the loop",
            decline.detail,
        )
    if rec is None or rec.iteration is None or not rec.iteration.reductions:
        return decline
    if decline.detail == "trap 2":
        return Decline(decline.code, decline.line, _SLICE_INDEX_STOP, decline.detail)
    if decline.detail != "trap 1" and not decline.reason.startswith("a division or modulo by zero"):
        return decline
    return Decline(decline.code, decline.line, _SLICE_CHECK_STOP, decline.detail)


_records.STOP_SENTENCE[0] = _stop_sentence


def is_range_loop(node) -> bool:
    return (
        isinstance(node, ast.For)
        and isinstance(node.target, ast.Name)
        and isinstance(node.iter, ast.Call)
        and isinstance(node.iter.func, ast.Name)
        and node.iter.func.id == "range"
    )


def _ast_loops(node) -> List[dict]:
    """The for loops of a (declined) nest, read from the ast."""
    out = []
    for n in walk(node):
        if isinstance(n, ast.For):
            var = n.target.id if isinstance(n.target, ast.Name) else ast.unparse(n.target)
            out.append({"var": var, "line": n.lineno})
    out.sort(key=lambda d: d["line"])
    return out


def _expression_input(name: str):
    """For an input such as ``A.shape[0]``, ``len(A)``, ``A.size``, ``A.ndim``
    or ``t[1]`` (in a range() argument): ``(kind, base, k)``; None for a
    plain name."""
    if name.isidentifier() or name.startswith(_inline.HIDDEN_PREFIX):
        return None  # a plain name, or one the engine provides (_draws)
    if name.startswith("len(") and name.endswith(")"):
        return ("len", name[4:-1], None)
    if name.startswith("min(len(") and name.endswith("))"):
        # the length of zip(a, b, ...), as _iteration spells it
        return ("zip_len", tuple(part[4:-1] for part in name[4:-1].split(", ")), None)
    if ".shape[" in name:
        base, _, rest = name.partition(".shape[")
        return ("shape", base, int(rest[:-1]))
    if name.endswith((".size", ".ndim")):
        base, _, attr = name.rpartition(".")
        return (attr, base, None)
    base, _, rest = name.partition("[")
    return ("item", base, int(rest[:-1]))


def _assumed_names(node: ast.For, inputs: List[str], aliases: Dict[str, "_aliases.Meaning"]):
    """The builtins the nest calls, the modules whose attributes it reads and
    the other spellings of math and NumPy it uses (``aliases``: names the
    compiled code gives a meaning to), the module attributes, and the names
    among them that also hold a value of the loop's own (an input or a name
    the nest assigns), which the compiled code cannot tell apart."""
    modules = set(ASSUMED_MODULES) | {n for n, m in aliases.items() if m.attr is None}
    functions = set(ASSUMED_BUILTINS) | {n for n, m in aliases.items() if m.attr is not None}
    names, attrs = set(), set()
    for n in walk(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules:
            names.add(n.value.id)
            attrs.add((n.value.id, n.attr))
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in functions:
            names.add(n.func.id)
    for name in inputs:
        expr = _expression_input(name)
        if expr is not None and expr[0] == "len":
            names.add("len")
    values = {n for n in inputs if n.isidentifier()}
    values |= {n.id for n in walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    return sorted(names), sorted(attrs), sorted(names & values)


@functools.lru_cache(maxsize=16)
def _source_lines(source: str) -> List[str]:
    """The lines of ``source`` as the parser counts them (with their ends;
    a form feed ends none), split once per source."""
    return ast._splitlines_no_ff(source)


def _source_segment(source: str, node: ast.AST) -> Optional[str]:
    """``ast.get_source_segment(source, node, padded=True)``, with the lines
    of ``source`` split once for all the nests of a source."""
    if getattr(node, "end_lineno", None) is None or getattr(node, "end_col_offset", None) is None:
        return None
    lines = _source_lines(source)
    first, last = node.lineno - 1, node.end_lineno - 1
    start, end = node.col_offset, node.end_col_offset
    if first == last:
        return lines[first].encode()[start:end].decode()
    padding = re.sub(r"[^\f\t]", " ", lines[first].encode()[:start].decode())
    head = padding + lines[first].encode()[start:].decode()
    return "".join([head, *lines[first + 1 : last], lines[last].encode()[:end].decode()])


def register(
    node: ast.For,
    source: Optional[str],
    filename: str,
    resolver: Optional["_aliases.Resolver"] = None,
    shadowed: Optional[Set[str]] = None,
    returns: Optional[str] = None,
    known: Optional[Dict[str, Any]] = None,
) -> NestRecord:
    """Registers the nest ``node`` with the engine. ``resolver`` tells what
    the names of the code mean where it runs: the user's functions the nest
    calls are inlined (``_inline``; ``shadowed``: the local names of the
    enclosing function) and other spellings of math and NumPy made canonical
    (``_aliases``), in a copy of the nest that only the front end reads.
    ``returns`` (None outside a function): "" when a ``return`` in the nest
    can be lowered (``_inline.lower_nest_returns``), else why not. A nest
    that calls names known only when it runs (a parameter ``f``, a nested
    ``def``) is registered again for their values (``known``) when it runs
    (``_inline.LazyNest``)."""
    text = None
    if source is not None:
        try:
            text = _source_segment(source, node)
        except Exception:
            text = None
        if text is not None:
            text = textwrap.dedent(text)
    if text is None:
        text = ast.unparse(node)
    # The copy the front end reads: loops over arrays as index loops, the
    # user's functions inlined, other spellings made canonical.
    lowered, facts = _iteration.lower_with_facts(node)
    lowered, fresh = _fresh.lower(lowered, facts)
    lowered = _slices.lower(lowered, facts, resolver)
    lowered, rotation = _rotations.lower(lowered)
    returns_kind, no_return = None, None
    if returns is not None:
        lowered, returns_kind, no_return = _inline.lower_nest_returns(lowered, returns)
    lowered, append_plan, not_appended = _appends.lower(node, lowered)
    inlined, callees, not_inlined = lowered, {}, None
    if resolver is not None:
        try:
            inlined, callees = _inline.inline(
                lowered,
                resolver.value,
                resolver.module,
                shadowed or set(),
                _aliases.MISSING,
                set(ASSUMED_BUILTINS),
                resolver.defs,
                known,
            )
        except _inline.NotInlinable as why:
            not_inlined = str(why)
    draw_plan = None
    if not_inlined is None:
        try:
            inlined, draw_plan = _draws.plan(inlined)
        except _draws.NotDrawable as why:
            not_inlined = str(why)
    canonical, aliases = (
        (inlined, {}) if resolver is None else _aliases.canonical_copy(inlined, resolver, ASSUMED_BUILTINS)
    )
    for r in facts.reductions:  # np.median spelled otherwise, lowered by _slices
        if getattr(r, "alias", None) is not None:
            aliases = {**aliases, r.alias[0]: r.alias[1]}
    key = _aliases.key_of(aliases) + _inline.key_of(callees)
    if known is not None:  # compiled for these values: not the nest registered without them
        key += repr(sorted((name, _inline.value_key(value)) for name, value in known.items()))
    # The engine caches compiled code by the nest's text: a loop that inlines
    # other functions (or spells math and NumPy otherwise) must not share it.
    engine_text = text if not key else f"{text.rstrip()}\n# {key}\n"
    nest_id = _loopscope.analysis_register(canonical, engine_text, filename, key)
    info = _loopscope.analysis_info(nest_id)
    rec = NestRecord(
        id=nest_id,
        line=node.lineno,
        end_line=getattr(node, "end_lineno", node.lineno) or node.lineno,
        var=_iteration.loop_names(node),
        over_iterable=not is_range_loop(node),
        source=text,
        declined=info["declined"],
        decline=Decline.from_engine(info["decline"]),
        inputs=list(info.get("inputs", [])),
        outputs=list(info.get("outputs", [])),
        arrays=list(info.get("arrays", [])),
        loops=_rotations.merge_copies(shown_all(list(info.get("loops", [])))) or _ast_loops(node),
        static=shown_all(info.get("static")),
        filename=filename,
    )
    if rec.declined and rec.decline is not None and rec.decline.line in facts.unlowered:
        rec.decline = Decline(rec.decline.code, rec.decline.line, facts.unlowered[rec.decline.line])
    if rotation is None and rec.declined and rec.decline is not None and "as a plain value" in rec.decline.reason:
        why = _rotations.why_not(lowered)
        if why is not None:  # the names of a swap that could not be lowered: say why
            rec.decline = Decline(rec.decline.code, rec.decline.line, why)
    if not_inlined is not None and rec.declined:
        rec.decline = Decline(UNSUPPORTED_SYNTAX, node.lineno, not_inlined)
    if no_return is not None and rec.declined:
        rec.decline = Decline(UNSUPPORTED_SYNTAX, node.lineno, no_return)
    if rec.declined and rec.decline is not None:
        for name, why in not_appended.items():  # the front end names the append: say why it stays
            if f"{name}.append(" in rec.decline.reason and "changes a Python list" in rec.decline.reason:
                rec.decline = Decline(UNSUPPORTED_SYNTAX, rec.decline.line, why)
    provided = _draws.hidden_inputs(draw_plan) if draw_plan else set()
    if append_plan is not None:
        provided |= _appends.hidden_inputs(append_plan)
    hidden = [n for n in rec.inputs + rec.outputs if n.startswith(_inline.HIDDEN_PREFIX) and n not in provided]
    if hidden and not rec.declined:
        rec.declined = True
        rec.decline = Decline(
            UNSUPPORTED_SYNTAX, node.lineno, "a local name of an inlined function may be read before it is assigned"
        )
    # A value read before the loop (A.shape[0], len(A), t[1]) must come from
    # a name the loop does not assign, or Python would read the new value.
    for name in rec.inputs:
        expr = _expression_input(name)
        bases = () if expr is None else expr[1] if isinstance(expr[1], tuple) else (expr[1],)
        assigned = [b for b in bases if b in rec.outputs]
        if assigned and not rec.declined:
            rec.declined = True
            rec.decline = Decline(
                UNSUPPORTED_SYNTAX,
                node.lineno,
                f"{name} is read before the loop, but the loop assigns {assigned[0]}",
            )
    if not rec.declined:
        rec.aliases, rec.callees, rec.returns = aliases, callees, returns_kind
        rec.assumed, rec.assumed_attrs, clash = _assumed_names(inlined, rec.inputs, aliases)
        rec.assumed = sorted(set(rec.assumed) | set(callees) | _iteration.builtins_called(node))
        rec.assumed = sorted(set(rec.assumed) | {m for m, _ in facts.modules})
        rec.assumed = sorted(set(rec.assumed) | {r.alias[0] for r in facts.reductions if getattr(r, "alias", None)})
        rec.assumed_attrs = sorted(set(rec.assumed_attrs) | facts.modules)
        rec.iteration = facts
        rec.rotation = rotation
        rec.lists = _lists.registered(node, canonical, rec.arrays, set(callees))
        if fresh is not None:
            rec.fresh = fresh
            rec.assumed = sorted(set(rec.assumed) | fresh.builtins | {m for m, _ in fresh.modules})
            rec.assumed_attrs = sorted(set(rec.assumed_attrs) | fresh.modules)
        if draw_plan:
            rec.draws = draw_plan
            rec.assumed = sorted(set(rec.assumed) | set(draw_plan.modules) | set(draw_plan.generators))
        if clash:
            # `max = max(max, x)`: the name holds a value of the loop's and is called too.
            meaning = aliases.get(clash[0])
            is_module = clash[0] in ASSUMED_MODULES or (meaning is not None and meaning.attr is None)
            what = "module" if is_module else "function"
            rec.declined = True
            rec.decline = Decline(
                UNSUPPORTED_SYNTAX,
                node.lineno,
                f"{clash[0]} holds a value of the loop (it is assigned or read as a number) "
                f"and is also used as the built-in {what} {clash[0]}",
            )
        loads = []
        for name in rec.inputs:
            expr = _expression_input(name)
            bases = [name] if expr is None else list(expr[1]) if isinstance(expr[1], tuple) else [expr[1]]
            loads.extend(
                b
                for b in bases
                if b not in loads
                and not b.startswith(_inline.HIDDEN_PREFIX)
                and b != _rotations.STATE
                and not b.startswith(_appends.COUNT)
                and not b.startswith(_slices.FLOATS_PREFIX)
            )
        if draw_plan:  # the arguments of the draws checked before the loop (_draws)
            loads.extend(n for n in draw_plan.names if n not in loads)
        if fresh is not None:  # the arrays are made when the nest runs, from the names their calls read
            loads = [n for n in loads if n not in fresh.provided()]
            loads.extend(n for n in fresh.loads if n not in loads)
        if append_plan is not None:  # the lists, and the names the bounds of their loops read
            rec.appends = append_plan
            loads.extend(n for n in append_plan.lists if n not in loads)
            loads.extend(n for n in append_plan.names if n not in loads and n not in ASSUMED_BUILTINS)
        rec.loads = loads
    if known is None and resolver is not None and rec.declined:
        lazy = _inline.lazy_names(
            node, shadowed or set(), resolver.value, _aliases.MISSING, set(ASSUMED_BUILTINS), resolver.defs
        )
        if lazy:

            def again(copied: ast.For, values: Dict[str, Any], lookup) -> NestRecord:
                where = _aliases.Resolver(None, lookup, resolver.module)
                return register(copied, source, filename, where, shadowed, returns, known=values)

            stored = sorted(n for n in _inline._stored_names([node]) if n.isidentifier())
            rec.lazy = _inline.add_lazy(_inline.LazyNest(node, lazy, again, stored))
            rec.returns = "value" if returns == "" and _inline._has_return([node]) else None
    NESTS[nest_id] = rec
    return rec


# --- binding: the one check between the loop's scope and the engine --------------------


def _describe(obj) -> str:
    """What ``obj`` is, for a sentence: "a function defined in this program"."""
    if obj is _MISSING:
        return "not defined"
    if isinstance(obj, types.ModuleType):
        return f"the module {obj.__name__}"
    if isinstance(obj, types.FunctionType):
        kind = "a lambda" if obj.__code__.co_name == "<lambda>" else "a function"
        return f"{kind} defined in this program"
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    name = obj.source_type.__name__ if type(obj) is _lists.Snapshot else type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _assumption_broken(rec: NestRecord, env: dict) -> Optional[str]:
    for name in rec.assumed:
        have = env.pop(ASSUMED_PREFIX + name, _MISSING)
        meaning = rec.aliases.get(name)
        callee = rec.callees.get(name)
        generator = rec.draws.modules.get(name) if rec.draws else None
        if rec.draws is not None and name in rec.draws.generators:
            if type(have) is not numpy.random.Generator:
                return (
                    f"{name} is {_describe(have)}, not a NumPy Generator (np.random.default_rng()), "
                    f"so the loop runs as plain Python to call its methods"
                )
            env[_draws.GENERATOR_KEY + name] = have
        elif generator is not None:
            if have is not generator:
                return (
                    f"{name} is {_describe(have)}, not the {generator.__name__} module, "
                    f"so the loop runs as plain Python to draw its numbers"
                )
        elif callee is not None:
            why = callee.check(have) or callee.check_rows(env)
            if why is not None:
                return why + ", so the loop runs as plain Python"
        elif meaning is not None:
            if have is not meaning.obj:
                return f"{name} is {_describe(have)}, not {meaning.describe()}, so the loop runs as plain Python"
        elif name in ASSUMED_BUILTINS:
            if have is not ASSUMED_BUILTINS[name]:
                return (
                    f"{name} is {_describe(have)}, not Python's built-in {name}, "
                    f"so the loop runs as plain Python to call it"
                )
        elif have is not ASSUMED_MODULES[name]:
            want = ASSUMED_MODULES[name].__name__
            return f"{name} is {_describe(have)}, not the {want} module, so the loop runs as plain Python"
    for mod_name, attr in rec.assumed_attrs:
        module = rec.aliases[mod_name].obj if mod_name in rec.aliases else ASSUMED_MODULES[mod_name]
        original = _MODULE_ATTRS[id(module)].get(attr, _MISSING)
        # Read from the module's own names: getattr would run the module's
        # __getattr__, whose deprecated aliases (np.bool8) warn from here.
        current = vars(module).get(attr, _MISSING)
        if current is _MISSING:
            return (
                f"{mod_name}.{attr} is not one of the names {module.__name__} holds itself (a deprecated alias "
                f"or a name made on demand), so the loop runs as plain Python"
            )
        if current is not original:
            return (
                f"{mod_name}.{attr} has been replaced (it is not {module.__name__}'s own {attr}), "
                f"so the loop runs as plain Python to call it"
            )
    return None


def _expression_value(name: str, env: dict):
    """The value of an expression input, computed only from objects whose
    behaviour is known (so nothing the user wrote runs twice); raises
    LookupError with the reason otherwise."""
    kind, base, k = _expression_input(name)
    if kind == "zip_len":
        return min(_expression_value(f"len({b})", env) for b in base)
    obj = env.get(base, _MISSING)
    if kind in ("size", "ndim"):
        if type(obj) is not _ndarray:
            raise LookupError(f"{name} is read from {_describe(obj)}, not a NumPy array")
        return obj.size if kind == "size" else obj.ndim
    if kind == "item":
        # t[k] in a range() argument: an item of a tuple or list (`ashape =
        # a.shape`). Anything else, an array element included, runs as
        # Python, which then raises what it raises.
        if type(obj) not in (tuple, list, _lists.Snapshot):
            raise LookupError(f"{name} in a loop bound is read from {_describe(obj)}, not from a tuple or list")
        if not -len(obj) <= k < len(obj):
            raise LookupError(f"{name} is out of range: {base} has {len(obj)} item(s)")
        value = obj[k]
        if type(value) is not int and not isinstance(value, numpy.integer):
            raise LookupError(f"{name} is {_describe(value)}, not an integer")
        return int(value)
    if kind == "shape":
        # (a list's snapshot: the length of a row of `for row in m`, _lists.registered)
        if type(obj) is not _ndarray and type(obj) is not _lists.Snapshot:
            raise LookupError(f"{name} is read from {_describe(obj)}, not a NumPy array")
        shape = obj.shape
        if not -len(shape) <= k < len(shape):
            raise LookupError(f"{name} is out of range: {base} has {len(shape)} dimension(s)")
        return shape[k]
    if type(obj) in (_ndarray, list, tuple, str, bytes, range, dict, _lists.Snapshot):
        if type(obj) is _ndarray and obj.ndim == 0:
            raise LookupError(f"{name}: {base} is a 0-dimensional array, which has no length")
        return len(obj)
    raise LookupError(f"{name} is computed by Python: {base} is {_describe(obj)}")


# NumPy's floating-point error handling (np.seterr, np.errstate): three bits
# per kind (divide, over, under, invalid); 0 ignore, 1 warn, 2 raise, 3 call,
# 4 print, 5 log. Compiled code stops and lets Python run the loop when NumPy
# would warn (divide, over, invalid); it neither raises, calls, prints nor
# logs, and does not track underflow, so any other setting sends the nest to
# Python, where NumPy applies it.
_errobj = numpy.core.umath.geterrobj
_ERR_SHIFTS = {"divide": 0, "over": 3, "under": 6, "invalid": 9}


NUMPY_ERRORS_RAISE = Decline(
    EXACTNESS,
    0,
    "NumPy's floating-point error handling is set to raise, call, print or log (np.seterr or "
    "np.errstate), so the loop runs as plain Python, where NumPy applies it",
)
NUMPY_UNDERFLOW_REPORTED = Decline(
    EXACTNESS,
    0,
    "NumPy is set to report underflow (np.seterr or np.errstate), which native code does not "
    "track, so the loop runs as plain Python, where NumPy reports it",
)

# The last error mask seen and what it means: (mask, decline or None, whether
# compiled code must stop where NumPy would warn). A warm call reads one int.
_numpy_errors_seen = (None, None, False)


def _numpy_errors() -> Tuple[Optional[Decline], bool]:
    """What NumPy's current error handling means for native code: a decline
    (None when native code can follow it) and whether it must stop where
    NumPy would warn."""
    global _numpy_errors_seen
    mask = _errobj()[1]
    seen = _numpy_errors_seen
    if mask != seen[0]:
        errors = {kind: (mask >> shift) & 7 for kind, shift in _ERR_SHIFTS.items()}
        if any(v > 1 for v in errors.values()):
            decline = NUMPY_ERRORS_RAISE
        elif errors["under"] != 0:
            decline = NUMPY_UNDERFLOW_REPORTED
        else:
            decline = None
        seen = _numpy_errors_seen = (mask, decline, any(errors[k] == 1 for k in ("divide", "over", "invalid")))
    return seen[1], seen[2]


_warning_filters_key = None
_warnings_raise = False


def _runtime_warnings_raise() -> bool:
    """True when a warnings filter turns RuntimeWarning into an exception
    (``warnings.simplefilter("error")``, ``-W error``): NumPy would then raise
    where compiled code goes on. Cached on the filter list's identity, length
    and first entry, which every change through the warnings module alters."""
    global _warning_filters_key, _warnings_raise
    import warnings

    filters = warnings.filters
    key = (id(filters), len(filters), id(filters[0]) if filters else None)
    if key != _warning_filters_key:
        _warnings_raise = any(f[0] == "error" and issubclass(RuntimeWarning, f[2]) for f in filters)
        _warning_filters_key = key
    return _warnings_raise


NEAR_RECURSION_LIMIT = Decline(
    EXACTNESS,
    0,
    "the calls nest close to Python's recursion limit (sys.getrecursionlimit()), so the loop runs as "
    "plain Python, which meets the limit where Python meets it",
)


def bind_env(nest_id: int, env: Optional[dict]):
    """``(env, None)``: the values the engine reads, checked; or ``(None,
    decline)``: the nest must run as plain Python, and ``decline`` (a
    ``_records.Decline``) says why."""
    if _callees.near_recursion_limit():
        # Deep recursion: the engine's own calls could meet the limit
        # (pybind11 then recurses formatting the RecursionError, and crashes).
        return None, NEAR_RECURSION_LIMIT
    if env is None:
        return None, Decline(UNSUPPORTED_VALUE, 0, "a name the loop reads is not defined when it starts")
    rec = NESTS.get(nest_id)
    if rec is None or rec.declined:
        return env, None
    if rec.draws is not None:
        _draws.keep()  # nothing of an earlier (interrupted) run is left to put back
    if sys.gettrace() is not None:
        # A debugger (the kernel's debugpy) or a line tracer: native code runs
        # no line of the body, so a breakpoint there would never be hit.
        return None, Decline(
            EXACTNESS,
            0,
            "a debugger or tracer follows this code line by line, so the loop runs as plain Python, "
            "where its breakpoints and steps are met",
        )
    broken = _assumption_broken(rec, env)
    if broken is not None:
        return None, Decline(UNSUPPORTED_VALUE, rec.line, broken)
    if rec.fresh is not None:
        broken = _fresh.bind(rec.fresh, nest_id, env)
        if broken is not None:
            return None, Decline(UNSUPPORTED_VALUE, rec.line, broken)
    if rec.lists is not None:
        # Lists and tuples the nest only reads, as read-only arrays of Python numbers.
        broken = _lists.bind(rec.lists, rec.arrays, env, rec.appends.lists if rec.appends is not None else ())
        if broken is not None:
            return None, Decline(UNSUPPORTED_VALUE, rec.line, broken)
    if rec.iteration is not None:
        broken = _iteration.values_broken(rec.iteration, env) or _slices.values_broken(rec.iteration.reductions, env)
        if broken is not None:
            return None, Decline(UNSUPPORTED_VALUE, rec.line, broken)
    numpy_decline, numpy_warns = _numpy_errors()
    if numpy_decline is not None:
        return None, numpy_decline
    _loopscope.cpu_set_numpy_warnings(numpy_warns)
    if _runtime_warnings_raise():
        return None, Decline(
            EXACTNESS,
            0,
            "a warnings filter turns RuntimeWarning into an error, so the loop runs as plain Python, "
            "where NumPy's warnings become exceptions at the right place",
        )
    if rec.expression_inputs is None:
        rec.expression_inputs = tuple(
            n for n in rec.inputs if not n.isidentifier() and not n.startswith(_inline.HIDDEN_PREFIX)
        )
    for name in rec.expression_inputs:
        try:
            env[name] = _expression_value(name, env)
        except LookupError as why:
            return None, Decline(UNSUPPORTED_VALUE, rec.line, str(why.args[0]))
    if rec.rotation is not None and rec.rotation.state is not None:
        env[rec.rotation.state] = 0  # each name holds its own array (_rotations)
    if rec.draws is not None:
        # Last: nothing may decline after the numbers are drawn, or the
        # generators would have moved for a loop that runs as Python anyway
        # (the replacement's Python branch puts them back: _draws.restore).
        why = _draws.draw(rec.draws, env)
        if why is not None:
            return None, Decline(UNSUPPORTED_VALUE, rec.line, why)
    if rec.appends is not None:
        # Buffers for the values appended to lists, typed by the engine.
        why = _appends.prepare(rec.appends, nest_id, env, lambda e: _append_kinds(nest_id, e))
        if why is not None:
            if rec.draws is not None:
                _draws.restore()
            return None, Decline(UNSUPPORTED_VALUE, rec.line, why)
    return env, None


def _append_kinds(nest_id: int, env: dict):
    """The engine's types of the values a nest appends (_appends.prepare)."""
    try:
        got = _loopscope.cpu_predict(nest_id, dict(env), False)
    except Exception:  # an engine bug must never break the user's code: Python runs
        return "the types of the values appended to the lists could not be found, so the loop runs as plain Python"
    if got.get("status") == "declined":
        return shown_all(Decline.from_engine(got["decline"]).reason)
    return got.get("hidden_kinds", {})


def restore_draws(nest_id: int):
    """A nest bound but not run natively (explained, estimated): the random
    generators go back to where they were before bind_env drew its numbers,
    and its lists stay as they are."""
    _appends.discard(nest_id, stopped=False)
    rec = NESTS.get(nest_id)
    if rec is not None and rec.draws is not None:
        _draws.restore()


# --- the replacement ---------------------------------------------------------------------


def _load(name: str) -> ast.expr:
    return ast.Name(name, ast.Load())


def _hook_answer(ctx) -> ast.expr:
    return ast.Attribute(value=_load(STATE_NAME), attr="out", ctx=ctx)


def _replacement(node: ast.For, rec: NestRecord, hook_name: str) -> List[ast.stmt]:
    keys = [ast.Constant(n) for n in rec.loads] + [ast.Constant(ASSUMED_PREFIX + n) for n in rec.assumed]
    values = [_load(n) for n in rec.loads] + [_load(n) for n in rec.assumed]

    def ask(env: ast.expr) -> ast.stmt:
        if hook_name is None:  # a rebuilt function: the hook is a constant of its code
            func = ast.Attribute(value=_load(STATE_NAME), attr="call", ctx=ast.Load())
            args = [ast.Constant(HOOK_CONSTANT), ast.Constant(rec.id), env]
        else:
            func, args = _load(hook_name), [ast.Constant(rec.id), env]
        return ast.Assign(targets=[_hook_answer(ast.Store())], value=ast.Call(func=func, args=args, keywords=[]))

    # A name the nest reads that is not defined yet: the hook hears None
    # (and declines), the Python loop raises the NameError where it does.
    call = ast.Try(
        body=[ask(ast.Dict(keys=keys, values=values))],
        handlers=[ast.ExceptHandler(type=_load("NameError"), name=None, body=[ask(ast.Constant(None))])],
        orelse=[],
        finalbody=[],
    )
    writes = []
    views = rec.iteration.views if rec.iteration is not None else {}
    for name in rec.outputs:
        if _inline.is_nest_return(name) or name == _rotations.STATE or name.startswith(_appends.COUNT):
            continue
        if name.startswith(_fresh.FLAG_PREFIX):
            continue
        value = ast.Subscript(value=_hook_answer(ast.Load()), slice=ast.Constant(name), ctx=ast.Load())
        if name in views:  # the row `a[k]` of `for row in a`, as Python leaves it
            value = ast.Subscript(value=_load(views[name]), slice=value, ctx=ast.Load())
        writes.append(
            ast.If(
                test=ast.Compare(left=ast.Constant(name), ops=[ast.In()], comparators=[_hook_answer(ast.Load())]),
                body=[ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)],
                orelse=[],
            )
        )
    ran = ast.Assign(
        targets=[ast.Attribute(value=_load(STATE_NAME), attr="ran", ctx=ast.Store())], value=ast.Constant(rec.id)
    )
    if rec.fresh is not None:
        # The arrays made before the nest, where their statements ran (_fresh).
        made = ast.Attribute(value=_load(STATE_NAME), attr="made", ctx=ast.Load())
        writes.insert(0, ast.Expr(ast.Call(func=made, args=[ast.Constant(rec.id)], keywords=[])))
        for name in _fresh.names(rec.fresh):
            value = ast.Subscript(value=_hook_answer(ast.Load()), slice=ast.Constant(name), ctx=ast.Load())
            writes.append(
                ast.If(
                    test=ast.Compare(left=ast.Constant(name), ops=[ast.In()], comparators=[_hook_answer(ast.Load())]),
                    body=[ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)],
                    orelse=[],
                )
            )
    python_runs, native_ran = [node, ran], writes or [ast.Pass()]
    if rec.fresh is not None:
        not_made = ast.Attribute(value=_load(STATE_NAME), attr="not_made", ctx=ast.Load())
        python_runs.insert(0, ast.Expr(ast.Call(func=not_made, args=[ast.Constant(rec.id)], keywords=[])))
    if rec.rotation is not None:
        native_ran.extend(_rotations_after(rec.rotation))
    if rec.returns is not None:
        # The nest met a return: the function returns its value.
        key = ast.Constant(_inline.NEST_RETURN)
        value = ast.Subscript(value=_hook_answer(ast.Load()), slice=key, ctx=ast.Load())
        returned = ast.Compare(left=key, ops=[ast.In()], comparators=[_hook_answer(ast.Load())])
        if rec.returns.startswith("tuple:"):
            items = [
                ast.Subscript(
                    value=_hook_answer(ast.Load()), slice=ast.Constant(f"{_inline.NEST_RETURN}#{k}"), ctx=ast.Load()
                )
                for k in range(int(rec.returns[6:]))
            ]
            value = ast.Tuple(elts=items, ctx=ast.Load())
        back = ast.Return(None if rec.returns == "none" else value)
        native_ran.append(ast.If(test=returned, body=[back], orelse=[]))
    if rec.draws is not None:
        # Random numbers drawn for the native run: Python draws them itself.
        python_runs.insert(0, _state_call("restore_draws"))
        native_ran.insert(0, _state_call("keep_draws"))
    if rec.appends is not None:
        # The values appended natively go to the lists; Python appends its own.
        python_runs.insert(0, _state_call("not_appended", rec.id))
        native_ran.insert(0, _state_call("appended", rec.id))
    branch = ast.If(
        test=ast.Compare(left=_hook_answer(ast.Load()), ops=[ast.Is()], comparators=[ast.Constant(None)]),
        body=python_runs,
        orelse=native_ran,
    )
    out = [call, branch]
    for s in out:
        _locate(s, node)
    return out


def _lazy_call(hook, key: int, frame):
    """The hook's answer for the nest ``_inline.LAZY[key]`` compiled for the
    values its names have in ``frame``; the env is read from there too."""
    lookup = _inline.frame_lookup(frame, NAMESPACE_MISSING)
    del frame
    try:
        with REWRITE_LOCK:
            rec = _inline.LAZY[key].variant(lookup, NAMESPACE_MISSING)
    except Exception:  # an engine bug must never break the user's code: Python runs
        return None
    env: Optional[dict] = {}
    for name in rec.loads:
        value = lookup(name)
        if value is NAMESPACE_MISSING:
            env = None
            break
        env[name] = value
    for name in rec.assumed if env is not None else ():
        value = lookup(name)
        if value is NAMESPACE_MISSING:
            env = None
            break
        env[ASSUMED_PREFIX + name] = value
    out = hook(rec.id, env)
    if rec.draws is not None:
        (_draws.restore if out is None else _draws.keep)()
    if out is None and getattr(rec, "fresh", None) is not None:
        _fresh.discard(rec.id)
    if rec.appends is not None:
        _appends.commit(rec.id, out) if out is not None else _appends.discard(rec.id)
    if out is not None:
        facts = getattr(rec, "iteration", None)
        views = facts.views if facts is not None else {}
        if views or rec.returns not in (None, "value"):
            out = dict(out)
            for name, array in views.items():
                if name in out:
                    out[name] = lookup(array)[out[name]]
            if _inline.NEST_RETURN in out:  # the replacement returns out["return"]
                out[_inline.NEST_RETURN] = _inline.returned_value(rec.returns, out)
        if rec.rotation is not None:  # the swapped names as Python leaves them (_rotations_after)
            out = dict(out)
            out.update(_rotated(rec.rotation, out, lookup))
        if getattr(rec, "fresh", None) is not None:  # the arrays made before the nest (_fresh)
            out = dict(out)
            out.update(_fresh.written(rec.fresh, rec.id, out))
    elif rec.declined and rec.decline is not None:
        # The run's record says why (the inliner's sentence, not the front end's).
        from . import _records

        last = _records.last_runs().get(rec.id)
        if last is not None and last["status"] == "declined":
            _records.record(rec.id, last["device"], {"status": "declined", "decline": rec.decline})
    return out


def _lazy_replacement(node: ast.For, rec: NestRecord, hook_name: Optional[str]) -> List[ast.stmt]:
    """``_replacement`` for a nest compiled when it runs (``rec.lazy``): the
    hook is asked through ``__loopscope_state__.lazy``, which reads the names
    from the frame; every name the loop may assign is written back when the
    answer holds it."""
    shape = copy.copy(rec)
    shape.loads, shape.assumed, shape.draws, shape.iteration, shape.appends = [], [], None, None, None
    shape.fresh = None
    shape.outputs = list(_inline.LAZY[rec.lazy].stored)
    out = _replacement(node, shape, hook_name)
    hook = ast.Constant(HOOK_CONSTANT) if hook_name is None else _load(hook_name)
    func = ast.Attribute(value=_load(STATE_NAME), attr="lazy", ctx=ast.Load())
    ask = ast.Assign(
        targets=[_hook_answer(ast.Store())], value=ast.Call(func=func, args=[hook, ast.Constant(rec.lazy)], keywords=[])
    )
    unset = ast.Assign(targets=[_hook_answer(ast.Store())], value=ast.Constant(None))
    handler = ast.ExceptHandler(type=_load("NameError"), name=None, body=[unset])
    out[0] = ast.Try(body=[ask], handlers=[handler], orelse=[], finalbody=[])
    ran = out[1].body[-1]
    ran.targets[0].attr, ran.value = "ran_lazy", ast.Constant(rec.lazy)
    _locate(out[0], node)
    return out


def analysis_as_shown(nest_id: int, env: dict) -> dict:
    """The engine's analysis of this execution of the nest as the user reads
    it: hidden names shown as the user's (_records.shown), and the copies
    that an unrolled time loop made of one loop listed once."""
    rep = shown_all(_loopscope.analysis_run(nest_id, env))
    if "loops" in rep:
        rep["loops"] = _rotations.merge_copies(rep["loops"])
    return rep


def _rotations_after(rot: "_rotations.Rotation") -> List[ast.stmt]:
    """After a native run, the names of rot hold the arrays Python's swaps
    leave after len(range(args)) steps: ``if STATE.steps(range(args)) %
    P == k: a, b = b, a`` for k = 1 .. P-1; or, lowered with states, in the
    state the run returned: ``if STATE.out[rot.state] == k: ...``."""
    if rot.state is not None:
        # (absent when no swap ran: the state is returned when it was assigned)
        steps = ast.Call(
            func=ast.Attribute(value=_hook_answer(ast.Load()), attr="get", ctx=ast.Load()),
            args=[ast.Constant(rot.state), ast.Constant(0)],
            keywords=[],
        )
    else:
        steps = ast.Call(
            func=ast.Attribute(value=_load(STATE_NAME), attr="steps", ctx=ast.Load()),
            args=[ast.Call(func=_load("range"), args=[copy.deepcopy(a) for a in rot.range_args], keywords=[])],
            keywords=[],
        )
        steps = ast.BinOp(steps, ast.Mod(), ast.Constant(rot.period))
    out = []
    for k, holds in enumerate(rot.after, start=1):
        test = ast.Compare(
            left=copy.deepcopy(steps),
            ops=[ast.Eq()],
            comparators=[ast.Constant(k)],
        )
        targets = ast.Tuple([ast.Name(n, ast.Store()) for n in holds], ast.Store())
        values = ast.Tuple([_load(holds[n]) for n in holds], ast.Load())
        out.append(ast.If(test=test, body=[ast.Assign(targets=[targets], value=values)], orelse=[]))
    return out


def _rotated(rot: "_rotations.Rotation", out: dict, lookup) -> dict:
    """``_rotations_after`` for a nest compiled when it runs: ``{name: the
    array it holds after the run}`` for the names of rot, read with
    ``lookup`` (the frame's names before the run)."""
    if rot.state is not None:
        k = out.get(rot.state, 0)
    else:
        args = ast.Expression(ast.Call(_load("range"), [copy.deepcopy(a) for a in rot.range_args], []))
        ast.fix_missing_locations(args)
        names = {n.id for n in ast.walk(args) if isinstance(n, ast.Name)}
        k = len(eval(compile(args, "<loopscope>", "eval"), {"__builtins__": {}}, {n: lookup(n) for n in names}))
        k %= rot.period
    if k == 0:
        return {}
    return {n: lookup(h) for n, h in rot.after[k - 1].items()}


def _state_call(method: str, *args) -> ast.stmt:
    func = ast.Attribute(value=_load(STATE_NAME), attr=method, ctx=ast.Load())
    return ast.Expr(ast.Call(func=func, args=[ast.Constant(a) for a in args], keywords=[]))


def _locate(new, old):
    """Give `new` and its children without a position the first line of `old`
    (its first keyword). Only that line: CPython gives some instructions (an
    attribute's load or store) the end of their node's span, and a span
    reaching into the loop's body would make a tracer, and so a debugger's
    breakpoint on the body's first line, see that line when the generated
    code runs."""
    for n in walk(new):
        if n is old or _inside(n, old):
            continue
        if "lineno" in n._attributes:
            n.lineno = n.end_lineno = old.lineno
            n.col_offset = old.col_offset
            n.end_col_offset = old.col_offset + 3  # "for"


def _inside(n, old):
    return getattr(n, "_ls_orig", False)


def _mark_original(node):
    for n in walk(node):
        # Only nodes with a position (what _locate moves): the parser shares
        # one Load, Store, Add, And, Not, ... between all trees, which another
        # thread may be copying.
        if "lineno" in n._attributes:
            n._ls_orig = True


class _Rewriter:
    def __init__(self, filename, hook_name, source, hook_declined, resolver):
        self.filename = filename
        self.hook_name = hook_name
        self.source = source
        self.hook_declined = hook_declined
        self.resolver = resolver
        self.shadowed: Set[str] = set()  # local names of the enclosing functions
        self.returns: Optional[str] = None  # register's `returns` where the statements are
        self.nests: List[NestRecord] = []
        self.replaced = 0  # nests replaced: none, and the tree is the one parsed

    def replace(self, node, rec):
        _mark_original(node)
        self.replaced += 1
        return _replacement(node, rec, self.hook_name)

    def block(self, stmts: List[ast.stmt]) -> List[ast.stmt]:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s: ast.stmt) -> List[ast.stmt]:
        if _iteration.is_index_loop(s):
            rec = register(s, self.source, self.filename, self.resolver, self.shadowed, self.returns)
            self.nests.append(rec)
            if rec.lazy is not None:
                _mark_original(s)
                self.replaced += 1
                return _lazy_replacement(s, rec, self.hook_name)
            if not rec.declined:
                if rec.over_iterable:
                    # A loop over an iterable runs as Python when it is not an
                    # array (`for r in rows` over a list), and so does a while
                    # loop whose values decline: the nests in its body still
                    # get their chance then.
                    s.body = self.block(s.body)
                    if isinstance(s, ast.While):
                        s.orelse = self.block(s.orelse)
                return self.replace(s, rec)
            # Declined: look for nests inside its body.
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            if self.hook_declined:
                rec_skip = copy.copy(rec)
                rec_skip.loads, rec_skip.assumed, rec_skip.outputs = [], [], []
                return self.replace(s, rec_skip)
            return [s]
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        elif isinstance(s, ast.If):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            outer_returns = self.returns
            if self.returns == "":
                self.returns = "'return' inside a loop within a with statement is not supported"
            s.body = self.block(s.body)
            self.returns = outer_returns
        elif isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            outer_returns = self.returns
            if self.returns == "":
                self.returns = "'return' inside a loop within a try statement is not supported"
            s.body = self.block(s.body)
            for h in s.handlers:
                h.body = self.block(h.body)
            s.orelse = self.block(s.orelse)
            s.finalbody = self.block(s.finalbody)
            self.returns = outer_returns
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            outer, outer_returns = self.shadowed, self.returns
            self.shadowed = outer | _inline.caller_locals(s)
            self.returns = _inline.returns_refused(s)
            s.body = self.block(s.body)
            self.shadowed, self.returns = outer, outer_returns
        elif isinstance(s, ast.ClassDef):
            outer_returns, self.returns = self.returns, None
            s.body = self.block(s.body)
            self.returns = outer_returns
        elif type(s).__name__ == "Match":
            for case in s.cases:
                case.body = self.block(case.body)
        return [s]


def rewrite_module(
    tree: ast.Module,
    filename: str,
    hook_name: str,
    source: Optional[str] = None,
    hook_declined: bool = False,
    namespace=None,
    module: Optional[dict] = None,
    local_defs: bool = False,
    outside=None,
):
    """Rewrites `tree` in place (and returns it) with every supported nest
    going through ``hook_name``. Returns ``(tree, nests)``. With
    ``hook_declined``, declined ``range`` loops also call the hook (with an
    empty env and no outputs), which lets a caller skip them. ``namespace``
    (``name -> value``, ``_aliases.MISSING`` when unbound) is where the code
    will run, ``module`` its globals dict: with the tree's imports, they tell
    which user functions a nest calls and what other spellings of math and
    NumPy stand for. With ``local_defs`` (a cell), the functions the tree
    defines at its top level count as defined in ``module``. ``outside``,
    when given, is called with the rewritten tree while the original loops
    of the replaced nests can still be told apart (``_callees.trampoline``)."""
    tree, nests, _changed = _rewrite_tree(
        tree, filename, hook_name, source, hook_declined, namespace, module, local_defs, outside
    )
    return tree, nests


def _rewrite_tree(tree, filename, hook_name, source, hook_declined, namespace, module, local_defs, outside):
    """``rewrite_module``, and whether the tree changed (a nest replaced, or
    ``outside`` returned a count of changes above 0)."""
    with REWRITE_LOCK:
        resolver = _aliases.Resolver(tree, namespace, module)
        if local_defs:
            resolver.defs = _inline.module_defs(tree)
        rw = _Rewriter(filename, hook_name, source, hook_declined, resolver)
        tree.body = rw.block(tree.body)
        changed = rw.replaced > 0
        if outside is not None:
            changed = bool(outside(tree)) or changed
        if changed:
            ast.fix_missing_locations(tree)
        if rw.replaced:
            for n in walk(tree):
                if hasattr(n, "_ls_orig"):
                    del n._ls_orig
        return tree, rw.nests, changed


# --- functions -------------------------------------------------------------------------


def _plain_function(fn):
    """The Python function behind ``fn`` and a way to rebuild the callable
    from a rewritten one; raises NotRewritable."""
    if isinstance(fn, types.MethodType):
        inner, rebind = _plain_function(fn.__func__)
        return inner, lambda new: types.MethodType(rebind(new), fn.__self__)
    if isinstance(fn, functools.partial):
        inner, rebind = _plain_function(fn.func)
        return inner, lambda new: functools.partial(rebind(new), *fn.args, **fn.keywords)
    if not isinstance(fn, types.FunctionType):
        raise NotRewritable(f"{fn!r} is not a Python function, so it runs as it is")
    if fn.__code__.co_name == "<lambda>":
        raise NotRewritable(f"{fn.__qualname__} is a lambda, which holds no loop statement")
    return fn, lambda new: new


def _function_source(fn):
    """``(source, first line, tree)`` of ``fn``'s own code (not of what it
    wraps); raises NotRewritable."""
    try:
        return _source.function_source(fn)
    except (OSError, TypeError) as exc:
        raise NotRewritable(
            f"the source of {fn.__qualname__} is not available ({exc}), " f"so it runs as it is"
        ) from None
    except SyntaxError as exc:
        raise NotRewritable(f"the source of {fn.__qualname__} could not be parsed ({exc.msg})") from None


def _enclosing_class(fn) -> Optional[str]:
    """The name of the class whose body defines ``fn``, if any: the rewritten
    function is compiled inside a class of that name, so that private names
    are mangled and ``super()`` finds ``__class__`` as in the original."""
    parts = fn.__qualname__.split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return parts[-2]
    if "__class__" in fn.__code__.co_freevars:
        return "_"
    return None


def rewrite_function(fn, hook_declined: bool = False, callees=None):
    """Returns ``(module_tree, nests)``. In the tree, ``def
    __loopscope_make__(*freevars)`` builds the rewritten function (inside
    ``class C:`` when ``fn`` is a method of C), whose nests call the hook
    through HOOK_CONSTANT; lines are those of the file that defines ``fn``.
    Nest lines in ``nests`` count the ``def`` line as 1. With ``callees``
    (a ``_callees.Table``, or True), the calls of names outside the nests go
    through ``_callees.PLACEHOLDER`` (``_callees.trampoline``). Raises
    NotRewritable."""
    fn, _ = _plain_function(fn)
    fdef, nests, _changed, line = _rewritten_def(fn, hook_declined, callees)
    return _maker_module(fn, fdef, line), nests


def _rewritten_def(fn, hook_declined, callees):
    """``(fdef, nests, changed, line)``: the rewritten ``def`` of the plain
    function ``fn`` (its def line is line 1), whether anything in it changed
    (nothing: ``fn``'s own code does what it would do) and the line of the
    def in ``fn``'s file."""
    source, first, tree = _function_source(fn)
    fdef = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fdef is None or fdef.name != fn.__code__.co_name:
        raise NotRewritable(f"{fn.__qualname__} is not defined by a def statement in its source")
    def_line = fdef.lineno
    fdef.decorator_list = []
    module = ast.Module(body=[fdef], type_ignores=[])
    if def_line != 1:
        _shift_lines(module, 1 - def_line)  # the def line is line 1
    _, nests, changed = _rewrite_tree(
        module,
        fn.__code__.co_filename or "<function>",
        None,
        _shift_source(source, def_line),
        hook_declined,
        _function_namespace(fn),
        fn.__globals__,
        False,
        (lambda tree: _callees.trampoline(fdef, fn, _callees.table_or_none(callees))) if callees else None,
    )
    for rec in nests:
        rec.function, rec.def_line = fn.__qualname__, first + def_line - 1
    return fdef, nests, changed, first + def_line - 1


def _maker_module(fn, fdef, line):
    """The module whose ``__loopscope_make__(*freevars)`` returns the
    function ``fdef`` defines (see ``rewrite_function``), at ``line``."""
    klass = _enclosing_class(fn)
    freevars = [v for v in fn.__code__.co_freevars if not (klass and v == "__class__")]
    maker_body: List[ast.stmt] = []
    if fdef.name not in freevars:
        # The function's own name stays a global, as in the original (recursion).
        maker_body.append(ast.Global(names=[fdef.name]))
    maker_body += [fdef, ast.Return(_load(fdef.name))]
    maker = ast.FunctionDef(
        name=MAKER_NAME,
        args=ast.arguments(
            posonlyargs=[], args=[ast.arg(v) for v in freevars], kwonlyargs=[], kw_defaults=[], defaults=[]
        ),
        body=maker_body,
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    top: ast.stmt = maker
    if klass:
        top = ast.ClassDef(name=klass, bases=[], keywords=[], body=[maker], decorator_list=[])
    outer = ast.Module(body=[top], type_ignores=[])
    # The nodes made here are on line 1 (fdef has its positions: parsed, and
    # fixed by _rewrite_tree where it changed).
    made = [maker, *maker.args.args, *(n for n in maker_body if n is not fdef), maker_body[-1].value]
    for n in made + ([top] if klass else []):
        n.lineno = n.end_lineno = 1
        n.col_offset = n.end_col_offset = 0
    # Lines of the file: the def line of fn is at ``line``.
    _shift_lines(outer, line - 1)
    return outer


def _shift_lines(tree, k: int):
    """``ast.increment_lineno(tree, k)`` for a tree without type comments."""
    for n in walk(tree):
        attrs = n._attributes
        if "lineno" in attrs:
            n.lineno = getattr(n, "lineno", 0) + k
        if "end_lineno" in attrs and (end := getattr(n, "end_lineno", 0)) is not None:
            n.end_lineno = end + k


def _function_namespace(fn):
    """``name -> value`` as ``fn``'s body sees names it does not assign: its
    closure, its globals, the builtins (``_aliases.MISSING`` when unbound)."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    fn_globals = fn.__globals__
    fn_builtins = fn_globals.get("__builtins__", builtins)
    if isinstance(fn_builtins, types.ModuleType):
        fn_builtins = vars(fn_builtins)

    def lookup(name):
        if name in cells:
            try:
                return cells[name].cell_contents
            except ValueError:
                return _aliases.MISSING
        if name in fn_globals:
            return fn_globals[name]
        return fn_builtins.get(name, _aliases.MISSING)

    return lookup


def _shift_source(source: str, def_line: int) -> str:
    """Source whose line 1 is the def line (decorators dropped)."""
    return "\n".join(source.splitlines()[def_line - 1 :]) + "\n"


def _find_code(code: types.CodeType, name: str) -> Optional[types.CodeType]:
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name:
                return c
            found = _find_code(c, name)
            if found is not None:
                return found
    return None


_KIND_FLAGS = (
    inspect.CO_VARARGS
    | inspect.CO_VARKEYWORDS
    | inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
    | inspect.CO_ITERABLE_COROUTINE
)


# The compiler flags of the ``from __future__`` imports: a function's code
# carries those of its module, and its rewritten version must be compiled
# under the same ones (``annotations`` changes how nested defs keep theirs).
_FUTURE_FLAGS = functools.reduce(
    lambda acc, name: acc | getattr(__future__, name).compiler_flag, __future__.all_feature_names, 0
)


def _compile_like(tree, old: types.CodeType) -> types.CodeType:
    """``tree`` compiled in ``old``'s file under ``old``'s future imports."""
    return compile(tree, old.co_filename, "exec", flags=old.co_flags & _FUTURE_FLAGS, dont_inherit=True)


def _source_is_its_code(plain) -> bool:
    """Whether the source the rewriter read is the one ``plain``'s code was
    compiled from. ``linecache`` (what ``inspect`` reads too) rereads a file
    that changed on disk, so a module edited since its import would give the
    new text: the rewritten function would run code that Python does not run.
    The source, compiled as the rewritten one is (same class, same closure,
    same future imports), must give ``plain``'s instructions, names and
    constants (``_same_code``). Not compared: sources that are not files
    (IPython's cells, ``<string>``: their text cannot change) and functions
    whose code a cell's rewriting made (they call the hook by name: their
    source is the cell as written). Nor are the functions of a module that
    pytest imported: its import hook rewrites their ``assert`` statements,
    so their code is never what their source compiles to."""
    old = plain.__code__
    if old.co_filename.startswith("<") or _names_the_hook(old) or _rewritten_by_pytest(plain):
        return True
    try:
        source, first, tree = _function_source(plain)
        fdef = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
        fdef.decorator_list = []
        code = _compile_like(_maker_module(plain, fdef, first + fdef.lineno - 1), old)
        maker_code = _find_code(code, MAKER_NAME)
        fresh = _find_code(maker_code, old.co_name) if maker_code is not None else None
    except (NotRewritable, StopIteration, SyntaxError, ValueError):
        return False
    return fresh is not None and _same_code(fresh, old)


def _rewritten_by_pytest(fn) -> bool:
    loader = fn.__globals__.get("__loader__")
    return type(loader).__module__ == "_pytest.assertion.rewrite"


def _names_the_hook(code: types.CodeType) -> bool:
    return HOOK_NAME in code.co_names or any(
        isinstance(c, types.CodeType) and _names_the_hook(c) for c in code.co_consts
    )


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Same instructions, names and constants (nested code compared the same
    way); positions, file and qualified name aside. A function compiled
    alone differs from the same function compiled in its module in two ways
    only, both without effect: it is nested (in its maker), and a method
    call on a name its module imports (``utils.f(x)``) is a LOAD_METHOD
    where the module's compile, knowing the import, made a LOAD_ATTR
    (``_instructions`` reads both as one)."""
    if (
        a.co_names != b.co_names
        or a.co_varnames != b.co_varnames
        or a.co_freevars != b.co_freevars
        or a.co_cellvars != b.co_cellvars
        or (a.co_flags ^ b.co_flags) & ~inspect.CO_NESTED
        or (a.co_argcount, a.co_posonlyargcount, a.co_kwonlyargcount)
        != (b.co_argcount, b.co_posonlyargcount, b.co_kwonlyargcount)
        or len(a.co_consts) != len(b.co_consts)
        or (a.co_code != b.co_code and _instructions(a) != _instructions(b))
    ):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or repr(x) != repr(y):  # repr tells -0.0 and nan apart
            return False
    return True


_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _instructions(code: types.CodeType) -> list:
    """``code``'s instructions as (operation, argument): LOAD_METHOD read as
    LOAD_ATTR, a global's name without the NULL it may push, jumps by the
    index of their target, EXTENDED_ARG left out (the two loads differ in
    size, which moves the jumps' targets, and a target past 255 takes an
    EXTENDED_ARG: ``dis`` gives the whole argument on the next instruction)."""
    ins = [i for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]
    offsets = [i.offset for i in ins]
    out = []
    for i in ins:
        if i.opcode in _JUMPS:
            arg = bisect.bisect_left(offsets, i.argval)  # a target on an EXTENDED_ARG: its instruction
        elif isinstance(i.argval, types.CodeType):
            arg = None  # compared with the constants
        else:
            arg = i.argval
        out.append(("LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname, arg))
    return out


def _with_constant(code: types.CodeType, placeholder: str, value) -> types.CodeType:
    """``code`` with the constant ``placeholder`` replaced by ``value``, in it
    and in the code objects nested in it (inner functions, comprehensions)."""
    consts = []
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            c = _with_constant(c, placeholder, value)
        elif type(c) is str and c == placeholder:
            c = value
        consts.append(c)
    return code.replace(co_consts=tuple(consts))


def compile_function(fn, hook, hook_declined: bool = False, callees: Optional["_callees.Table"] = None):
    """Returns ``(new_fn, nests)``: ``fn`` rewritten so that its nests call
    ``hook(nest_id, env)``. Globals, defaults, keyword defaults, the closure,
    annotations, the function's attributes (``__wrapped__`` among them), its
    name and qualified name are those of ``fn``; a bound method stays bound
    and a ``functools.partial`` keeps its arguments. With ``callees`` (a
    ``_callees.Table`` of the same hook), the functions of ``fn``'s module
    that it calls outside its nests run rewritten too (their nests call
    ``hook``). Raises NotRewritable when ``fn`` cannot be rewritten (the
    caller runs it as it is)."""
    with REWRITE_LOCK:
        return _compile_function(fn, hook, hook_declined, callees)


def _compile_function(fn, hook, hook_declined, callees):
    plain, rebind = _plain_function(fn)
    fdef, nests, changed, line = _rewritten_def(plain, hook_declined, callees)
    old = plain.__code__
    if not changed:
        # Every nest declined and no call to intercept: fn's own code is
        # what the rewritten one would be (no compile; a copy, so that the
        # caches keyed on fn hold no reference to it).
        return rebind(_function_like(plain, old, plain.__closure__)), nests
    tree = _maker_module(plain, fdef, line)
    try:
        code = _compile_like(tree, old)
    except SyntaxError as exc:
        raise NotRewritable(f"{plain.__qualname__} could not be recompiled ({exc.msg})") from None
    maker_code = _find_code(code, MAKER_NAME)
    inner = _find_code(maker_code, old.co_name) if maker_code is not None else None
    if (
        inner is None
        or inner.co_varnames[: old.co_argcount + old.co_kwonlyargcount]
        != old.co_varnames[: old.co_argcount + old.co_kwonlyargcount]
        or (inner.co_flags ^ old.co_flags) & _KIND_FLAGS
        or not _source_is_its_code(plain)
    ):
        raise NotRewritable(
            f"the source of {plain.__qualname__} does not match its code (its file changed since it was "
            f"defined, or it was redefined), so it runs as it is; reload its module to compile the new code"
        )
    cells = dict(zip(old.co_freevars, plain.__closure__ or ()))
    closure = []
    for name in inner.co_freevars:
        if name in cells:
            closure.append(cells[name])
        else:
            raise NotRewritable(
                f"{plain.__qualname__} reads {name} from a scope the rewriter cannot see, " f"so it runs as it is"
            )
    inner = _with_constant(inner, HOOK_CONSTANT, hook).replace(co_qualname=old.co_qualname)
    if callees is not None:
        inner = _with_constant(inner, _callees.PLACEHOLDER, callees)
    new_fn = _function_like(plain, inner, tuple(closure) if closure else None)
    if callees is not None:
        callees.seed(plain, new_fn)  # its recursive calls reach the rewritten version
    return rebind(new_fn), nests


def _function_like(plain, code, closure):
    """A function of ``code`` with the globals, defaults, keyword defaults,
    names, docstring, module, annotations and attributes of ``plain``."""
    new_fn = types.FunctionType(code, plain.__globals__, plain.__name__, plain.__defaults__, closure)
    new_fn.__kwdefaults__ = plain.__kwdefaults__
    new_fn.__qualname__ = plain.__qualname__
    new_fn.__doc__ = plain.__doc__
    new_fn.__module__ = plain.__module__
    new_fn.__annotations__ = dict(plain.__annotations__)
    new_fn.__dict__.update(plain.__dict__)
    return new_fn


# _callees (below this module) rewrites the functions a function calls through these.
_callees.REWRITER.plain_function = _plain_function
_callees.REWRITER.compile_function = compile_function
_callees.REWRITER.NotRewritable = NotRewritable
