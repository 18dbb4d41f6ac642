"""The user's functions that a rewritten function calls outside its nests.

``loopscope.run(harris, img)`` rewrites ``harris`` (``_rewrite``); but
``harris`` is often a pipeline (``gx = sobel_x(img); gy = sobel_y(img);
...``) whose loop nests are in the functions it calls. A call made inside a
nest is inlined (``_inline``); a call made outside any nest (in straight-line
code, or in a loop that runs as Python) goes through a trampoline instead::

    g(a, b=c)    becomes    <table>.get(g)(a, b=c)

where ``<table>`` (a :class:`Table`, a constant of the rewritten code, as the
hook is) gives back, at every call, the rewritten version of ``g`` whose
nests call the same hook (so the same device) when ``g`` is a plain Python
function of the same module or of the user's own files (``user_module``: a
``utils.py`` beside the notebook, not the standard library or an installed
package), and ``g`` itself otherwise. ``utils.smooth(a)``, an attribute of
such a module, goes through the table the same way. The name is looked up
where Python looks it up, before the arguments are computed, as Python
does; whatever it holds is judged by its value, at each call: a name rebound
to another function, a builtin, a class, a method, a closure, a generator
function or a function of an installed module is called as it is.

The rewritten callee is ``g``'s own code with its nests replaced
(``_rewrite.compile_function``): the same globals, defaults (checked by
identity at each call, and followed when they change), keyword defaults,
file, lines and names, so tracebacks name ``g`` and its lines. It is built
once per function object and code object, on its first call, and its own
calls go through the same table: callees of callees are rewritten when they
are called, so recursion finds the version being built, and nothing is
rewritten ahead of the calls that reach it. A function whose rewritten code
would have no nest and call no function of its module is called as it is.

Only names are trampolined: not attributes (``obj.method(...)``), not the
function's own local names (parameters, assigned names), not names that,
when the function is rewritten, are builtins, hold something other than a
function (a class, ``helper = np.cumsum``), or hold a function that would be
called as it is (``clamp(x)`` with no loop in it: judged then, and its own
callees with it). A name defined later is trampolined. The trampoline costs
a Python call (under 0.1 us) at each call it is on.

Near the recursion limit (``RECURSION_MARGIN`` frames from it) a callee runs
as it is, so that the engine's hooks never meet the limit and CPython meets
it where it would.
"""

import ast
import builtins
import importlib.machinery
import inspect
import os
import site
import sys
import sysconfig
import types
import uuid
from typing import Any, Dict, List, Optional, Set
from ._walk import walk

# The table's place in the generated code: ``<PLACEHOLDER>.get(g)``;
# The rewriter's entry points: ``_rewrite``, the layer above this module,
# sets them when it is imported (``plain_function``, ``compile_function``
# and its ``NotRewritable``), so that this module imports nothing of it.
REWRITER = types.SimpleNamespace(plain_function=None, compile_function=None, NotRewritable=Exception)

# ``_rewrite.compile_function`` swaps the string for the table in the
# compiled code's constants, as it does for the hook.
PLACEHOLDER = f"<loopscope callees {uuid.uuid4().hex}>"
# A cell's code is compiled by IPython, whose constants the engine does not
# touch: its trampolines find the kernel's table through builtins, by this
# name, as the cell's nests find the hook (``trampoline_cell``).
CELL_TABLE_NAME = "__loopscope_callees__"
# The user functions one table rewrites, at most (every other one is called
# as it is).
MAX_CALLEES = 256
# How deep the rewriter judges, ahead of their calls, the functions called
# by the function it rewrites (Table.called_as_it_is).
MAX_AHEAD = 8
_NOT_PLAIN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_FunctionType = types.FunctionType
_getframe, _getrecursionlimit = sys._getframe, sys.getrecursionlimit
# Frames kept free below the recursion limit for the engine's hooks.
RECURSION_MARGIN = 100


