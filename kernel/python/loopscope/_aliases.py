"""Other spellings of the math and NumPy functions the front end knows.

The front end (analysis/src/frontend.cpp) gives a meaning to ``math.f(...)``,
``np.f(...)`` and ``numpy.f(...)``. People also write ``import math as m;
m.sqrt(x)``, ``from math import sqrt; sqrt(x)``, ``import numpy as xp`` or
``from numpy import hypot as h``. Staged like the rest of the engine:

- when a nest is registered, each name it calls or reads an attribute of is
  resolved against what the code will see: the import statements of the cell
  or function being rewritten (they have not run yet), then the namespace it
  runs in (``Resolver``);
- the front end is given a copy of the nest in the canonical spelling
  (``canonical_copy``): ``m.sqrt`` becomes ``math.sqrt``, ``sqrt(x)``
  becomes ``math.sqrt(x)``;
- the name itself, with the object it was resolved to, becomes one of the
  nest's assumptions: ``_rewrite.bind_env`` checks by identity, every time the
  nest is about to run, that the name still is that object (the function
  taken when Loopscope was imported, not a later replacement), and otherwise
  runs the loop as plain Python.

A wrong guess therefore costs a decline, never a wrong result.
"""

import ast
import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import numpy
from ._walk import copy_tree, walk

MISSING = object()

# The canonical spelling of each module, as the front end reads it.
_MODULES = {"math": math, "np": numpy}
# Their attributes as they were when Loopscope was imported: the objects the
# compiled code implements.
SNAPSHOT = {"math": dict(vars(math)), "np": dict(vars(numpy))}
_CANONICAL_NAMES = ("math", "np", "numpy")
_IMPORTABLE = {"math": "math", "numpy": "np"}  # module name in an import -> canonical spelling


@dataclass(frozen=True)
class Meaning:
    """What a name stands for: a module (``attr`` None) or one of its
    functions, and the object the name must be when the nest runs."""

    module: str  # canonical spelling: "math" or "np"
    attr: Optional[str]
    obj: object

    def describe(self) -> str:
        if self.attr is None:
            return f"the {_MODULES[self.module].__name__} module"
        return f"{_MODULES[self.module].__name__}'s own {self.attr}"


def _reverse_table() -> Dict[int, Tuple[str, str]]:
    """id of each public function of math and NumPy -> (module, attribute)
    (the first spelling in alphabetical order)."""
    table: Dict[int, Tuple[str, str]] = {}
    for module, attrs in SNAPSHOT.items():
        for attr in sorted(attrs):
            value = attrs[attr]
            if callable(value) and not attr.startswith("_"):
                table.setdefault(id(value), (module, attr))
    return table


# Made with the snapshot (at import): a name found bound to one of these
# functions under another spelling (`from numpy import hypot as h`).
_reverse = _reverse_table()


def _meaning_of(obj, name: str) -> Optional[Meaning]:
    """The meaning of a value found in a namespace under ``name``."""
    for module, mod in _MODULES.items():
        if obj is mod:
            return Meaning(module, None, mod)
    if not callable(obj):
        return None
    for module, attrs in SNAPSHOT.items():  # the same spelling first: `from math import sqrt`
        if attrs.get(name, MISSING) is obj:
            return Meaning(module, name, obj)
    found = _reverse.get(id(obj))
    if found is None or SNAPSHOT[found[0]][found[1]] is not obj:
        return None
    return Meaning(found[0], found[1], obj)


def _imports_of(tree) -> Tuple[Dict[str, Optional[Meaning]], list]:
    """The names that the import statements of ``tree`` bind to math, NumPy
    or their functions (None for a name bound to two different things), and
    the modules imported with ``*``, in order."""
    bound: Dict[str, Optional[Meaning]] = {}
    stars = []

    def bind(name, meaning):
        if name in bound and bound[name] != meaning:
            bound[name] = None
        else:
            bound[name] = meaning

    for node in walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = _IMPORTABLE.get(alias.name)
                if alias.asname is not None:
                    bind(alias.asname, Meaning(module, None, _MODULES[module]) if module else None)
                elif "." not in alias.name and module is None:
                    bind(alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            module = _IMPORTABLE.get(node.module or "") if node.level == 0 else None
            for alias in node.names:
                if alias.name == "*":
                    if module:
                        stars.append(module)
                    continue
                name = alias.asname or alias.name
                value = SNAPSHOT[module].get(alias.name, MISSING) if module else MISSING
                bind(name, Meaning(module, alias.name, value) if value is not MISSING and callable(value) else None)
    return bound, stars


class Resolver:
    """Resolves the names of the code being rewritten: ``tree`` (its import
    statements) and ``namespace``, a function ``name -> value`` returning
    ``MISSING`` for an unbound name; ``module`` is the globals dict of that
    code (None when unknown)."""

    def __init__(self, tree=None, namespace: Optional[Callable[[str], object]] = None, module: Optional[dict] = None):
        self._imports, self._stars = _imports_of(tree)
        self._namespace = namespace
        self.module = module
        self.defs: dict = {}  # functions the code defines, not made yet (_inline.module_defs)

    def value(self, name: str):
        """The value ``name`` has where the code runs, or ``MISSING``."""
        if self._namespace is None:
            return MISSING
        try:
            return self._namespace(name)
        except Exception:
            return MISSING

    def meaning(self, name: str) -> Optional[Meaning]:
        if name in _CANONICAL_NAMES:
            return None  # the front end's own spelling
        if name in self._imports:
            return self._imports[name]
        value = self.value(name)
        if value is not MISSING:
            return _meaning_of(value, name)
        for module in reversed(self._stars):
            value = SNAPSHOT[module].get(name, MISSING)
            if value is not MISSING and callable(value):
                return Meaning(module, name, value)
        return None


def canonical_copy(node: ast.For, resolver: Resolver, builtins) -> Tuple[ast.For, Dict[str, Meaning]]:
    """``(node in the canonical spelling, {name: meaning})`` for the names of
    ``node`` that are other spellings of math or NumPy (``node`` itself, and
    no names, when there are none). Names the nest assigns, and the builtins
    the front end knows, keep their own meaning."""
    stored = {n.id for n in walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    used: Dict[str, Meaning] = {}

    def meaning(name, want_module):
        if name in stored or name in builtins:
            return None
        m = resolver.meaning(name)
        if m is None or (m.attr is None) != want_module:
            return None
        used[name] = m
        return m

    class Canonical(ast.NodeTransformer):
        def visit_Attribute(self, n):
            self.generic_visit(n)
            if isinstance(n.value, ast.Name) and meaning(n.value.id, True):
                m = used[n.value.id]
                n.value = ast.copy_location(ast.Name(m.module, ast.Load()), n.value)
            return n

        def visit_Call(self, n):
            self.generic_visit(n)
            if isinstance(n.func, ast.Name) and meaning(n.func.id, False):
                m = used[n.func.id]
                func = ast.Attribute(ast.Name(m.module, ast.Load()), m.attr, ast.Load())
                ast.copy_location(func.value, n.func)
                n.func = ast.copy_location(func, n.func)
            return n

    candidates = {
        n.value.id if isinstance(n, ast.Attribute) else n.func.id
        for n in walk(node)
        if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name))
        or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name))
    }
    if not any(resolver.meaning(c) for c in candidates if c not in stored and c not in builtins):
        return node, {}
    new = Canonical().visit(copy_tree(node))
    return new, used


def key_of(used: Dict[str, Meaning]) -> str:
    """What tells apart two nests equal in the canonical spelling."""
    if not used:
        return ""
    return repr(sorted((name, m.module, m.attr) for name, m in used.items()))
