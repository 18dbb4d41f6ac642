"""What the rewriter does to ast trees over and over, faster than the
``ast`` and ``copy`` modules do it (this is much of what a function costs to
rewrite on its first call):

- ``walk(node)``: ``ast.walk`` (the same nodes in the same order, breadth
  first), without its generator of generators per node;
- ``children(node)``: ``list(ast.iter_child_nodes(node))``;
- ``copy_tree(node)``: ``copy.deepcopy(node)`` for a tree (every attribute
  copied, a node or list met twice copied once);
- ``same_tree(a, b)``: ``ast.dump(a) == ast.dump(b)``, without the strings.
"""

import ast
import copy
from collections import deque

_AST = ast.AST


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
