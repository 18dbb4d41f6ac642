"""Rewriting of Python code so that each supported loop nest goes through a
hook (the engine) before, or instead of, running as plain Python.

Protocol. Every outermost supported ``for v in range(...)`` nest (at module
level, in function bodies, and inside if/while/with/try bodies) is registered
with the engine (front end + static phase, giving an integer nest id) and
replaced by::

    try:
        __ls_env = {'A': A, 'n': n}       # every name the nest reads from outside
    except (NameError, AttributeError, TypeError, IndexError):
        __ls_env = None
    __ls_out = HOOK(NEST_ID, __ls_env)
    if __ls_out is None:
        <the original loop, unchanged>
    else:
        if 'i' in __ls_out:
            i = __ls_out['i']             # every scalar / loop variable the nest assigns
    del __ls_env, __ls_out

``HOOK(nest_id, env)`` returning ``None`` means "run the Python loop";
returning a dict means the nest was executed natively (or deliberately
skipped) and the names in it must be written back. The generated statements
carry the original loop's line numbers, so tracebacks point at the user's
code. A nest the front end declines is left as it is (its decline is
recorded) and the nests inside its body are considered in turn.

API:

- ``rewrite_module(tree, filename, hook_name, source=None, hook_declined=False)``
  -> ``(new_tree, nests)``
- ``rewrite_function(fn, hook_name)`` -> ``(module_tree, nests)``: the module
  defines ``__ls_make(<hook_name>, <free variables of fn>)`` returning the
  rewritten function; ``compile_function`` does the rest.
- ``compile_function(fn, hook, hook_name="__ls_hook")`` -> ``(new_fn, nests)``:
  a function with the same globals, defaults and closure as ``fn`` whose nests
  call ``hook``.
- ``NESTS``: registry, nest id -> :class:`NestRecord`.

Each element of ``nests`` is a :class:`NestRecord`.
"""

import ast
import copy
import inspect
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import _loopscope

ENV_NAME = "__ls_env"
OUT_NAME = "__ls_out"
MAKER_NAME = "__ls_make"


@dataclass
class NestRecord:
    id: int
    line: int                      # line of the root `for` in the parsed source
    end_line: int
    var: str                       # variable of the root loop
    source: str
    declined: bool
    decline: Optional[dict]        # {"line", "reason"} when declined
    inputs: List[str] = field(default_factory=list)
    outputs: List[str] = field(default_factory=list)
    arrays: List[str] = field(default_factory=list)
    loops: List[dict] = field(default_factory=list)   # from the engine, or from the ast when declined
    static: Optional[dict] = None
    filename: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id, "line": self.line, "end_line": self.end_line, "var": self.var,
            "source": self.source, "declined": self.declined, "decline": self.decline,
            "inputs": list(self.inputs), "outputs": list(self.outputs), "arrays": list(self.arrays),
            "loops": [dict(l) for l in self.loops], "static": self.static,
        }


NESTS: Dict[int, NestRecord] = {}


def is_range_loop(node) -> bool:
    return (isinstance(node, ast.For) and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name)
            and node.iter.func.id == "range")


def _ast_loops(node) -> List[dict]:
    """The for loops of a (declined) nest, read from the ast."""
    out = []
    depth_of = {id(node): 0}
    for n in ast.walk(node):
        if isinstance(n, ast.For):
            var = n.target.id if isinstance(n.target, ast.Name) else ast.unparse(n.target)
            out.append({"var": var, "line": n.lineno})
    out.sort(key=lambda d: d["line"])
    return out


def register(node: ast.For, source: Optional[str], filename: str) -> NestRecord:
    text = None
    if source is not None:
        try:
            text = ast.get_source_segment(source, node, padded=True)
        except Exception:
            text = None
        if text is not None:
            text = textwrap.dedent(text)
    if text is None:
        text = ast.unparse(node)
    nest_id = _loopscope.analysis_register(node, text, filename)
    info = _loopscope.analysis_info(nest_id)
    rec = NestRecord(
        id=nest_id, line=node.lineno, end_line=getattr(node, "end_lineno", node.lineno) or node.lineno,
        var=node.target.id, source=text, declined=info["declined"], decline=info["decline"],
        inputs=list(info.get("inputs", [])), outputs=list(info.get("outputs", [])),
        arrays=list(info.get("arrays", [])), loops=list(info.get("loops", [])) or _ast_loops(node),
        static=info.get("static"), filename=filename)
    NESTS[nest_id] = rec
    return rec