def _library_folders() -> tuple:
    """The folders of installed code: the interpreter's prefixes, its
    standard library and every site-packages folder."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    folders.update(v for k, v in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib"))
    try:
        folders.update(site.getsitepackages())
        folders.add(site.getusersitepackages())
    except AttributeError:  # a virtual environment's old site module
        pass
    folders.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    folders.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this package's folder
    return tuple(os.path.join(os.path.realpath(f), "") for f in folders if f)


_LIBRARY_FOLDERS: Optional[tuple] = None
_USER_FILES: Dict[str, bool] = {}  # module file -> whether it is the user's own


def user_module(module: dict) -> bool:
    """Whether ``module`` (a module's globals) is one of the user's own
    files: a ``.py`` file imported as a module, outside the standard library
    and the installed packages (a ``utils.py`` beside the notebook, a
    package being developed). Its plain functions are rewritten when a
    rewritten function calls them, as those of the caller's own module."""
    global _LIBRARY_FOLDERS
    file = module.get("__file__")
    if type(file) is not str or not file.endswith(".py"):
        return False
    known = _USER_FILES.get(file)
    if known is None:
        if _LIBRARY_FOLDERS is None:
            _LIBRARY_FOLDERS = _library_folders()
        mod = sys.modules.get(module.get("__name__"))
        path = os.path.join(os.path.realpath(file), "")
        known = (
            mod is not None
            and getattr(mod, "__dict__", None) is module
            and os.path.isfile(file)
            and not path.startswith(_LIBRARY_FOLDERS)
        )
        _USER_FILES[file] = known
    return known


def _user_file(file) -> bool:
    """Whether ``file`` is a ``.py`` file of the user's own (outside the
    standard library and the installed packages)."""
    global _LIBRARY_FOLDERS
    if type(file) is not str or not file.endswith(".py") or not os.path.isfile(file):
        return False
    if _LIBRARY_FOLDERS is None:
        _LIBRARY_FOLDERS = _library_folders()
    return not os.path.join(os.path.realpath(file), "").startswith(_LIBRARY_FOLDERS)


def _imports_user_module(name: str) -> bool:
    """Whether ``import name`` (absolute) imports, or will import, a module
    of the user's own files: one already imported is judged by
    ``user_module``; another by where the import system would find its top
    package (``PathFinder.find_spec`` reads the folders of ``sys.path``, and
    runs none of the user's code)."""
    mod = sys.modules.get(name)
    if mod is not None:
        d = getattr(mod, "__dict__", None)
        return type(d) is dict and user_module(d)
    top = name.split(".")[0]
    if top in sys.modules or top in sys.builtin_module_names:
        mod = sys.modules.get(top)
        d = getattr(mod, "__dict__", None)
        return type(d) is dict and user_module(d)
    try:
        spec = importlib.machinery.PathFinder.find_spec(top)
    except Exception:
        return False
    return spec is not None and _user_file(spec.origin)


def imported_user_modules(tree) -> Set[str]:
    """The names that the imports of a cell bind to modules of the user's
    own files (``import utils``, ``import utils as u``) and, with the
    module's name and a dot before them, the names imported from such a
    module (``from utils import smooth`` gives ".smooth"; ``from utils
    import *`` gives ".*")."""
    out: Set[str] = set()
    for n in walk(tree):
        if type(n) is ast.Import:
            for a in n.names:
                if _imports_user_module(a.name):
                    out.add(a.asname or a.name.split(".")[0])
        elif type(n) is ast.ImportFrom and not n.level and n.module and _imports_user_module(n.module):
            out.update("." + (a.asname or a.name) for a in n.names)
    return out


def _local_names(fdef, called: Optional[Set[str]] = None) -> Set[str]:
    """Every name bound anywhere in ``fdef`` (its scope and the scopes
    inside it): a call of such a name may be of a local value, which the
    trampoline leaves alone. ``called``, when given, also gets every name
    called in ``fdef``."""
    names: Set[str] = set()
    for n in walk(fdef):
        if called is not None and type(n) is ast.Call:
            f = n.func
            if type(f) is ast.Attribute:  # utils.smooth(a): utils may be a module of the user's
                f = f.value
            if type(f) is ast.Name:
                called.add(f.id)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not fdef:
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                names.add((a.asname or a.name).split(".")[0])
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            names.update(n.names)  # assigned elsewhere, or rebound here: leave them
        elif type(n).__name__ in ("MatchAs", "MatchStar") and getattr(n, "name", None):
            names.add(n.name)
        elif type(n).__name__ == "MatchMapping" and getattr(n, "rest", None):
            names.add(n.rest)
    return names


class _Trampolines(ast.NodeTransformer):
    def __init__(
        self,
        skip: Set[str],
        module: dict,
        builtins: Dict[str, Any],
        table: Optional["Table"],
        in_cell: bool = False,
        imported: Set[str] = frozenset(),
    ):
        self.skip = skip
        self.module = module
        self.builtins = builtins
        self.table = table
        self.in_cell = in_cell  # the table is CELL_TABLE_NAME, not a constant
        # the names a cell's imports bind to the user's modules (imported_user_modules)
        self.imported = imported
        self.count = 0

    def generic_visit(self, node):
        if getattr(node, "_ls_orig", False):
            return node  # the original loop of a replaced nest: unchanged
        return super().generic_visit(node)

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute):
            return self._module_attribute(node)
        if not isinstance(f, ast.Name) or not isinstance(f.ctx, ast.Load) or getattr(f, "_ls_orig", False):
            return node
        name = f.id
        if name in self.skip or name.startswith("__loopscope"):
            return node
        if name in self.module and "." + name not in self.imported:
            value = self.module[name]
            if type(value) is not types.FunctionType:
                return node  # a class, a builtin or NumPy function, ... (rebound later: called as it is)
            if self.table is not None and self.table.called_as_it_is(value):
                return node  # nothing in it to intercept (rebound later: called as it is)
        elif name in self.builtins:
            return node  # a builtin (print, len, ...)
        return self._through_table(node)

    def _module_attribute(self, node):
        """``utils.smooth(a)`` where ``utils`` holds, now, a module of the
        user's own files: through the table (the attribute is read where
        Python reads it, before the arguments)."""
        f = node.func
        base = f.value
        if type(base) is not ast.Name or getattr(f, "_ls_orig", False) or base.id in self.skip:
            return node
        value = self.module.get(base.id)
        if base.id not in self.imported and (type(value) is not types.ModuleType or not user_module(vars(value))):
            return node
        return self._through_table(node)

    def _through_table(self, node):
        f = node.func
        where = ast.Name(CELL_TABLE_NAME, ast.Load()) if self.in_cell else ast.Constant(PLACEHOLDER)
        get = ast.Attribute(value=where, attr="get", ctx=ast.Load())
        node.func = ast.Call(func=get, args=[f], keywords=[])
        for n in (get, get.value, node.func):
            ast.copy_location(n, f)
        self.count += 1
        return node


