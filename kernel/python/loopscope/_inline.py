"""The user's own functions called from a loop nest, inlined.

People structure loops with small functions: ``cnd(d1)`` in Black-Scholes,
``distance(a, b)`` in a distance matrix, ``f(x)`` in an integration. The
engine compiles a nest only when it can see everything the nest does, so each
call of a plain Python function is replaced by the function's body, in a copy
of the nest that only the front end reads (``inline``); the user's code runs
unchanged whenever the nest runs as Python.

Staged like the rest of the engine. When the nest is registered, a called name
is resolved in the namespace the code will run in (``_aliases.Resolver``). It
is inlined when it is a plain function of the same module (the same globals,
so the names its body reads mean what they mean at the call) whose body the
engine can follow: assignments, ``if``, loops, and ``return`` anywhere (a
return inside a loop sets the value and a flag and breaks out of the
function's loops: ``_lower_returns``). Its parameters and locals become
hidden names of the nest (``$``, never written back, private to every loop);
an argument that is a plain name the body never assigns is used as it is (an
array passed to a helper stays that array), and a row ``points[i]`` passed
for a parameter the body indexes is read as ``points[i, k]`` (``_Rows``;
``Callee.check_rows`` checks the dimensions when the nest runs). Every time
the nest is about to run, ``_rewrite.bind_env`` checks that the name still
is that function, with the same code and defaults (``Callee.check``);
anything else runs the loop as Python.

A name whose value is known only when the loop runs (a parameter ``f``, a
nested ``def``, ``g = lambda x: ...``: ``lazy_names``) is inlined then: the
replacement asks ``LazyNest``, which looks the names up in the running
frame and registers the nest once per function (by code, defaults and
globals: ``value_key``). A ``return`` inside a nest of the function being
run is lowered likewise (``lower_nest_returns``): the replacement returns
the value the native run met.

Why hoisting calls out of expressions keeps Python's results: the body has no
effect but its assignments, and an error in native code (a trap) stops the
run, restores what it wrote and runs the original loop in Python, which then
raises what Python raises, in its order. A call under a condition
(``a if c else f(x)``) is computed in any case; when that traps, Python runs.
"""

import ast
import builtins
import copy
import inspect
import itertools
import types
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Set, Tuple

import numpy

from ._records import show_hidden_as
from ._walk import children, copy_tree, walk

MAX_DEPTH = 4  # calls inside inlined functions, inlined in turn
MAX_STATEMENTS = 400  # statements added to one nest by inlining
HIDDEN_PREFIX = "$"  # analysis::is_hidden_name: never a Python identifier


class NotInlinable(Exception):
    """A call that cannot be inlined; the message is a sentence for the user."""


def _code_shape(code: types.CodeType) -> tuple:
    """What decides what a function's code does, given its globals: the
    bytecode, the constants (by type and repr: 0.0 == -0.0), the names."""
    return (
        code.co_code,
        tuple((type(c), repr(c)) for c in code.co_consts),
        code.co_names,
        code.co_varnames,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags,
        code.co_freevars,
    )


def _defaults_shape(defaults: Optional[tuple]) -> tuple:
    return tuple((type(v), repr(v)) for v in defaults or ())


@dataclass
class Callee:
    """A function inlined into a nest, as it was when the nest was
    registered. ``fn`` is the function object when it existed then (a
    function of an earlier cell, or of the module of a function given to
    ``loopscope.run``): the name must still be that object, with the same
    code and defaults. A function defined by the cell being rewritten does
    not exist yet (``fn`` None): the name must then be a function of the same
    globals whose code was compiled from the same definition (the same
    bytecode, constants and names as ``code``) with the same defaults."""

    name: str
    fdef: ast.FunctionDef
    fn: Optional[types.FunctionType]
    code: types.CodeType
    defaults: Optional[tuple]
    module: Optional[dict]
    # Rows passed for array parameters (`distance(points[i], ...)`): (the
    # array's name, the number of dimensions the inlined code gives it).
    rows: List[Tuple[str, int]] = field(default_factory=list)

    def check_rows(self, env: dict) -> Optional[str]:
        """None when every array whose rows were passed has the dimensions
        the inlined code reads it with, and rows that are not empty."""
        for base, ndim in self.rows:
            a = env.get(base)
            if type(a) is not numpy.ndarray:
                return f"{self.name} is given a row of {base}, which is not a NumPy array"
            if a.ndim != ndim:
                return (
                    f"{self.name} is given rows of {base}, which has {a.ndim} dimension(s); "
                    f"the loop compiles for {ndim}"
                )
            if 0 in a.shape[1:]:
                return f"{self.name} is given rows of {base}, which are empty"
        return None

    def check(self, have) -> Optional[str]:
        """None when ``have`` (the value of the name when the nest runs) is
        still this function; otherwise why the loop runs as Python."""
        if self.fn is not None:
            if have is not self.fn:
                return f"{self.name} is no longer the function {self.fn.__qualname__} that was inlined"
            if have.__code__ is not self.code or have.__defaults__ is not self.defaults:
                return f"the code or the defaults of {self.name} changed since the loop was compiled"
            return None
        if type(have) is not types.FunctionType or have.__globals__ is not self.module:
            return f"{self.name} is not the function defined with the loop"
        if have.__code__ is not self.code:
            if _code_shape(have.__code__) != _code_shape(self.code):
                return f"{self.name} is not the function defined with the loop (its code differs)"
            self.code = have.__code__  # checked once per code object
        if _defaults_shape(have.__defaults__) != _defaults_shape(self.defaults):
            return f"the defaults of {self.name} changed since the loop was compiled"
        return None


