"""What the rewriter does to ast trees over and over, faster than the
``ast`` and ``copy`` modules do it (this is much of what a function costs to
rewrite on its first call):

- ``walk(node)``: ``ast.walk`` (the same nodes in the same order, breadth
  first), without its generator of generators per node;
- ``children(node)``: ``list(ast.iter_child_nodes(node))``;
- ``copy_tree(node)``: ``copy.deepcopy(node)`` for a tree (every attribute
  copied, a node or list met twice copied once), but for the nodes without
  fields (Load, Store, Add, Not, Eq, And, ...), which are kept (shared, as
  ast.parse shares them);
- ``same_tree(a, b)``: ``ast.dump(a) == ast.dump(b)``, without the strings;
- ``element_uses(node, names)``: the uses of array names that only touch
  elements or read a size (``_fresh``, ``_rotations``).
"""

import ast
import copy
from collections import deque

_AST = ast.AST
# Nodes without fields, shared by ast.parse between all trees (one Load, one
# Add, ...): copy_tree keeps them.
_SHARED = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def walk(node):
    todo = deque((node,))
    pop, push = todo.popleft, todo.append
    while todo:
        node = pop()
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, _AST):
                push(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
        yield node


def children(node):
    out = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, _AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend(item for item in value if isinstance(item, _AST))
    return out


def parent_map(tree) -> dict:
    """``id(node) -> its parent`` for every node below ``tree``."""
    out = {}
    for n in walk(tree):
        for c in children(n):
            out[id(c)] = n
    return out


# Values deepcopy leaves as they are (and that compare equal exactly when
# their reprs do).
_ATOMIC = frozenset((str, int, bool, bytes, type(None), type(Ellipsis)))
_KEPT = _ATOMIC | {float, complex}


def copy_tree(node):
    memo = {}

    def copied(value):
        kind = type(value)
        key = id(value)
        got = memo.get(key)
        if got is not None:
            return got
        if kind is list:
            new = []
            memo[key] = new
            new.extend([item if type(item) in _KEPT else copied(item) for item in value])
            return new
        if isinstance(value, _SHARED):
            # Load, Store, Add, ... carry nothing: ast.parse shares one of
            # each between all trees, so attributes a library sets on every
            # node of one tree (executing's `parent`, which IPython's
            # tracebacks use) reach every tree through them; copying them
            # would copy that other tree too.
            return value
        if isinstance(value, _AST):
            new = kind.__new__(kind)
            memo[key] = new
            new.__dict__.update(
                {name: item if type(item) in _KEPT else copied(item) for name, item in value.__dict__.items()}
            )
            return new
        new = copy.deepcopy(value)
        memo[key] = new
        return new

    return node if type(node) in _KEPT else copied(node)


def same_tree(a, b) -> bool:
    kind = type(a)
    if kind is not type(b):
        return False
    if isinstance(a, _AST):
        for name in a._fields:
            if not same_tree(getattr(a, name, None), getattr(b, name, None)):
                return False
        return True
    if kind is list:
        return len(a) == len(b) and all(same_tree(x, y) for x, y in zip(a, b))
    if kind in _ATOMIC:
        return a == b
    return repr(a) == repr(b)


# What an array's size is read by: len(a), a.shape, a.size, a.ndim.
ARRAY_SIZE_ATTRS = frozenset(("shape", "size", "ndim"))


def element_uses(node, names):
    """``{id(Name node): its Subscript or None}`` for the uses of ``names``
    in ``node`` that subscript the array (the Subscript) or read its size
    (None: ``len(a)``, ``a.shape``, ``a.size``, ``a.ndim``)."""
    uses = {}
    for n in walk(node):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id in names:
            uses[id(n.value)] = n
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in names:
            if n.attr in ARRAY_SIZE_ATTRS and isinstance(n.ctx, ast.Load):
                uses[id(n.value)] = None
        elif (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id == "len"
            and len(n.args) == 1
            and not n.keywords
            and isinstance(n.args[0], ast.Name)
            and n.args[0].id in names
        ):
            uses[id(n.args[0])] = None
    return uses
