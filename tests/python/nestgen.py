"""Deterministic random loop nests for differential tests.

``generate(seed)`` returns ``(source, make_args)``: the source of a function
``kernel(...)`` holding one or two loop nests over NumPy arrays, and a
callable returning fresh arguments for it (always the same values for a
seed). Nests have depth 1 to 4, affine and non-affine subscripts with offsets
and strides, triangular bounds, negative steps, negative indices (Python's
wrap-around), conditionals, scalars (private, reductions, recurrences) and
arguments that are views of one buffer. Subscripts stay in range unless the
nest is generated "out of range" on purpose (about 1 in 12 seeds), in which
case the Python run may raise IndexError.

``make_function(source)`` compiles the source so that ``inspect.getsource``
works on the result (as it does for functions in a notebook cell).
"""

import linecache
import math
import random

import numpy as np

__all__ = ["generate", "make_function", "describe"]


class _Gen:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.n = self.r.randint(3, 6)
        self.m = self.r.randint(2, 5)
        self.arrays = {}      # name -> {"ndim", "need": [[neg, hi+1], ...]}
        self.lines = []
        self.scalars_used = set()
        self.var_pool = ["i", "j", "k", "l"]
        self.features = set()

    # --- expressions -----------------------------------------------------
    def interval_sub(self, text_terms, lo, hi):
        return lo, hi

    def subscript(self, scope):
        """Returns (text, lo, hi) of one index expression."""
        r = self.r
        vars_ = scope[:]
        choice = r.random()
        if not vars_ or choice < 0.08:
            c = r.choice([0, 1, -1])
            if c < 0:
                self.features.add("negative index")
            return str(c), c, c
        if choice < 0.75:
            # affine: a*v (+ b*w) + c
            terms = []
            lo = hi = 0
            used = r.sample(vars_, min(len(vars_), r.choice([1, 1, 1, 2])))
            for (v, vlo, vhi) in used:
                a = r.choice([1, 1, 1, 2, -1])
                terms.append((a, v))
                lo += min(a * vlo, a * vhi)
                hi += max(a * vlo, a * vhi)
            c = r.choice([0, 0, 0, 1, -1, 2, -2])
            if r.random() < 0.1:
                c -= 3
            text = ""
            for a, v in terms:
                if a == 1:
                    text += (" + " if text else "") + v
                elif a == -1:
                    text += (" - " if text else "-") + v
                else:
                    text += (" + " if text else "") + f"{a} * {v}"
            if c > 0:
                text += f" + {c}"
            elif c < 0:
                text += f" - {-c}"
            lo += c
            hi += c
            if lo < 0:
                self.features.add("negative index")
            if any(a != 1 for a, _ in terms):
                self.features.add("strided subscript")
            return text, lo, hi
        # non-affine
        self.features.add("non-affine subscript")
        (v, vlo, vhi) = r.choice(vars_)
        kind = r.randrange(3)
        if kind == 0 and len(vars_) >= 2:
            (w, wlo, whi) = r.choice([x for x in vars_ if x[0] != v])
            k = r.choice([2, 3, 4])
            return f"({v} * {w}) % {k}", 0, k - 1
        if kind == 1:
            lo = math.floor(vlo / 2)
            hi = math.floor(vhi / 2)
            return f"{v} // 2", lo, hi
        return f"{v} * {v}", 0 if vlo <= 0 <= vhi else min(vlo * vlo, vhi * vhi), max(vlo * vlo, vhi * vhi)

    def ref(self, scope, name=None):
        if name is None:
            name = self.r.choice(sorted(self.arrays))
        arr = self.arrays[name]
        parts = []
        for d in range(arr["ndim"]):
            text, lo, hi = self.subscript(scope)
            need = arr["need"][d]
            need[0] = max(need[0], -lo if lo < 0 else 0)
            need[1] = max(need[1], hi + 1)
            parts.append(text)
        return f"{name}[{', '.join(parts)}]"

    def operand(self, scope, depth=0):
        r = self.r
        x = r.random()
        if x < 0.55:
            return self.ref(scope)
        if x < 0.7 and scope:
            return f"{r.choice(scope)[0]} * 0.25"
        if x < 0.82:
            s = r.choice(["s", "t"])
            self.scalars_used.add(s)
            return s
        return repr(r.choice([0.5, 1.0, 2.0, 0.125, 3.0]))

    def expr(self, scope, depth=0):
        r = self.r
        if depth >= 2 or r.random() < 0.35:
            return self.operand(scope)
        x = r.random()
        a = self.expr(scope, depth + 1)
        b = self.expr(scope, depth + 1)
        if x < 0.75:
            op = r.choice(["+", "-", "*"])
            return f"({a} {op} {b})"
        if x < 0.88:
            return f"min({a}, {b})"
        return f"math.sqrt(abs({a}))"

    # --- statements ------------------------------------------------------
    def statement(self, scope, indent):
        r = self.r
        pad = "    " * indent
        x = r.random()
        if x < 0.45:
            op = r.choice(["=", "=", "+=", "-=", "*="])
            return [f"{pad}{self.ref(scope)} {op} {self.expr(scope)}"]
        if x < 0.55:
            self.scalars_used.add("s")
            self.features.add("scalar reduction")
            form = r.randrange(3)
            if form == 0:
                return [f"{pad}s += {self.expr(scope)}"]
            if form == 1:
                return [f"{pad}s = max(s, {self.expr(scope)})"]
            return [f"{pad}s = s * 0.5 + {self.expr(scope)}"]
        if x < 0.68:
            self.scalars_used.add("t")
            self.features.add("private scalar")
            return [f"{pad}t = {self.expr(scope)}", f"{pad}{self.ref(scope)} = t + 1.0"]
        if x < 0.8:
            self.features.add("conditional")
            out = [f"{pad}if {self.ref(scope)} > 0.5:"]
            out += self.statement(scope, indent + 1)
            if r.random() < 0.5:
                out.append(f"{pad}else:")
                out += self.statement(scope, indent + 1)
            return out
        if x < 0.84:
            # an integer scalar assigned in the nest and used as a subscript
            self.features.add("computed subscript")
            name = r.choice(sorted(self.arrays))
            arr = self.arrays[name]
            text, lo, hi = self.subscript(scope)
            need = arr["need"][0]
            need[0] = max(need[0], -lo if lo < 0 else 0)
            need[1] = max(need[1], hi + 1)
            rest = self.ref(scope, name)
            rest_idx = rest[len(name) + 1:-1].split(", ")[1:]
            target = f"{name}[{', '.join(['p'] + rest_idx)}]"
            return [f"{pad}p = {text}", f"{pad}{target} = {self.expr(scope)}"]
        if x < 0.9:
            self.features.add("array accumulation")
            name = r.choice(sorted(self.arrays))
            target = self.ref(scope, name)
            return [f"{pad}{target} += {self.expr(scope)}"]
        self.features.add("min/max accumulation")
        name = r.choice(sorted(self.arrays))
        target = self.ref(scope, name)
        return [f"{pad}{target} = max({target}, {self.expr(scope)})"]

    def loop_header(self, scope, var):
        """Returns (text, lo, hi) for `for var in range(...)`."""
        r = self.r
        n = self.n
        if scope and r.random() < 0.4:
            self.features.add("triangular")
            (o, olo, ohi) = r.choice(scope)
            form = r.randrange(4)
            if form == 0:
                return f"range({o}, n)", olo, n - 1
            if form == 1:
                return f"range({o} + 1)", 0, ohi
            if form == 2:
                self.features.add("negative step")
                return f"range(n - 1, {o}, -1)", olo + 1, n - 1
            return f"range(0, {o}, 2)", 0, max(0, ohi - 1)
        form = r.randrange(6)
        if form == 0:
            return "range(n)", 0, n - 1
        if form == 1:
            return "range(1, n)", 1, n - 1
        if form == 2:
            self.features.add("negative step")
            return "range(n - 1, -1, -1)", 0, n - 1
        if form == 3:
            self.features.add("stride")
            return "range(0, n, 2)", 0, n - 1
        if form == 4:
            return "range(m)", 0, self.m - 1
        self.features.add("negative step")
        return "range(m, 0, -2)", 1, self.m

    def nest(self, depth, scope, indent, level=0):
        var = self.var_pool[level]
        header, lo, hi = self.loop_header(scope, var)
        pad = "    " * indent
        out = [f"{pad}for {var} in {header}:"]
        inner_scope = scope + [(var, min(lo, hi), max(lo, hi))]
        before = self.r.randint(0 if depth > 1 else 1, 2)
        for _ in range(before):
            out += self.statement(inner_scope, indent + 1)
        if depth > 1:
            out += self.nest(depth - 1, inner_scope, indent + 1, level + 1)
            if self.r.random() < 0.3:
                self.features.add("imperfect nest")
                out += self.statement(inner_scope, indent + 1)
        return out

    def build(self):
        r = self.r
        names = ["A", "B", "C"][: r.randint(1, 3)]
        for name in names:
            ndim = r.choice([1, 1, 2, 2, 3]) if name != "C" else r.choice([1, 2])
            self.arrays[name] = {"ndim": ndim, "need": [[0, 1] for _ in range(ndim)]}
        depth = r.choice([1, 2, 2, 3, 3, 4])
        body = self.nest(depth, [], 1)
        if r.random() < 0.2:
            self.features.add("two nests")
            body += self.nest(r.choice([1, 2]), [], 1)
        params = names + ["n", "m"]
        lines = [f"def kernel({', '.join(params)}):"]
        lines.append("    s = 0.0")
        lines.append("    t = 1.0")
        lines += body
        source = "\n".join(lines) + "\n"
        return source, self.arg_maker(names)

    def arg_maker(self, names):
        r = self.r
        shapes = {}
        for name in names:
            shapes[name] = [max(neg, hi) for neg, hi in self.arrays[name]["need"]]
        oob = r.random() < 1 / 12
        if oob:
            name = r.choice(names)
            d = r.randrange(len(shapes[name]))
            if shapes[name][d] > 1:
                shapes[name][d] -= 1
                self.features.add("out of range")
        # Alias plan: B (and C) may be views of A's buffer when ndim matches.
        plan = {}
        for name in names[1:]:
            if self.arrays[name]["ndim"] == self.arrays["A"]["ndim"] and r.random() < 0.35:
                kind = r.choice(["same", "offset", "reversed", "transpose", "strided"])
                if kind == "same" and shapes[name] != shapes["A"]:
                    kind = "offset"
                if kind == "transpose" and self.arrays[name]["ndim"] < 2:
                    kind = "reversed"
                plan[name] = (kind, r.randint(0, 2))
                self.features.add("aliasing")
        seed = self.seed
        n, m = self.n, self.m

        def make_args():
            g = np.random.default_rng(seed)
            arrays = {}
            A_shape = shapes["A"]
            extra = [2] * len(A_shape)
            base_shape = [a + e for a, e in zip(A_shape, extra)]
            for name in names[1:]:
                if name in plan:
                    kind, off = plan[name]
                    sh = shapes[name] if kind != "transpose" else shapes[name][::-1]
                    base_shape = [max(b, s + off) for b, s in zip(base_shape, sh)]
            base = g.random(tuple(base_shape))
            arrays["A"] = base[tuple(slice(0, s) for s in A_shape)]
            for name in names[1:]:
                if name in plan:
                    kind, off = plan[name]
                    sh = shapes[name]
                    if kind == "same":
                        arrays[name] = arrays["A"]
                    elif kind == "offset":
                        arrays[name] = base[tuple(slice(off, off + s) for s in sh)]
                    elif kind == "strided":
                        # rows that overlap in memory (a self-overlapping view)
                        flat = base.reshape(-1)
                        row = max(1, sh[-1] - 1)
                        strides = [row * 8] * (len(sh) - 1) + [8]
                        need = sum((e - 1) * st // 8 for e, st in zip(sh, strides)) + 1
                        if need <= flat.size:
                            arrays[name] = np.lib.stride_tricks.as_strided(flat, shape=tuple(sh), strides=tuple(strides),
                                                                           writeable=True)
                        else:
                            arrays[name] = base[tuple(slice(0, x) for x in sh)]
                    elif kind == "reversed":
                        v = base[tuple(slice(off, off + s) for s in sh)]
                        arrays[name] = v[::-1]
                    else:
                        v = base[tuple(slice(off, off + s) for s in sh[::-1])]
                        arrays[name] = v.T
                else:
                    arrays[name] = g.random(tuple(shapes[name]))
            return tuple(arrays[nm] for nm in names) + (n, m)

        return make_args


def generate(seed):
    """Returns ``(source, make_args)`` for this seed (deterministic)."""
    src, make_args = _Gen(seed).build()
    return src, make_args


def describe(seed):
    """The features the nest of this seed exercises (for messages)."""
    g = _Gen(seed)
    g.build()
    return sorted(g.features)


_counter = [0]


def make_function(source, name="kernel", filename=None):
    """Compiles `source` and returns the function `name`; inspect.getsource
    works on it."""
    _counter[0] += 1
    if filename is None:
        filename = f"<nestgen-{_counter[0]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"np": np, "math": math}
    exec(compile(source, filename, "exec"), ns)
    return ns[name]