def _stored_names(stmts, global_names: Optional[Set[str]] = None) -> Set[str]:
    """The names ``stmts`` bind (anywhere in them); ``global_names``, when
    given, also gets the names of their ``global`` statements."""
    names = set()
    for s in stmts:
        for n in walk(s):
            if global_names is not None and isinstance(n, ast.Global):
                global_names.update(n.names)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                names.add(n.id)
            elif isinstance(n, ast.arg):
                names.add(n.arg)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                for a in n.names:
                    names.add((a.asname or a.name).split(".")[0])
    return names


def caller_locals(fdef) -> Set[str]:
    """The local names of a function definition's body (parameters,
    assignments, imports, nested definitions), less its ``global`` names."""
    args = fdef.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    global_names: Set[str] = set()
    names |= _stored_names(fdef.body, global_names)
    return names - global_names


def _lambda_tree(fn, tree) -> ast.FunctionDef:
    """``lambda x: e`` (found in ``tree`` by its code) as ``def <lambda>(x):
    return e``."""

    def shape(code):  # a lambda inside a function is compiled with CO_NESTED
        return _code_shape(code.replace(co_flags=code.co_flags & ~inspect.CO_NESTED))

    want = shape(fn.__code__)
    for n in walk(tree):
        if not isinstance(n, ast.Lambda):
            continue
        try:
            code = compile(ast.Expression(body=copy.deepcopy(n)), "<inlined>", "eval", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        inner = next((c for c in code.co_consts if isinstance(c, types.CodeType)), None)
        if inner is not None and shape(inner) == want:
            body = [ast.copy_location(ast.Return(value=n.body), n.body)]
            fdef = ast.FunctionDef(name="<lambda>", args=n.args, body=body, decorator_list=[], returns=None)
            return ast.copy_location(fdef, n)
    raise NotInlinable(f"the source of the lambda {fn.__qualname__} cannot be told apart on its line")


def _function_tree(fn) -> ast.FunctionDef:
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(fn.__code__))
        if fn.__code__.co_name == "<lambda>":
            # The lines of the statement holding the lambda (maybe a part of one).
            try:
                tree = ast.parse(source)
            except SyntaxError:
                tree = ast.parse("(\n" + source + "\n)")
            return _lambda_tree(fn, tree)
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        raise NotInlinable(f"the source of {fn.__qualname__} is not available") from None
    fdef = tree.body[0] if tree.body else None
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != fn.__code__.co_name:
        raise NotInlinable(f"{fn.__qualname__} is not defined by a def statement the engine can read")
    return fdef


def _compiled(name: str, fdef: ast.FunctionDef) -> types.CodeType:
    """The code object Python makes of ``fdef`` (defined by the code being
    rewritten, so not made yet)."""
    if fdef.decorator_list:
        raise NotInlinable(f"{name} has decorators")
    module = ast.Module(body=[copy.deepcopy(fdef)], type_ignores=[])
    try:
        code = compile(module, "<inlined>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        raise NotInlinable(f"{name} could not be compiled") from None
    for c in code.co_consts:
        if isinstance(c, types.CodeType) and c.co_name == name:
            return c
    raise NotInlinable(f"{name} could not be compiled")


def _literal_defaults(name: str, fdef: ast.FunctionDef) -> Optional[tuple]:
    """The defaults a definition gives, when they are literal numbers."""
    values = []
    for d in fdef.args.defaults:
        try:
            values.append(ast.literal_eval(d))
        except ValueError:
            raise NotInlinable(f"a default value of {name} is not a literal number") from None
    return tuple(values) if values else None


def _check_shape(name: str, code: types.CodeType, fdef: ast.FunctionDef):
    if fdef.decorator_list:
        raise NotInlinable(f"{name} has decorators")
    if code.co_flags & (
        inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR
    ):
        raise NotInlinable(f"{name} is a generator or a coroutine")
    if code.co_freevars:
        raise NotInlinable(f"{name} reads variables of an enclosing function ({', '.join(code.co_freevars)})")
    args = fdef.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise NotInlinable(f"{name} takes *args, **kwargs or keyword-only parameters")
    for n in walk(fdef):
        if n is fdef:
            continue
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            raise NotInlinable(f"{name} assigns a global or nonlocal name")
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            raise NotInlinable(f"{name} defines a function or class inside")
        if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Await)):
            raise NotInlinable(f"{name} is a generator")


def _defaults(name: str, values: Optional[tuple], fdef) -> List[Optional[ast.expr]]:
    """The default of each parameter, as a constant node (None: no default)."""
    params = fdef.args.args
    values = values or ()
    out: List[Optional[ast.expr]] = [None] * (len(params) - len(values))
    for v in values:
        if type(v) not in (int, float, bool):
            raise NotInlinable(f"a default value of {name} is not a number ({type(v).__name__})")
        out.append(ast.Constant(v))
    return out


