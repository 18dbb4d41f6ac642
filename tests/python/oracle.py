"""Brute-force dependence oracle.

Runs a function on small inputs with every loop instrumented and every array
replaced by a tracing wrapper that records each element read and write (by
memory address, so views of one buffer meet) together with the iteration
vector of the enclosing loops. Scalars assigned in the function are traced
the same way. From the trace it derives, for every loop:

- whether any array location is touched in two different iterations of the
  loop (same iterations of the enclosing loops) with at least one write: a
  loop-carried dependence (flow, anti or output);
- whether a scalar read sees a value written in an earlier iteration of the
  loop (a carried flow dependence through a scalar);
- whether a scalar written in some iteration is not written by the last
  iteration (its value after the loop is then not "the last iteration's").

A loop with none of these is truly parallel. ``run_reordered`` runs the
function with one loop's iterations in reverse order, to check reductions
(and parallel loops) by their effect.
"""

import ast
import math
import operator
from collections import defaultdict

import numpy as np

__all__ = ["Oracle", "trace", "run_reordered", "instrument"]


class _Tracer:
    def __init__(self, reverse=None, record=True, mode="reverse"):
        self.mode = mode
        self.stack = []
        self.log = []
        self.reverse = reverse
        self.record = record
        self.trips = {}  # (prefix, lid) -> iterations

    def loop(self, lid, rng):
        seq = list(rng)
        idx = range(len(seq))
        if lid == self.reverse and len(seq) > 2:
            # every iteration but the last in another order, the last one
            # last: values left in private scalars are those of the last
            # iteration, as a parallel run with last-private scalars leaves them
            if self.mode == "rotate":
                h = (len(seq) - 1) // 2
                idx = list(range(h, len(seq) - 1)) + list(range(h)) + [len(seq) - 1]
            else:
                idx = list(reversed(range(len(seq) - 1))) + [len(seq) - 1]
        prefix = tuple(self.stack)
        self.stack.append((lid, 0))
        try:
            for c in idx:
                self.stack[-1] = (lid, c)
                yield seq[c]
            if self.record:  # only loops that completed
                self.trips[(prefix, lid)] = len(seq)
        finally:
            self.stack.pop()


class _TArray:
    __slots__ = ("a", "tr", "base", "shape", "strides")

    def __init__(self, a, tr):
        self.a = a
        self.tr = tr
        self.base = a.__array_interface__["data"][0]
        self.shape = a.shape
        self.strides = a.strides

    def _addr(self, idx):
        if not isinstance(idx, tuple):
            idx = (idx,)
        if len(idx) != len(self.shape):
            raise TypeError("tracing arrays support whole-element access only")
        addr = self.base
        for x, n, s in zip(idx, self.shape, self.strides):
            x = operator.index(x)
            if x < 0:
                x += n
            if x < 0 or x >= n:
                raise IndexError(f"index {x} is out of bounds for axis with size {n}")
            addr += x * s
        return addr

    def __getitem__(self, idx):
        addr = self._addr(idx)
        if self.tr.record:
            self.tr.log.append((addr, False, tuple(self.tr.stack)))
        return self.a[idx]

    def __setitem__(self, idx, v):
        addr = self._addr(idx)
        if self.tr.record:
            self.tr.log.append((addr, True, tuple(self.tr.stack)))
        self.a[idx] = v

    @property
    def ndim(self):
        return self.a.ndim


class _Scalars:
    def __init__(self, tr):
        object.__setattr__(self, "_tr", tr)
        object.__setattr__(self, "_v", {})

    def __getattr__(self, name):
        tr = object.__getattribute__(self, "_tr")
        v = object.__getattribute__(self, "_v")
        if name not in v:
            raise NameError(name)
        if tr.record:
            tr.log.append(("$" + name, False, tuple(tr.stack)))
        return v[name]

    def __setattr__(self, name, value):
        tr = object.__getattribute__(self, "_tr")
        if tr.record:
            tr.log.append(("$" + name, True, tuple(tr.stack)))
        object.__getattribute__(self, "_v")[name] = value