def _may_trampoline(called: Set[str], skip: Set[str], module: dict, fn_builtins: Dict[str, Any]) -> bool:
    """Whether a name of ``called`` may be routed through the table by
    ``_Trampolines`` (a function of the module or an unbound name): when
    none, it changes nothing, and is not run."""
    for name in called:
        if name in skip or name.startswith("__loopscope"):
            continue
        if name in module:
            value = module[name]
            if type(value) is types.FunctionType or (type(value) is types.ModuleType and user_module(vars(value))):
                return True
        elif name not in fn_builtins:
            return True
    return False


def trampoline(fdef, fn, table: Optional["Table"] = None) -> int:
    """Rewrites, in ``fdef`` (``fn``'s definition, its nests already
    replaced), each call of a name outside the original loops into a call
    through the table. With ``table``, a name whose function, judged now,
    would be called as it is (``Table.called_as_it_is``) is left alone.
    Returns how many calls it rewrote."""
    module = fn.__globals__
    fn_builtins = module.get("__builtins__", builtins)
    if isinstance(fn_builtins, types.ModuleType):
        fn_builtins = vars(fn_builtins)
    called: Set[str] = set()
    skip = _local_names(fdef, called)
    if not _may_trampoline(called, skip, module, fn_builtins):
        return 0
    t = _Trampolines(skip, module, fn_builtins, table)
    judging = table is not None and fn not in table._judging
    if judging:
        table._judging.add(fn)  # its own (recursive) calls keep their trampoline
    try:
        # Only the body: the defaults and decorators are computed where the def runs.
        fdef.body = [t.visit(s) for s in fdef.body]
    finally:
        if judging:
            table._judging.discard(fn)
    return t.count


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