def _has_return(stmts) -> bool:
    return any(isinstance(n, ast.Return) for s in stmts for n in walk(s))


def _returns_from_a_loop(stmts) -> bool:
    return any(isinstance(n, (ast.For, ast.While)) and _has_return(n.body + n.orelse) for s in stmts for n in walk(s))


def _returns_only_bools(stmts) -> bool:
    values = [n.value for s in stmts for n in walk(s) if isinstance(n, ast.Return)]
    return all(isinstance(v, ast.Constant) and type(v.value) is bool for v in values)


def _own_break(stmts) -> bool:
    """Whether ``stmts`` (a loop's body) hold a ``break`` of that loop."""
    for s in stmts:
        if isinstance(s, ast.Break):
            return True
        if isinstance(s, ast.If) and _own_break(s.body + s.orelse):
            return True
        if isinstance(s, (ast.For, ast.While)) and _own_break(s.orelse):
            return True
    return False


def _lower_returns(stmts: List[ast.stmt], ret: str, name: str, flag: str = "") -> Tuple[List[ast.stmt], bool]:
    """``stmts`` with every ``return e`` turned into ``ret = e`` and the
    statements after a conditional return moved into the branches that go on;
    and whether every path ends in a return. A loop that returns from inside
    (``for n in range(m): if ...: return n``) sets ``ret``, sets ``flag`` and
    breaks out of every loop of the function; what follows the loop becomes
    its ``else`` block, which runs when no return left it."""
    out: List[ast.stmt] = []
    for k, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            if s.value is None:
                raise NotInlinable(f"{name} returns None")
            out.append(ast.copy_location(ast.Assign(targets=[ast.Name(ret, ast.Store())], value=s.value), s))
            return out, True
        if isinstance(s, ast.If) and _has_return([s]):
            rest = stmts[k + 1 :]
            body, body_returns = _lower_returns(s.body + rest, ret, name, flag)
            orelse, else_returns = _lower_returns(s.orelse + rest, ret, name, flag)
            out.append(ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s))
            return out, body_returns and else_returns
        if isinstance(s, (ast.For, ast.While)) and _has_return([s]) and flag:
            if _own_break(s.body):
                raise NotInlinable(f"{name} both breaks out of a loop and returns from inside it")
            loop = copy.copy(s)
            loop.body = _returns_in_loop(s.body, ret, name, flag)
            orelse, else_returns = _lower_returns(s.orelse + stmts[k + 1 :], ret, name, flag)
            loop.orelse = orelse
            out.append(loop)
            endless = isinstance(s, ast.While) and isinstance(s.test, ast.Constant) and s.test.value is True
            return out, else_returns or endless  # `while True:` ends only by its returns
        if _has_return([s]):
            raise NotInlinable(f"{name} returns from inside a loop")
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            continue  # a docstring
        out.append(s)
    return out, False


def _returns_in_loop(stmts: List[ast.stmt], ret: str, name: str, flag: str) -> List[ast.stmt]:
    """A loop body with each ``return e`` turned into ``ret = e; flag =
    True; break``, and each inner loop that returns followed by ``if flag:
    break`` (``flag`` cleared before it)."""
    out: List[ast.stmt] = []
    for s in stmts:
        if not _has_return([s]):
            out.append(s)
        elif isinstance(s, ast.Return):
            if s.value is None:
                raise NotInlinable(f"{name} returns None")
            if ret == NEST_RETURN and isinstance(s.value, ast.Tuple):
                # `return i, j` from a nest: its items, then the mark that it returned
                for k, item in enumerate(s.value.elts):
                    out.append(
                        ast.copy_location(ast.Assign(targets=[ast.Name(f"{ret}#{k}", ast.Store())], value=item), s)
                    )
                s = ast.copy_location(ast.Return(value=ast.Constant(True)), s)
            out += [
                ast.copy_location(ast.Assign(targets=[ast.Name(ret, ast.Store())], value=s.value), s),
                ast.copy_location(ast.Assign(targets=[ast.Name(flag, ast.Store())], value=ast.Constant(True)), s),
                ast.copy_location(ast.Break(), s),
            ]
            return out  # what follows never runs
        elif isinstance(s, ast.If):
            body = _returns_in_loop(s.body, ret, name, flag)
            orelse = _returns_in_loop(s.orelse, ret, name, flag)
            out.append(ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s))
        elif isinstance(s, (ast.For, ast.While)):
            loop = copy.copy(s)
            loop.body = _returns_in_loop(s.body, ret, name, flag)
            # The else block runs in the enclosing loop: a return there leaves that one.
            loop.orelse = _returns_in_loop(s.orelse, ret, name, flag)
            clear = ast.Assign(targets=[ast.Name(flag, ast.Store())], value=ast.Constant(False))
            leave = ast.If(test=ast.Name(flag, ast.Load()), body=[ast.Break()], orelse=[])
            out += [ast.copy_location(clear, s), loop, ast.copy_location(leave, s)]
        else:
            raise NotInlinable(f"{name} returns from inside a {type(s).__name__.lower()} statement")
    return out