def instrument(source, name="kernel"):
    """Returns (code object factory, loops): loops is a list of
    {"lid", "var", "line"} in source (pre-)order."""
    tree = ast.parse(source)
    fdef = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    params = {a.arg for a in fdef.args.args}
    loops = []
    loop_vars = set()

    def visit_loops(node):
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.For)
                and isinstance(child.iter, ast.Call)
                and isinstance(child.iter.func, ast.Name)
                and child.iter.func.id == "range"
            ):
                lid = len(loops)
                loops.append({"lid": lid, "var": child.target.id, "line": child.lineno - fdef.lineno + 1})
                loop_vars.add(child.target.id)
                child.iter = ast.Call(
                    func=ast.Attribute(ast.Name("__tr", ast.Load()), "loop", ast.Load()),
                    args=[ast.Constant(lid), child.iter],
                    keywords=[],
                )
            visit_loops(child)

    visit_loops(fdef)
    assigned = set()
    for n in ast.walk(fdef):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            assigned.add(n.id)
    scalars = assigned - loop_vars - params

    class R(ast.NodeTransformer):
        def visit_Name(self, n):
            if n.id in scalars:
                return ast.copy_location(ast.Attribute(ast.Name("__sc", ast.Load()), n.id, n.ctx), n)
            return n

    fdef = R().visit(fdef)
    mod = ast.Module(body=[fdef], type_ignores=[])
    ast.fix_missing_locations(mod)
    code = compile(mod, "<oracle>", "exec")
    return code, loops


def _run(code, name, args, tracer):
    sc = _Scalars(tracer)
    ns = {"np": np, "math": math, "__tr": tracer, "__sc": sc}
    exec(code, ns)
    targs = [(_TArray(a, tracer) if isinstance(a, np.ndarray) else a) for a in args]
    exc = None
    try:
        ns[name](*targs)
    except Exception as e:  # the caller decides what an exception means
        exc = e
    return exc


class Oracle:
    """The trace of one run and what it implies for each loop."""

    def __init__(self, source, args, name="kernel"):
        self.code, self.loops = instrument(source, name)
        self.tracer = _Tracer()
        self.exception = _run(self.code, name, args, self.tracer)
        self._derive()

    def _derive(self):
        carried_array = set()
        carried_scalar = set()
        groups = defaultdict(lambda: [set(), set()])  # (loc, prefix, lid) -> [all counters, write counters]
        last_write = {}
        for loc, is_write, stack in self.tracer.log:
            if isinstance(loc, str):
                # scalar: carried flow = read whose reaching write is in another iteration
                if is_write:
                    last_write[loc] = stack
                else:
                    w = last_write.get(loc)
                    if w is not None:
                        for l in range(min(len(w), len(stack))):
                            if w[l] != stack[l]:
                                if w[l][0] == stack[l][0]:
                                    carried_scalar.add(stack[l][0])
                                break
                continue
            for l in range(len(stack)):
                g = groups[(loc, stack[:l], stack[l][0])]
                g[0].add(stack[l][1])
                if is_write:
                    g[1].add(stack[l][1])
        for (loc, prefix, lid), (allc, wc) in groups.items():
            if wc and len(allc) >= 2:
                carried_array.add(lid)
        self.carried_array = carried_array
        self.carried_scalar = carried_scalar

    def loop_vars(self):
        return {l["var"] for l in self.loops}

    def truly_parallel(self, lid):
        """No dependence carried by the loop. A scalar assigned in some
        iterations only is private (its value after the loop is the last
        assigning iteration's, which the parallel code keeps)."""
        return not self.carried(lid)

    def carried(self, lid):
        return lid in self.carried_array or lid in self.carried_scalar


def trace(source, args, name="kernel"):
    return Oracle(source, args, name)


def run_reordered(source, args, lid, name="kernel", mode="reverse"):
    """Runs the function with loop `lid`'s iterations reordered (all but the
    last in reverse order, then the last; no tracing).
    Returns the exception raised, if any; the arrays in `args` are updated."""
    code, _ = instrument(source, name)
    return _run(code, name, args, _Tracer(reverse=lid, record=False, mode=mode))