class _CellTopLevel(_Trampolines):
    """A cell's statements at its top level, where every name is the
    namespace's: the scopes inside (functions, classes, lambdas,
    comprehensions) are left to ``trampoline_cell``."""

    def visit(self, node):
        if isinstance(node, _SCOPES):
            return node
        return super().visit(node)


def calls_user_code(tree, module: dict) -> bool:
    """Whether a cell calls, by a name or a module's attribute that holds it
    now, a function of the user's own files (``user_module``) or a module of
    them, or imports such a module (``import utils`` then ``utils.smooth(a)``
    in the same cell: ``imported_user_modules``): only then are its calls
    routed through the kernel's table."""
    if imported_user_modules(tree):
        return True
    for n in walk(tree):
        if type(n) is not ast.Call:
            continue
        f = n.func
        if type(f) is ast.Attribute and type(f.value) is ast.Name:
            value = module.get(f.value.id)
            if type(value) is types.ModuleType and user_module(vars(value)):
                return True
        elif type(f) is ast.Name:
            value = module.get(f.id)
            if type(value) is _FunctionType and value.__globals__ is not module and user_module(value.__globals__):
                return True
    return False


def trampoline_cell(tree, module: dict) -> int:
    """Routes the calls of a cell (``module``: the user's namespace) through
    the kernel's table (CELL_TABLE_NAME), so that the functions of the
    user's files it calls run their nests through the hook: at the top level
    every name is the namespace's, and in the functions the cell defines
    their own names are left alone (``trampoline``'s rule), and so in the
    methods of the classes it defines (their names are the namespace's too:
    a class body is no scope of its methods). The statements of class
    bodies, lambdas and comprehensions are left as they are. The names the
    cell's own imports bind to the user's modules count as such modules
    (``import utils`` then ``utils.smooth(a)``). Returns how many calls it
    rewrote."""
    fn_builtins = module.get("__builtins__", builtins)
    if isinstance(fn_builtins, types.ModuleType):
        fn_builtins = vars(fn_builtins)
    imported = imported_user_modules(tree)
    top = _CellTopLevel(set(), module, fn_builtins, None, in_cell=True, imported=imported)
    for i, stmt in enumerate(tree.body):
        tree.body[i] = top.visit(stmt)
    count = top.count
    for fdef in _defs_outside_scopes(tree.body):
        t = _Trampolines(_local_names(fdef), module, fn_builtins, None, in_cell=True, imported=imported)
        fdef.body = [t.visit(s) for s in fdef.body]  # nested defs too (their names are in the skip set)
        count += t.count
    return count


def _defs_outside_scopes(stmts):
    """The function definitions of a cell that are not inside another
    function (under ``if``, ``try``, ``with`` ... included), and the methods
    of its classes (of classes in classes too)."""
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt
        elif isinstance(stmt, ast.ClassDef):
            yield from _defs_outside_scopes(stmt.body)
        else:
            for field in ("body", "orelse", "finalbody"):
                yield from _defs_outside_scopes(getattr(stmt, field, None) or ())
            for part in getattr(stmt, "handlers", None) or getattr(stmt, "cases", None) or ():
                yield from _defs_outside_scopes(part.body)


def _uses(code: types.CodeType, obj) -> bool:
    for c in code.co_consts:
        if c is obj or (isinstance(c, types.CodeType) and _uses(c, obj)):
            return True
    return False


def near_recursion_limit() -> bool:
    """Whether the caller runs within RECURSION_MARGIN frames of the
    recursion limit (under a microsecond: the walk stops at the top frame)."""
    try:
        _getframe(_getrecursionlimit() - RECURSION_MARGIN)
    except ValueError:
        return False
    return True