def _split_chained(stmts: List[ast.stmt], tmp: str) -> List[ast.stmt]:
    """``a = b = e`` (names only) as ``tmp = e; a = tmp; b = tmp``: the
    value computed once, the names assigned left to right, as Python does."""
    out: List[ast.stmt] = []
    for s in stmts:
        if isinstance(s, ast.Assign) and len(s.targets) > 1 and all(isinstance(t, ast.Name) for t in s.targets):
            out.append(ast.copy_location(ast.Assign(targets=[ast.Name(tmp, ast.Store())], value=s.value), s))
            for t in s.targets:
                out.append(ast.copy_location(ast.Assign(targets=[t], value=ast.Name(tmp, ast.Load())), s))
            continue
        for part in ("body", "orelse"):
            if isinstance(getattr(s, part, None), list):
                setattr(s, part, _split_chained(getattr(s, part), tmp))
        out.append(s)
    return out


def _at(stmts: List[ast.stmt], where: ast.stmt) -> List[ast.stmt]:
    """``stmts`` (inlined code) placed at the line of the statement that
    calls: reports and declines point at the user's call."""
    for s in stmts:
        for n in walk(s):
            if "lineno" in n._attributes:
                n.lineno, n.col_offset = where.lineno, where.col_offset
                n.end_lineno, n.end_col_offset = where.end_lineno, where.end_col_offset
    return stmts


def _row_of(arg: ast.expr) -> Optional[Tuple[str, ast.expr]]:
    """``(X, i)`` for an argument ``X[i]`` whose index is computed from
    names and numbers only (it may be computed again at each use)."""
    if not (isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name)):
        return None
    index = arg.slice
    for n in walk(index):
        if not isinstance(n, (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load)):
            return None
        if isinstance(n, ast.Constant) and type(n.value) is not int:
            return None
    return arg.value.id, index


def _used_as_array(p: str, fdef: ast.FunctionDef) -> bool:
    """Whether the body indexes ``p``, reads its shape or takes its length."""
    for n in walk(fdef):
        if isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.value, ast.Name) and n.value.id == p:
            return True
        if (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "len"
            and len(n.args) == 1
            and isinstance(n.args[0], ast.Name)
            and n.args[0].id == p
        ):
            return True
    return False


def _array_rank(p: str, fdef: ast.FunctionDef) -> int:
    """How many indices the body gives ``p`` (1 when it only reads its
    shape or length)."""
    ranks = set()
    for n in walk(fdef):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == p:
            ranks.add(len(n.slice.elts) if isinstance(n.slice, ast.Tuple) else 1)
    if len(ranks) > 1:
        raise NotInlinable(f"{p} is indexed with different numbers of indices in {fdef.name}")
    return ranks.pop() if ranks else 1


class _Rows(ast.NodeTransformer):
    """In an inlined body where a parameter became the row ``X[i]``:
    ``X[i][k]`` -> ``X[i, k]``, ``X[i].shape[d]`` -> ``X.shape[d + 1]``,
    ``len(X[i])`` -> ``X.shape[1]``; the row itself as a value is left for
    the analysis (an array passed on to another function is inlined in turn)."""

    def __init__(self, name: str, rows: Set[int]):
        self.name, self.rows, self.len_used = name, rows, None

    def _row(self, n) -> bool:
        return isinstance(n, ast.Subscript) and getattr(n, "_ls_row_of", None) in self.rows

    def visit_Subscript(self, n):
        self.generic_visit(n)
        if self._row(n.value):
            row = n.value
            extra = list(n.slice.elts) if isinstance(n.slice, ast.Tuple) else [n.slice]
            if any(isinstance(e, ast.Slice) for e in extra):
                raise NotInlinable(f"{self.name} slices a row of {row.value.id}")
            return ast.Subscript(value=row.value, slice=ast.Tuple([row.slice] + extra, ast.Load()), ctx=n.ctx)
        v = n.value
        if isinstance(v, ast.Attribute) and v.attr == "shape" and self._row(v.value):
            d = n.slice
            if not (isinstance(d, ast.Constant) and type(d.value) is int and d.value >= 0):
                raise NotInlinable(
                    f"{self.name} reads the shape of a row of {v.value.value.id} with an index other than 0, 1, ..."
                )
            shape = ast.Attribute(value=v.value.value, attr="shape", ctx=ast.Load())
            return ast.Subscript(value=shape, slice=ast.Constant(d.value + 1), ctx=ast.Load())
        return n

    def visit_Attribute(self, n):
        self.generic_visit(n)
        if self._row(n.value) and n.attr != "shape":
            raise NotInlinable(f"{self.name} reads .{n.attr} of a row of {n.value.value.id}")
        return n

    def visit_Call(self, n):
        self.generic_visit(n)
        if isinstance(n.func, ast.Name) and n.func.id == "len" and len(n.args) == 1 and self._row(n.args[0]):
            base = n.args[0].value
            self.len_used = ast.Call(
                func=ast.Name("len", ast.Load()), args=[ast.Name(base.id, ast.Load())], keywords=[]
            )
            shape = ast.Attribute(value=ast.Name(base.id, ast.Load()), attr="shape", ctx=ast.Load())
            return ast.Subscript(value=shape, slice=ast.Constant(1), ctx=ast.Load())
        return n


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: Dict[str, ast.expr]):
        self.names = names

    def visit_Name(self, n):
        new = self.names.get(n.id)
        if new is None:
            return n
        if isinstance(new, ast.Name):
            return ast.Name(new.id, n.ctx)
        out = copy.deepcopy(new)
        out._ls_row_of = id(new)
        return out


