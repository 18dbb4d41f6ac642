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
engine can follow: assignments, ``if``, ``for ... in range``, and ``return``
anywhere outside a loop. Its parameters and locals become hidden names of the
nest (``$``, never written back, private to every loop); an argument that is
a plain name the body never assigns is used as it is (an array passed to a
helper stays that array). Every time the nest is about to run,
``_rewrite.bind_env`` checks that the name still is that function, with the
same code and defaults (``Callee.check``); anything else runs the loop as
Python.

Why hoisting calls out of expressions keeps Python's results: the body has no
effect but its assignments, and an error in native code (a trap) stops the
run, restores what it wrote and runs the original loop in Python, which then
raises what Python raises, in its order. A call under a condition
(``a if c else f(x)``) is computed in any case; when that traps, Python runs.
"""

import ast
import copy
import inspect
import types
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set, Tuple

from ._records import show_hidden_as

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


def _stored_names(stmts) -> Set[str]:
    names = set()
    for s in stmts:
        for n in ast.walk(s):
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
    names |= _stored_names(fdef.body)
    for n in ast.walk(fdef):
        if isinstance(n, ast.Global):
            names -= set(n.names)
    return names


def _function_tree(fn) -> ast.FunctionDef:
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(fn.__code__))
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
    for n in ast.walk(fdef):
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
    return any(isinstance(n, ast.Return) for s in stmts for n in ast.walk(s))


def _lower_returns(stmts: List[ast.stmt], ret: str, name: str) -> Tuple[List[ast.stmt], bool]:
    """``stmts`` with every ``return e`` turned into ``ret = e`` and the
    statements after a conditional return moved into the branches that go on;
    and whether every path ends in a return."""
    out: List[ast.stmt] = []
    for k, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            if s.value is None:
                raise NotInlinable(f"{name} returns None")
            out.append(ast.copy_location(ast.Assign(targets=[ast.Name(ret, ast.Store())], value=s.value), s))
            return out, True
        if isinstance(s, ast.If) and _has_return([s]):
            rest = stmts[k + 1 :]
            body, body_returns = _lower_returns(s.body + rest, ret, name)
            orelse, else_returns = _lower_returns(s.orelse + rest, ret, name)
            out.append(ast.copy_location(ast.If(test=s.test, body=body or [ast.Pass()], orelse=orelse), s))
            return out, body_returns and else_returns
        if _has_return([s]):
            raise NotInlinable(f"{name} returns from inside a loop")
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
            continue  # a docstring
        out.append(s)
    return out, False


def _at(stmts: List[ast.stmt], where: ast.stmt) -> List[ast.stmt]:
    """``stmts`` (inlined code) placed at the line of the statement that
    calls: reports and declines point at the user's call."""
    for s in stmts:
        for n in ast.walk(s):
            if "lineno" in n._attributes:
                n.lineno, n.col_offset = where.lineno, where.col_offset
                n.end_lineno, n.end_col_offset = where.end_lineno, where.end_col_offset
    return stmts


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: Dict[str, ast.expr]):
        self.names = names

    def visit_Name(self, n):
        new = self.names.get(n.id)
        if new is None:
            return n
        if isinstance(new, ast.Name):
            return ast.Name(new.id, n.ctx)
        return copy.deepcopy(new)


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
    ):
        self.resolve = resolve
        self.module = module
        self.defs = defs or {}
        self.shadowed = shadowed
        self.callees: Dict[str, Callee] = {}
        self.statements = 0
        self.counter = 0

    def _callee(self, name: str, stack: Tuple[str, ...]) -> Optional[Callee]:
        """The user function ``name`` stands for, or None (not one)."""
        if name in self.callees:
            callee = self.callees[name]
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
        reads = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        local = set(params) | body_stores
        globals_read = reads - local
        clash = sorted(globals_read & self.shadowed)
        if clash:
            raise NotInlinable(f"{name} reads the global {clash[0]}, which is a local name where the loop is")
        rename: Dict[str, ast.expr] = {v: ast.Name(prefix + v, ast.Load()) for v in local}
        for v in local:
            show_hidden_as(prefix + v, f"{v} (in {name})")
        pre: List[ast.stmt] = []
        for p, default in zip(params, defaults):
            arg = given.get(p, default)
            if arg is None:
                raise NotInlinable(f"{name} is called without its parameter {p}")
            if isinstance(arg, ast.Name) and p not in body_stores:
                rename[p] = arg  # the caller's own name (an array stays that array)
            else:
                pre.append(ast.Assign(targets=[ast.Name(prefix + p, ast.Store())], value=arg))
        ret = prefix + "return"
        show_hidden_as(ret, f"the value of {name}(...)")
        body, always_returns = _lower_returns(copy.deepcopy(fdef.body), ret, name)
        body = [_Renamer(rename).visit(s) for s in body]
        body = self.block(body, stack + (name,))
        self.statements += sum(1 for s in body for n in ast.walk(s) if isinstance(n, ast.stmt))
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
) -> Tuple[ast.For, Dict[str, Callee]]:
    """``(node with the user's functions inlined, {name: callee})``; ``node``
    itself and no callees when it calls none. ``resolve(name)`` is a name's
    value where the nest runs (``missing`` when unbound), ``module`` the
    globals dict there, ``defs`` the functions defined by the code being
    rewritten (not made yet). Names in ``skip`` (the builtins the front end
    knows) and names the nest assigns are never user functions. Raises
    NotInlinable with a sentence when a call of a user function cannot be
    inlined."""
    defs = defs or {}
    not_functions = set(skip) | _stored_names([node])
    called = {
        n.func.id
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in not_functions
    }

    def resolve_user(name):
        if name in not_functions:
            return missing
        try:
            return resolve(name)
        except Exception:
            return missing

    if not any(name in defs or isinstance(resolve_user(name), types.FunctionType) for name in called):
        return node, {}
    inliner = Inliner(resolve_user, module, shadowed, {k: v for k, v in defs.items() if k not in skip})
    new = copy.deepcopy(node)
    pre: List[ast.stmt] = []
    new.iter = inliner._hoist(new.iter, pre, ())
    if pre:
        raise NotInlinable("a function is called in the bounds of the outermost loop; call it before the loop")
    new.body = inliner.block(new.body)
    return new, inliner.callees


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