class Table:
    """The rewritten versions of the functions of one module that the code
    of one rewritten function calls, with its hook (``get`` is the
    trampoline). ``nests``: the nest records of the callees rewritten so
    far, in the order they were rewritten."""

    def __init__(self, hook, module: dict, hook_declined: bool = False):
        self.hook = hook
        self.module = module
        self.hook_declined = hook_declined
        # g -> (g.__code__ when judged, what to call: g's rewritten version or g)
        self._cache: Dict[Any, tuple] = {}
        self.nests: List[Any] = []
        self._judging: Set[Any] = set()  # functions being rewritten (judged ahead by called_as_it_is)
        self.why_not: Dict[str, str] = {}  # qualified name -> why it runs as it is

    @classmethod
    def of(cls, fn, hook, hook_declined: bool = False) -> "Table":
        """A table for the calls of ``fn`` (a function, a method, a
        ``functools.partial``) rewritten with ``hook``."""
        try:
            module = REWRITER.plain_function(fn)[0].__globals__
        except REWRITER.NotRewritable:
            module = None
        return cls(hook, module, hook_declined)

    def seed(self, fn, new_fn):
        """``new_fn`` is ``fn`` rewritten with this table (the function given
        to ``run``: its recursive calls reach that version)."""
        if type(fn) is _FunctionType and type(new_fn) is _FunctionType and fn.__globals__ is self.module:
            self._cache[fn] = (fn.__code__, new_fn)

    def get(self, g):
        """What to call for ``g``: never raises, never runs user code."""
        try:
            if type(g) is not _FunctionType:
                return g
            e = self._cache.get(g)
            if e is not None and e[0] is g.__code__:
                new = e[1]
                if new is g:
                    return g
            elif g.__globals__ is not self.module and not user_module(g.__globals__):
                return g
            else:
                new = None
            # Near the recursion limit, g runs as it is: the engine's hook
            # needs frames of its own, and CPython must meet the limit
            # exactly where it would (with the writes it would have made).
            if near_recursion_limit():
                return g
            if new is None:
                return self._judge(g)
            if new.__defaults__ is not g.__defaults__ or new.__kwdefaults__ is not g.__kwdefaults__:
                new.__defaults__ = g.__defaults__
                new.__kwdefaults__ = g.__kwdefaults__
            return new
        except Exception:
            return g

    def called_as_it_is(self, g) -> bool:
        """Whether ``g``, judged now, is called as it is (no nest and no call
        to intercept in it, or not a plain function of the module): the
        rewriter then leaves its calls without a trampoline. Judging a
        function rewrites it, and so judges the functions it calls, up to
        MAX_AHEAD deep; a function being rewritten keeps its trampolines."""
        try:
            e = self._cache.get(g)
            if e is None or e[0] is not g.__code__:
                if g in self._judging or len(self._judging) > MAX_AHEAD:
                    return False
                self._judging.add(g)
                try:
                    self._judge(g)
                finally:
                    self._judging.discard(g)
                e = self._cache.get(g)
            return e is not None and e[1] is g
        except Exception:
            return False

    def _as_it_is(self, g, why):
        self._cache[g] = (g.__code__, g)
        if why:
            self.why_not[g.__qualname__] = why
        return g

    def _judge(self, g):
        code = g.__code__
        if g.__globals__ is not self.module and not user_module(g.__globals__):
            return self._as_it_is(g, "")
        if code.co_flags & _NOT_PLAIN:
            return self._as_it_is(g, f"{g.__qualname__} is a generator or a coroutine, so it runs as it is")
        if code.co_freevars:
            return self._as_it_is(g, f"{g.__qualname__} reads variables of an enclosing function, so it runs as it is")
        if code.co_name == "<lambda>":
            return self._as_it_is(g, "")
        if len(self._cache) >= MAX_CALLEES:
            return self._as_it_is(g, f"more than {MAX_CALLEES} functions are called, so {g.__qualname__} runs as it is")
        try:
            new, nests = REWRITER.compile_function(g, self.hook, self.hook_declined, callees=self)
        except REWRITER.NotRewritable as why:
            return self._as_it_is(g, str(why))
        if type(new) is not _FunctionType or new.__code__.co_flags & _NOT_PLAIN:
            return self._as_it_is(g, "")
        if not nests and not _uses(new.__code__, self):
            return self._as_it_is(g, "")  # nothing to intercept in it
        self._cache[g] = (code, new)
        self.nests.extend(nests)
        return new


def table_or_none(callees) -> Optional[Table]:
    """``callees`` when it is a Table (``rewrite_function`` also takes True)."""
    return callees if isinstance(callees, Table) else None