class Inliner:
    """Inlines the calls of one nest. ``resolve(name)`` is the value the
    name has where the nest runs (``MISSING`` when unbound); ``module`` is
    the globals dict of that code; ``shadowed`` the local names of the
    enclosing function (a callee reading a global of that name would read
    the caller's local after inlining)."""

    def __init__(
        self,
        resolve: Callable[[str], object],
        module: Optional[dict],
        shadowed: Set[str],
        defs: Optional[Dict[str, ast.FunctionDef]] = None,
        known: Optional[Dict[str, object]] = None,
    ):
        self.resolve = resolve
        self.module = module
        self.defs = defs or {}
        self.known = known or {}
        self.shadowed = shadowed
        self.callees: Dict[str, Callee] = {}
        self.statements = 0
        self.counter = 0

    def _callee(self, name: str, stack: Tuple[str, ...]) -> Optional[Callee]:
        """The user function ``name`` stands for, or None (not one)."""
        if name in self.callees:
            callee = self.callees[name]
        elif name in self.known:
            # A name whose value is known only when the loop runs (a
            # parameter, a nested def, a lambda): inlined for that value;
            # another function of the same code and defaults is the same.
            fn = self.known[name]
            if not isinstance(fn, types.FunctionType):
                return None
            if self.module is None or fn.__globals__ is not self.module:
                what = "a lambda" if fn.__code__.co_name == "<lambda>" else f"the function {fn.__qualname__}"
                raise NotInlinable(f"{name} is {what} defined in another module, whose names the loop cannot read")
            callee = Callee(name, _function_tree(fn), None, fn.__code__, fn.__defaults__, self.module)
        elif name in self.shadowed:
            return None  # a local name of the function: its value is known when the loop runs
        elif name in self.defs:
            fdef = self.defs[name]
            code = _compiled(name, fdef)
            callee = Callee(name, fdef, None, code, _literal_defaults(name, fdef), self.module)
        else:
            try:
                fn = self.resolve(name)
            except Exception:
                return None
            if not isinstance(fn, types.FunctionType):
                return None
            if self.module is None or fn.__globals__ is not self.module:
                raise NotInlinable(f"{name} is defined in another module, whose names the loop cannot read")
            callee = Callee(name, _function_tree(fn), fn, fn.__code__, fn.__defaults__, self.module)
        if name in stack:
            raise NotInlinable(f"{name} calls itself, so it cannot be inlined")
        if len(stack) >= MAX_DEPTH:
            raise NotInlinable(f"the calls nest more than {MAX_DEPTH} deep at {name}")
        _check_shape(name, callee.code, callee.fdef)
        return callee

    def _touch(self, callee: Callee, base: str, index: ast.expr, rank: int, hidden: str) -> ast.stmt:
        """``hidden = X[i, 0, ...]``: Python takes the row X[i] at the call,
        which raises IndexError there even when the body reads none of it;
        ``bind_env`` checks that X has ``rank + 1`` dimensions and no empty
        row (``Callee.rows``), so this reads an element of the row."""
        callee.rows.append((base, rank + 1))
        show_hidden_as(hidden, f"a row of {base}")
        zeros = [ast.Constant(0) for _ in range(rank)]
        element = ast.Subscript(
            value=ast.Name(base, ast.Load()),
            slice=ast.Tuple([copy.deepcopy(index)] + zeros, ast.Load()),
            ctx=ast.Load(),
        )
        return ast.Assign(targets=[ast.Name(hidden, ast.Store())], value=element)

    def _expand(self, call: ast.Call, callee: Callee, stack) -> Tuple[List[ast.stmt], Optional[ast.expr]]:
        """Statements computing the call, and the expression of its value."""
        self.counter += 1
        name, fdef = callee.name, callee.fdef
        prefix = f"{HIDDEN_PREFIX}{name}{self.counter}_"
        params = [a.arg for a in fdef.args.args]
        defaults = _defaults(name, callee.defaults, fdef)
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise NotInlinable(f"the call of {name} unpacks its arguments (* or **)")
        if len(call.args) > len(params):
            raise NotInlinable(f"{name} is called with {len(call.args)} arguments and takes {len(params)}")
        given: Dict[str, ast.expr] = dict(zip(params, call.args))
        for k in call.keywords:
            if k.arg not in params or k.arg in given:
                raise NotInlinable(f"the call of {name} passes {k.arg}= which it cannot take")
            given[k.arg] = k.value
        body_stores = _stored_names(fdef.body)
        reads = {n.id for n in walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        local = set(params) | body_stores
        globals_read = reads - local
        clash = sorted(globals_read & self.shadowed)
        if clash:
            raise NotInlinable(f"{name} reads the global {clash[0]}, which is a local name where the loop is")
        rename: Dict[str, ast.expr] = {v: ast.Name(prefix + v, ast.Load()) for v in local}
        for v in local:
            show_hidden_as(prefix + v, f"{v} (in {name})")
        pre: List[ast.stmt] = []
        rows: List[Tuple[str, ast.expr, str]] = []
        for p, default in zip(params, defaults):
            arg = given.get(p, default)
            if arg is None:
                raise NotInlinable(f"{name} is called without its parameter {p}")
            if isinstance(arg, ast.Name) and p not in body_stores:
                rename[p] = arg  # the caller's own name (an array stays that array)
            elif p not in body_stores and _used_as_array(p, fdef) and _row_of(arg) is not None:
                # `distance(points[i], points[j])`: the row is that array's
                # view, which the body reads (and writes) as points[i, k].
                base, index = _row_of(arg)
                rows.append((base, index, p))
                rename[p] = arg
                pre.append(self._touch(callee, base, index, _array_rank(p, fdef), prefix + p))
            else:
                pre.append(ast.Assign(targets=[ast.Name(prefix + p, ast.Store())], value=arg))
        ret, flag = prefix + "return", prefix + "returned"
        show_hidden_as(ret, f"the value of {name}(...)")
        show_hidden_as(flag, f"whether {name} returned")
        body = _split_chained(copy.deepcopy(fdef.body), prefix + "chained")
        show_hidden_as(prefix + "chained", f"a value assigned to several names (in {name})")
        body, always_returns = _lower_returns(body, ret, name, flag)
        if _returns_from_a_loop(fdef.body):
            # The value is set inside a loop, which the analysis cannot prove
            # runs: a first value (never read, every path sets another).
            first = False if _returns_only_bools(fdef.body) else 0
            body.insert(0, ast.Assign(targets=[ast.Name(ret, ast.Store())], value=ast.Constant(first)))
        body = [_Renamer(rename).visit(s) for s in body]
        if rows:
            flat = _Rows(name, {id(rename[p]) for _, _, p in rows})
            body = [flat.visit(s) for s in body]
            if flat.len_used:  # len(row) became X.shape[1]: len must still be the built-in
                pre.append(ast.Assign(targets=[ast.Name(prefix + "len", ast.Store())], value=flat.len_used))
        body = self.block(body, stack + (name,))
        self.statements += sum(1 for s in body for n in walk(s) if isinstance(n, ast.stmt))
        if self.statements > MAX_STATEMENTS:
            raise NotInlinable(f"inlining {name} makes the loop longer than {MAX_STATEMENTS} statements")
        self.callees.setdefault(name, callee)
        value = ast.Name(ret, ast.Load()) if always_returns else None
        if _has_return(fdef.body) and not always_returns:
            raise NotInlinable(f"{name} may end without returning a value (it would return None)")
        return pre + body, value

    def statement(self, s: ast.stmt, stack: Tuple[str, ...]) -> List[ast.stmt]:
        """``s`` preceded by the inlined calls in its expressions."""
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Name):
            target = self._callee(s.value.func.id, stack)
            if target is not None:  # a call for its effects: `update(a, i)`
                pre: List[ast.stmt] = []
                call = s.value
                call.args = [self._hoist(a, pre, stack) for a in call.args]
                for k in call.keywords:
                    k.value = self._hoist(k.value, pre, stack)
                stmts, _ = self._expand(call, target, stack)
                return _at(pre + stmts, s)
        pre = []
        if isinstance(s, ast.For):
            s.iter = self._hoist(s.iter, pre, stack)
            s.body = self.block(s.body, stack)
        elif isinstance(s, ast.If):
            s.test = self._hoist(s.test, pre, stack)
            s.body = self.block(s.body, stack)
            s.orelse = self.block(s.orelse, stack)
        elif isinstance(s, ast.While):
            # The condition is computed before every pass: a call in it
            # cannot be computed once before the loop.
            test: List[ast.stmt] = []
            self._hoist(copy.deepcopy(s.test), test, stack)
            if test:
                raise NotInlinable(
                    f"a function is called in the condition of the while loop on line {s.lineno}; "
                    "call it in the loop body and test its value"
                )
            s.body = self.block(s.body, stack)
            s.orelse = self.block(s.orelse, stack)
        else:
            for field in ("value", "target", "targets"):
                v = getattr(s, field, None)
                if isinstance(v, list):
                    setattr(s, field, [self._hoist(x, pre, stack) for x in v])
                elif isinstance(v, ast.expr):
                    setattr(s, field, self._hoist(v, pre, stack))
        return _at(pre, s) + [s]

    def _hoist(self, e: ast.expr, pre: List[ast.stmt], stack) -> ast.expr:
        """``e`` with each call of a user function replaced by its value,
        computed by statements appended to ``pre`` (arguments first)."""

        inliner = self

        class Calls(ast.NodeTransformer):
            def visit_Call(self, n):
                self.generic_visit(n)  # arguments first, left to right
                if not isinstance(n.func, ast.Name):
                    return n
                target = inliner._callee(n.func.id, stack)
                if target is None:
                    return n
                stmts, value = inliner._expand(n, target, stack)
                if value is None:
                    raise NotInlinable(f"{n.func.id} returns no value, and its value is used")
                pre.extend(stmts)
                return value

        return Calls().visit(e)

    def block(self, stmts: List[ast.stmt], stack: Tuple[str, ...] = ()) -> List[ast.stmt]:
        out: List[ast.stmt] = []
        for s in stmts:
            out.extend(self.statement(s, stack))
        return out


