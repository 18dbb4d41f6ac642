"""``walk(node)``: ``ast.walk`` (the same nodes in the same order, breadth
first), without its generator of generators per node; ``children(node)``:
``list(ast.iter_child_nodes(node))`` likewise. The rewriter walks every nest
several times, so this is much of what a function costs to rewrite on its
first call."""

import ast
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