def _replacement(node: ast.For, rec: NestRecord, hook_name: str) -> List[ast.stmt]:
    # Inputs are names, or values such as "A.shape[0]" and "len(x)" that the
    # nest reads: each is evaluated in the enclosing scope.
    env = ast.Dict(keys=[ast.Constant(n) for n in rec.inputs],
                   values=[ast.Name(n, ast.Load()) if n.isidentifier() else ast.parse(n, mode="eval").body
                           for n in rec.inputs])
    try_env = ast.Try(
        body=[ast.Assign(targets=[ast.Name(ENV_NAME, ast.Store())], value=env)],
        handlers=[ast.ExceptHandler(
            type=ast.Tuple([ast.Name(x, ast.Load()) for x in
                            ("NameError", "AttributeError", "TypeError", "IndexError")], ast.Load()),
            name=None,
            body=[ast.Assign(targets=[ast.Name(ENV_NAME, ast.Store())], value=ast.Constant(None))])],
        orelse=[], finalbody=[])
    call = ast.Assign(
        targets=[ast.Name(OUT_NAME, ast.Store())],
        value=ast.Call(func=ast.Name(hook_name, ast.Load()),
                       args=[ast.Constant(rec.id), ast.Name(ENV_NAME, ast.Load())], keywords=[]))
    writes = []
    for name in rec.outputs:
        writes.append(ast.If(
            test=ast.Compare(left=ast.Constant(name), ops=[ast.In()],
                             comparators=[ast.Name(OUT_NAME, ast.Load())]),
            body=[ast.Assign(targets=[ast.Name(name, ast.Store())],
                             value=ast.Subscript(value=ast.Name(OUT_NAME, ast.Load()),
                                                 slice=ast.Constant(name), ctx=ast.Load()))],
            orelse=[]))
    if not writes:
        writes = [ast.Pass()]
    branch = ast.If(
        test=ast.Compare(left=ast.Name(OUT_NAME, ast.Load()), ops=[ast.Is()],
                         comparators=[ast.Constant(None)]),
        body=[node], orelse=writes)
    cleanup = ast.Delete(targets=[ast.Name(ENV_NAME, ast.Del()), ast.Name(OUT_NAME, ast.Del())])
    out = [try_env, call, branch, cleanup]
    for s in out:
        _locate(s, node)
    return out


def _locate(new, old):
    """Give `new` and its children without a position the position of `old`."""
    for n in ast.walk(new):
        if n is old or _inside(n, old):
            continue
        if "lineno" in n._attributes:
            n.lineno = old.lineno
            n.col_offset = old.col_offset
            n.end_lineno = getattr(old, "end_lineno", old.lineno)
            n.end_col_offset = getattr(old, "end_col_offset", old.col_offset)


def _inside(n, old):
    return getattr(n, "_ls_orig", False)


def _mark_original(node):
    for n in ast.walk(node):
        n._ls_orig = True


class _Rewriter:
    def __init__(self, filename, hook_name, source, hook_declined):
        self.filename = filename
        self.hook_name = hook_name
        self.source = source
        self.hook_declined = hook_declined
        self.nests: List[NestRecord] = []

    def block(self, stmts: List[ast.stmt]) -> List[ast.stmt]:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s: ast.stmt) -> List[ast.stmt]:
        if is_range_loop(s):
            rec = register(s, self.source, self.filename)
            self.nests.append(rec)
            if not rec.declined:
                _mark_original(s)
                return _replacement(s, rec, self.hook_name)
            # Declined: look for nests inside its body.
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
            if self.hook_declined:
                rec_skip = copy.copy(rec)
                rec_skip.inputs = []
                rec_skip.outputs = []
                _mark_original(s)
                return _replacement(s, rec_skip, self.hook_name)
            return [s]
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        elif isinstance(s, ast.If):
            s.body = self.block(s.body)
            s.orelse = self.block(s.orelse)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            s.body = self.block(s.body)
        elif isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            s.body = self.block(s.body)
            for h in s.handlers:
                h.body = self.block(h.body)
            s.orelse = self.block(s.orelse)
            s.finalbody = self.block(s.finalbody)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            s.body = self.block(s.body)
        return [s]