def inline(
    node: ast.For,
    resolve: Callable[[str], object],
    module: Optional[dict],
    shadowed: Set[str],
    missing,
    skip: Set[str],
    defs: Optional[Dict[str, ast.FunctionDef]] = None,
    known: Optional[Dict[str, object]] = None,
) -> Tuple[ast.For, Dict[str, Callee]]:
    """``(node with the user's functions inlined, {name: callee})``; ``node``
    itself and no callees when it calls none. ``resolve(name)`` is a name's
    value where the nest runs (``missing`` when unbound), ``module`` the
    globals dict there, ``defs`` the functions defined by the code being
    rewritten (not made yet). Names in ``skip`` (the builtins the front end
    knows) and names the nest assigns are never user functions. Raises
    NotInlinable with a sentence when a call of a user function cannot be
    inlined. ``known``: the values of names known only when the loop runs
    (``lazy_names``); other local names of the function (``shadowed``) are
    never inlined."""
    defs = defs or {}
    known = known or {}
    not_functions = set(skip) | _stored_names([node])
    called = {
        n.func.id
        for n in walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in not_functions
    }

    def resolve_user(name):
        if name in not_functions:
            return missing
        if name in known:
            return known[name]
        if name in shadowed:
            return missing
        try:
            return resolve(name)
        except Exception:
            return missing

    if not any(name in defs or isinstance(resolve_user(name), types.FunctionType) for name in called):
        return node, {}
    inliner = Inliner(resolve_user, module, shadowed, {k: v for k, v in defs.items() if k not in skip}, known)
    new = copy_tree(node)
    pre: List[ast.stmt] = []
    new.iter = inliner._hoist(new.iter, pre, ())
    if pre:
        raise NotInlinable("a function is called in the bounds of the outermost loop; call it before the loop")
    new.body = inliner.block(new.body)
    return new, inliner.callees


def lazy_names(
    node: ast.For, shadowed: Set[str], resolve: Callable[[str], object], missing, skip: Set[str], defs
) -> List[str]:
    """The names the nest calls whose value is known only when it runs: the
    local names of the enclosing function (a parameter ``f``, a nested
    ``def h``, ``g = lambda x: ...``) and names not bound yet (not builtins)."""
    not_functions = set(skip) | _stored_names([node])
    called = sorted(
        {
            n.func.id
            for n in walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in not_functions
        }
    )
    unbound = [n for n in called if n not in (defs or {}) and not hasattr(builtins, n) and resolve(n) is missing]
    return [n for n in called if n in shadowed or n in unbound]


def value_key(value) -> tuple:
    """What tells apart two values of a name the nest calls (``lazy_names``),
    for the nest compiled for it: a plain function by its code, defaults and
    globals; anything else by identity."""
    if type(value) is types.FunctionType and not value.__code__.co_freevars:
        return (
            "function",
            hash(_code_shape(value.__code__)),
            _defaults_shape(value.__defaults__),
            id(value.__globals__),
        )
    return ("object", id(value))


NEST_RETURN = "return"  # not a name Python code can assign: the engine writes it back


def is_nest_return(name: str) -> bool:
    return name == NEST_RETURN or name.startswith(NEST_RETURN + "#")


def returned_value(kind: Optional[str], out: dict):
    """What a nest of kind ``kind`` (``lower_nest_returns``) that met a
    return returns, from the engine's answer ``out``."""
    if kind == "none":
        return None
    if kind is not None and kind.startswith("tuple:"):
        return tuple(out[f"{NEST_RETURN}#{k}"] for k in range(int(kind[6:])))
    return out[NEST_RETURN]


NEST_RETURNED = HIDDEN_PREFIX + "returned"