def rewrite_module(tree: ast.Module, filename: str, hook_name: str, source: Optional[str] = None,
                   hook_declined: bool = False):
    """Rewrites `tree` in place (and returns it) with every supported nest
    going through ``hook_name``. Returns ``(tree, nests)``. With
    ``hook_declined``, declined ``range`` loops also call the hook (with an
    empty env and no outputs), which lets a caller skip them."""
    rw = _Rewriter(filename, hook_name, source, hook_declined)
    tree.body = rw.block(tree.body)
    ast.fix_missing_locations(tree)
    for n in ast.walk(tree):
        if hasattr(n, "_ls_orig"):
            del n._ls_orig
    return tree, rw.nests


def _function_source(fn):
    fn = inspect.unwrap(fn)
    lines, first = inspect.getsourcelines(fn)
    source = textwrap.dedent("".join(lines))
    return source, first


def rewrite_function(fn, hook_name: str = "__ls_hook", hook_declined: bool = False):
    """Returns ``(module_tree, nests)``. In the tree, ``def __ls_make(hook,
    *freevars)`` builds the rewritten function; lines are those of the file
    that defines ``fn``. Nest lines in ``nests`` count the ``def`` line as 1."""
    source, first = _function_source(fn)
    tree = ast.parse(source)
    fdef = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fdef is None:
        raise ValueError(f"{fn!r} is not defined by a def statement")
    def_line = fdef.lineno
    fdef.decorator_list = []
    module = ast.Module(body=[fdef], type_ignores=[])
    ast.increment_lineno(module, 1 - def_line)       # the def line is line 1
    module, nests = rewrite_module(module, getattr(fn, "__code__", None) and fn.__code__.co_filename or "<function>",
                                   hook_name, source=_shift_source(source, def_line),
                                   hook_declined=hook_declined)
    freevars = list(fn.__code__.co_freevars) if hasattr(fn, "__code__") else []
    maker = ast.FunctionDef(
        name=MAKER_NAME,
        args=ast.arguments(posonlyargs=[], args=[ast.arg(hook_name)] + [ast.arg(v) for v in freevars],
                           kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    maker.lineno = 1
    maker.col_offset = 0
    outer = ast.Module(body=[maker], type_ignores=[])
    ast.fix_missing_locations(outer)
    # Lines of the file: the def line of fn is at first + def_line - 1.
    ast.increment_lineno(outer, first + def_line - 2)
    return outer, nests


def _shift_source(source: str, def_line: int) -> str:
    """Source whose line 1 is the def line (decorators dropped)."""
    return "\n".join(source.splitlines()[def_line - 1:]) + "\n"


def compile_function(fn, hook, hook_name: str = "__ls_hook", hook_declined: bool = False):
    """Returns ``(new_fn, nests)``: ``fn`` rewritten so that its nests call
    ``hook(nest_id, env)``. Globals, defaults, keyword defaults and the
    closure are those of ``fn``."""
    tree, nests = rewrite_function(fn, hook_name, hook_declined=hook_declined)
    code = compile(tree, fn.__code__.co_filename, "exec")
    maker_code = next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == MAKER_NAME)
    inner = next(c for c in maker_code.co_consts if isinstance(c, types.CodeType) and c.co_name == fn.__name__)
    cells = {}
    if fn.__closure__:
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__))
    hook_cell = types.CellType(hook)
    closure = []
    for name in inner.co_freevars:
        if name == hook_name:
            closure.append(hook_cell)
        elif name in cells:
            closure.append(cells[name])
        else:
            closure.append(types.CellType())
    new_fn = types.FunctionType(inner, fn.__globals__, fn.__name__, fn.__defaults__,
                                tuple(closure) if closure else None)
    new_fn.__kwdefaults__ = fn.__kwdefaults__
    new_fn.__qualname__ = fn.__qualname__
    new_fn.__doc__ = fn.__doc__
    new_fn.__module__ = fn.__module__
    return new_fn, nests