def lower_nest_returns(node: ast.For, refuse: str = "") -> Tuple[ast.For, Optional[str], Optional[str]]:
    """A ``return`` inside a nest of a function (``for i in ...: if a[i] >
    a[i + 1]: return False``), in the copy the front end reads: the value
    goes to ``NEST_RETURN`` (written back only when a return was met) and
    every loop of the nest is left with ``break``; the replacement then
    returns it (``_rewrite._replacement``). Returns ``(the copy, "value",
    "none" (a bare return) or "tuple:N" (``return i, j``: its items go to
    ``return#0``, ``return#1``, ...), None)``, or ``(node, None, why)`` when
    it cannot;
    ``node`` itself and ``(None, None)`` when the nest does not return.
    ``refuse``: why the function's returns cannot be lowered here."""
    if not _has_return([node]):
        return node, None, None
    if refuse:
        return node, None, refuse
    returns = [n for n in walk(node) if isinstance(n, ast.Return)]
    bare = [r.value is None for r in returns]
    if any(bare) and not all(bare):
        return node, None, "the loop returns a value in one place and nothing in another"
    sizes = {len(r.value.elts) if isinstance(r.value, ast.Tuple) else None for r in returns if r.value is not None}
    if len(sizes) > 1:
        return node, None, "the loop returns tuples of different lengths, or a tuple and a single value"
    size = sizes.pop() if sizes else None
    if size is not None and any(isinstance(e, ast.Starred) for r in returns for e in r.value.elts):
        return node, None, "the loop returns a tuple with a starred item (*x)"
    if _has_return(node.orelse):
        return node, None, "'return' in the else block of the outermost loop is not supported"
    new = copy_tree(node)
    if all(bare):
        for r in walk(new):
            if isinstance(r, ast.Return):
                r.value = ast.copy_location(ast.Constant(True), r)
    show_hidden_as(NEST_RETURNED, "whether the function returned")
    try:
        new.body = _returns_in_loop(new.body, NEST_RETURN, "the function", NEST_RETURNED)
    except NotInlinable as why:
        return node, None, str(why)
    if size is not None:
        return new, f"tuple:{size}", None
    return new, "none" if all(bare) else "value", None


def returns_refused(fdef) -> str:
    """Why a ``return`` inside a nest of the function ``fdef`` stays Python
    ("" when it can be lowered)."""
    if isinstance(fdef, ast.AsyncFunctionDef):
        return "'return' inside a loop of an async function is not supported"
    todo = list(fdef.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.Yield, ast.YieldFrom)):
            return "'return' inside a loop of a generator is not supported"
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(children(n))
    return ""


def module_defs(tree) -> Dict[str, ast.FunctionDef]:
    """The functions a module's top level defines (a name defined twice, or
    also bound otherwise at the top level, is left out: which one a call
    reaches depends on the order)."""
    defs: Dict[str, ast.FunctionDef] = {}
    ambiguous: Set[str] = set()
    body = getattr(tree, "body", ())
    for s in body:
        if isinstance(s, ast.FunctionDef):
            if s.name in defs:
                ambiguous.add(s.name)
            defs[s.name] = s
    for s in body:
        if not isinstance(s, (ast.FunctionDef, ast.ClassDef)):
            ambiguous |= _stored_names([s]) & set(defs)
    return {k: v for k, v in defs.items() if k not in ambiguous}


def key_of(callees: Dict[str, Callee]) -> str:
    """What tells apart two nests that call functions of the same name."""
    if not callees:
        return ""
    return repr(sorted((name, hash(_code_shape(c.code))) for name, c in callees.items()))


# --- names known only when the loop runs -------------------------------------------------

MAX_VARIANTS = 16  # functions one nest is compiled for (the oldest is forgotten)


class LazyNest:
    """A nest that calls names whose value is known only when it runs
    (``lazy_names``): the replacement asks ``call`` each time, which looks the
    names up where the loop is, registers the nest with those functions
    inlined (once per function: ``value_key``) and hands that nest and its
    values to the hook. ``register(node, known, lookup)`` registers a copy of
    the loop for the values ``known`` and returns its ``NestRecord``."""

    def __init__(self, node: ast.For, names: List[str], register: Callable, stored: List[str]):
        self.node = copy.deepcopy(node)
        self.names = names
        self.register = register
        self.stored = stored  # the names the loop may assign, written back
        self.variants: Dict[tuple, object] = {}
        self.last = None  # the id of the nest last run for it

    def variant(self, lookup: Callable[[str], object], missing):
        values = {n: lookup(n) for n in self.names}
        key = tuple(value_key(values[n]) for n in self.names)
        rec = self.variants.get(key)
        if rec is None:
            known = {n: v for n, v in values.items() if v is not missing}
            rec = self.register(copy.deepcopy(self.node), known, lookup)
            if len(self.variants) >= MAX_VARIANTS:
                self.variants.pop(next(iter(self.variants)))
            self.variants[key] = rec
        self.last = rec.id
        return rec


def frame_lookup(frame, missing) -> Callable[[str], object]:
    """``name -> value`` as the code of ``frame`` reads a name (``missing``
    when unbound): a local name of a function only from its locals."""
    code, f_locals, f_globals, f_builtins = frame.f_code, frame.f_locals, frame.f_globals, frame.f_builtins
    if code.co_flags & inspect.CO_OPTIMIZED:
        local = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
    else:
        local = set()

    def lookup(name):
        if name in f_locals:
            return f_locals[name]
        if name in local:
            return missing
        if name in f_globals:
            return f_globals[name]
        return f_builtins.get(name, missing)

    return lookup


LAZY: Dict[int, LazyNest] = {}  # key (a constant of the replacement) -> the nest
_LAZY_KEYS = itertools.count(1)  # next() is atomic: threads rewriting at once get their own keys


def add_lazy(lazy: LazyNest) -> int:
    key = next(_LAZY_KEYS)
    LAZY[key] = lazy
    return key
