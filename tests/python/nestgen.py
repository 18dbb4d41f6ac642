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

``generate(seed, extras=True)`` (and ``describe(seed, extras=True)``) adds,
without changing what ``generate(seed)`` gives: integer arguments ``p0``,
``p1``, ... used as symbolic subscript offsets (negative ones too, so
``A[i + p0]`` may wrap as Python's negative indices do) and as ``range()``
starts, stops and steps (negative steps included); arguments that are views
of one buffer in more ways (the first array itself offset, reversed, every
second row or transposed; others overlapping it from before or after, every
second row, reversed, transposed, overlapping rows); and NaN, +-inf and
-0.0 in the data.

``generate(seed, extras, indirect=True)`` (and ``describe``) adds indirect
subscripts: integer index arrays ``I`` and ``J`` (int64 or int32, arguments
after the data arrays) read inside subscripts (``A[I[i], j]``, ``B[I[I[k]]]``,
``C[J[i - 1]] += ...``, ``p = I[j]`` then ``A[p]``), ``int(...)`` of a float
element as a subscript (``A[int(B[i] * 3)]``), statements that write an
index array (``I[i] = I[j + 1]``), integer histograms (``H[I[i]] += 1``,
``H[j] = H[j] + i``), index values with repeats and negative ones, and now
and then one value out of range (IndexError mid-loop). The
decisions about them come from a random stream of their own.

``generate(seed, extras, indirect, tuples=True)`` (and ``describe``) adds
tuple assignments: swaps of two elements of one array or of two arrays
(``A[i, j], A[j, i] = A[j, i], A[i, j]``, equal subscripts at some
iterations), of scalars (``s, t = t, s``), of an element and a scalar
(``t, B[k] = B[k], t``), values that read what an earlier target writes
(``s, t = t + A[i], s * 0.5``), three targets, parenthesised, list and nested
targets. Their decisions come from a random stream of their own;
the expressions in them are drawn as elsewhere, so the rest of the nest
differs from the one without them.

``make_function(source)`` compiles the source so that ``inspect.getsource``
works on the result (as it does for functions in a notebook cell).
"""

import linecache
import math
import random
import textwrap

import numpy as np

__all__ = ["generate", "make_function", "describe"]


# (no huge finite values: a parallel sum may then overflow in one order and not
# in another, a difference of reassociation the tests allow only approximately)
SPECIAL_VALUES = [math.nan, math.inf, -math.inf, -0.0, 0.0]


# Every generated kernel returns its scalars (loop variables, privates,
# accumulators, arguments) as they are after the nests, so the values Python
# leaves in variables are compared too, not only the arrays.
RETURN_SCALARS = "    return {k: v for k, v in dict(locals()).items() if not isinstance(v, np.ndarray)}"


class _Gen:
    def __init__(self, seed, extras=False, indirect=False, tuples=False, control=False, bounds=False, distinct=False):
        self.seed = seed
        self.bounds = bounds
        self.distinct = distinct
        self.rb = random.Random(seed * 104729 + 7)  # min/max and opaque bounds only
        self.extras = extras
        self.indirect = indirect
        self.tuples = tuples
        self.control = control
        self.rc = random.Random(seed * 15485863 + 31)  # while loops, break and continue only
        self.whiles = 0
        self.rt = random.Random(seed * 7919 + 23)  # tuple assignments only
        self.ri = random.Random(seed * 1000003 + 17)  # indirect subscripts only
        self.index_arrays = {}  # name -> {"need", "dtype", "lo", "hi", "bad"}
        self.indirect_depth = 0
        self.sym = []  # integer arguments p0, p1, ...: [(name, value)]
        self.r = random.Random(seed)
        self.n = self.r.randint(3, 6)
        self.m = self.r.randint(2, 5)
        self.arrays = {}  # name -> {"ndim", "need": [[neg, hi+1], ...]}
        self.lines = []
        self.scalars_used = set()
        self.var_pool = ["i", "j", "k", "l"]
        self.features = set()

    # --- expressions -----------------------------------------------------
    def interval_sub(self, text_terms, lo, hi):
        return lo, hi

    def sym_arg(self, value):
        """A new integer argument holding `value`; returns its name."""
        name = f"p{len(self.sym)}"
        self.sym.append((name, value))
        return name

    def index_array(self, name):
        """The integer index array `name`, made on first use: its values lie
        in [lo, hi] (negative ones wrap), one of them out of range now and
        then ("bad")."""
        ri = self.ri
        if name not in self.index_arrays:
            lo = ri.choice([0, 0, -1, -2])
            bad = None
            if ri.random() < 0.08:
                bad = ri.choice([5, -9])
                self.features.add("indirect subscript out of range")
            self.index_arrays[name] = {
                "need": [0, 1],
                "dtype": ri.choice(["int64", "int64", "int32"]),
                "lo": lo,
                "hi": ri.choice([1, 2, 3]),
                "bad": bad,
                "distinct": False,
            }
            # Distinct values (a permutation's prefix) now and then, for the
            # inspector that lets writes through them run in parallel.
            if self.distinct and random.Random(self.seed * 97 + len(name) + ord(name[0])).random() < 0.6:
                self.index_arrays[name].update(lo=0, hi=11, distinct=True)
                self.features.add("distinct index values")
            if lo < 0:
                self.features.add("negative index")
        return self.index_arrays[name]

    def indirect_subscript(self, scope):
        """(text, lo, hi) of a subscript that reads an array: an index array
        element or int() of a float element."""
        ri = self.ri
        self.indirect_depth += 1
        try:
            if ri.random() < 0.8 or not self.arrays:
                name = "I" if ri.random() < 0.7 else "J"
                info = self.index_array(name)
                text, lo, hi = self.subscript(scope)
                info["need"][0] = max(info["need"][0], -lo if lo < 0 else 0)
                info["need"][1] = max(info["need"][1], hi + 1)
                self.features.add("indirect subscript")
                return f"{name}[{text}]", info["lo"], info["hi"]
            k = ri.choice([2, 3])
            self.features.add("int() subscript")
            return f"int({self.ref(scope)} * {k})", 0, k - 1
        finally:
            self.indirect_depth -= 1

    def subscript(self, scope):
        """Returns (text, lo, hi) of one index expression."""
        if self.indirect and self.indirect_depth < 2 and self.ri.random() < (0.18 if not self.indirect_depth else 0.1):
            return self.indirect_subscript(scope)
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
            for v, vlo, vhi in used:
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
            if self.extras and r.random() < 0.35:
                value = r.choice([-3, -2, -1, 0, 1, 2, 3])
                sign = r.choice([1, -1])
                name = self.sym_arg(value)
                text += f" + {name}" if sign > 0 else f" - {name}"
                lo += sign * value
                hi += sign * value
                self.features.add("symbolic offset")
                if sign * value < 0:
                    self.features.add("negative symbolic offset")
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
        if self.indirect and self.ri.random() < 0.06:
            # an integer histogram: H accumulates integer terms, never read
            # otherwise (a reduction in any loop, whatever its subscript)
            ri = self.ri
            if "H" not in self.index_arrays:
                self.index_arrays["H"] = {"need": [0, 1], "dtype": ri.choice(["int64", "int32"]), "lo": 0, "hi": 3}
                self.index_arrays["H"]["bad"] = None
            info = self.index_arrays["H"]
            text, lo, hi = self.subscript(scope)
            info["need"][0] = max(info["need"][0], -lo if lo < 0 else 0)
            info["need"][1] = max(info["need"][1], hi + 1)
            terms = ["1", "-2", "3"] + [v for v, _, _ in scope]
            term = ri.choice(terms)
            self.features.add("integer histogram")
            if ri.random() < 0.7:
                return [f"{pad}H[{text}] += {term}"]
            return [f"{pad}H[{text}] = H[{text}] + {term}"]
        if self.indirect and self.index_arrays.keys() - {"H"} and self.ri.random() < 0.07:
            # an index array written in the nest: values copied within it
            name = self.ri.choice(sorted(self.index_arrays.keys() - {"H"}))
            info = self.index_arrays[name]
            self.indirect_depth += 2  # plain subscripts here
            try:
                subs = [self.subscript(scope) for _ in range(2)]
            finally:
                self.indirect_depth -= 2
            for _, lo, hi in subs:
                info["need"][0] = max(info["need"][0], -lo if lo < 0 else 0)
                info["need"][1] = max(info["need"][1], hi + 1)
            self.features.add("index array written")
            return [f"{pad}{name}[{subs[0][0]}] = {name}[{subs[1][0]}]"]
        if self.tuples and self.rt.random() < 0.25:
            return self.tuple_statement(scope, indent)
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
            self.indirect_depth += 2  # plain subscripts: split at ", " below
            try:
                rest = self.ref(scope, name)
            finally:
                self.indirect_depth -= 2
            rest_idx = rest[len(name) + 1 : -1].split(", ")[1:]
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

    def control_flow(self, scope, indent, level):
        """Sometimes a while loop with a counter of its own (bounded, or
        `while True` left by a break), a break or a continue of the loop
        being built (see generate's ``control``); the statements after it in
        the loop body then run only in some iterations."""
        rc = self.rc
        pad = "    " * indent
        out = []
        x = rc.random()
        if x < 0.45:
            self.features.add("while loop")
            w = f"w{self.whiles}"
            self.whiles += 1
            bound = rc.choice(["2", "3", "m", "m - 1", f"{scope[-1][0]} % 3"])
            body = [f"{pad}    {w} += 1"]
            if rc.random() < 0.3:
                self.features.add("while True")
                out += [f"{pad}{w} = 0", f"{pad}while True:"]
                body.append(f"{pad}    if {w} > {bound}:")
                body.append(f"{pad}        break")
            else:
                cond = f"{w} < {bound}"
                if rc.random() < 0.4:
                    self.features.add("while condition reads an element")
                    cond += f" and {self.ref(scope)} < 1.5"
                out += [f"{pad}{w} = 0", f"{pad}while {cond}:"]
            for _ in range(rc.randint(1, 2)):
                body += self.statement(scope, indent + 1)
            if rc.random() < 0.35:
                self.features.add("break in a while")
                body += [f"{pad}    if {self.ref(scope)} > 0.8:", f"{pad}        break"]
                body += self.statement(scope, indent + 1)
            out += body
            if rc.random() < 0.2:
                self.features.add("while else")
                out.append(f"{pad}else:")
                out += self.statement(scope, indent + 1)
        elif x < 0.7:
            jump = rc.choice(["break", "continue"])
            self.features.add(jump + (" in the outermost loop" if level == 0 else ""))
            out += [f"{pad}if {self.ref(scope)} > {rc.choice(['0.3', '0.6', '0.9'])}:", f"{pad}    {jump}"]
        return out

    def tuple_statement(self, scope, indent):
        """One tuple assignment (see generate's ``tuples``)."""
        rt = self.rt
        pad = "    " * indent
        self.features.add("tuple assignment")
        self.scalars_used.update(("s", "t"))
        form = rt.randrange(8)
        if form == 0:
            # two elements of one array swapped (equal at some iterations)
            name = rt.choice(sorted(self.arrays))
            a, b = self.ref(scope, name), self.ref(scope, name)
            self.features.add("swap")
            return [f"{pad}{a}, {b} = {b}, {a}"]
        if form == 1:
            a, b = self.ref(scope), self.ref(scope)
            self.features.add("swap")
            return [f"{pad}{a}, {b} = {b}, {a}"]
        if form == 2:
            self.features.add("swap")
            return [f"{pad}s, t = t, s"]
        if form == 3:
            a = self.ref(scope)
            return [f"{pad}t, {a} = {a}, t" if rt.random() < 0.5 else f"{pad}{a}, t = t, {a} * 0.5"]
        if form == 4:
            # values that read the earlier targets' old values
            return [f"{pad}s, t = t + {self.expr(scope)}, s * 0.5"]
        if form == 5:
            a, b = self.ref(scope), self.ref(scope)
            return [f"{pad}{a}, s, {b} = {self.expr(scope)}, {b} + s, {a}"]
        if form == 6:
            a = self.ref(scope)
            shape = rt.randrange(3)
            if shape == 0:
                return [f"{pad}(t, {a}) = {a} * 2.0, t + 1.0"]
            if shape == 1:
                return [f"{pad}[t, {a}] = [{a} - t, t]"]
            return [f"{pad}(t, {a}), s = ({a}, s), t"]
        a = self.ref(scope)
        return [f"{pad}{a}, t = {self.expr(scope)}, {a}"]

    def symbolic_header(self):
        """range() with a start, stop and step among the integer arguments."""
        r = self.r
        n = self.n
        step = r.choice([1, 2, 3, -1, -2, -3])
        if step > 0:
            start = r.choice([0, 1, 2, -1])
            stop = r.choice([n, n - 1, n + 1 if start >= 0 else n - 1])
        else:
            start = r.choice([n - 1, n - 2])
            stop = r.choice([-1, 0, 1])
        parts = []
        for value, lit in ((start, None), (stop, "n" if stop == n else None)):
            if lit and r.random() < 0.5:
                parts.append(lit)
            else:
                parts.append(self.sym_arg(value))
        parts.append(self.sym_arg(step))
        self.features.add("symbolic step")
        if step < 0:
            self.features.add("negative step")
        values = list(range(start, stop, step))
        if not values:
            self.features.add("empty loop")
            values = [max(start, 0)]
        if min(values) < 0:
            self.features.add("negative index")
        return f"range({', '.join(parts)})", min(values), max(values)

    def bounds_header(self, scope):
        """(text, lo, hi) of a range() whose bounds are not one affine form
        each: min/max clipping it (affine alternatives), or opaque bounds
        (a product or a modulo of loop variables, a max where the loop
        stops). lo and hi cover every value the variable can take."""
        rb, n, m = self.rb, self.n, self.m
        k = rb.randint(1, 3)
        if scope and rb.random() < 0.7:
            o, olo, ohi = rb.choice(scope)
            form = rb.randrange(9)
            if form == 7:
                self.features.add("opaque: step of a loop variable")
                return f"range(0, n, {o} % 3 + 1)", 0, n - 1
            if form == 8:
                self.features.add("opaque: negative step of a loop variable")
                return f"range(n - 1, -1, -({o} % 2) - 1)", 0, n - 1
            if form == 0:
                self.features.add("clipped by min")
                return f"range({o}, min({o} + {k}, n))", olo, n - 1
            if form == 1:
                self.features.add("clipped by min and max")
                return f"range(max(0, {o} - {k}), min(n, {o} + {k} + 1))", 0, n - 1
            if form == 2:
                self.features.add("clipped, negative step")
                return f"range(min(n - 1, {o} + {k}), max(-1, {o} - {k} - 1), -1)", 0, n - 1
            if form == 3:
                self.features.add("opaque: product")
                return f"range({o} * {o} % n, n)", 0, n - 1
            if form == 4:
                self.features.add("opaque: modulo start")
                return f"range(({o} + {k}) % 2, n, 2)", 0, n - 1
            if form == 5:
                self.features.add("opaque: max at the stop")
                return f"range({o}, max({o} + 1, m))", olo, max(ohi + 1, m) - 1
            self.features.add("opaque: modulo stop, negative step")
            return f"range(n - 1, {o} % 3 - 1, -1)", 0, n - 1
        form = rb.randrange(3)
        if form == 0:
            self.features.add("clipped by min")
            return "range(min(n, m + 1))", 0, min(n, m + 1) - 1
        if form == 1:
            self.features.add("clipped, strided")
            return f"range(0, min(n, m + {k}), 2)", 0, max(0, min(n, m + k) - 1)
        self.features.add("clipped by max")
        return f"range(max(0, m - {k}), n)", max(0, m - k), n - 1

    def loop_header(self, scope, var):
        """Returns (text, lo, hi) for `for var in range(...)`."""
        r = self.r
        n = self.n
        if self.bounds and self.rb.random() < 0.5:
            return self.bounds_header(scope)
        if self.extras and r.random() < 0.3:
            return self.symbolic_header()
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
        if self.control:
            out += self.control_flow(inner_scope, indent + 1, level)
        if depth > 1:
            out += self.nest(depth - 1, inner_scope, indent + 1, level + 1)
            if self.r.random() < 0.3:
                self.features.add("imperfect nest")
                out += self.statement(inner_scope, indent + 1)
        return out

    def build(self):
        r = self.r
        if self.extras and not self.tuples and r.random() < 0.3:
            return self.build_dense()
        names = ["A", "B", "C"][: r.randint(1, 3)]
        for name in names:
            ndim = r.choice([1, 1, 2, 2, 3]) if name != "C" else r.choice([1, 2])
            self.arrays[name] = {"ndim": ndim, "need": [[0, 1] for _ in range(ndim)]}
        depth = r.choice([1, 2, 2, 3, 3, 4])
        body = self.nest(depth, [], 1)
        if r.random() < 0.2:
            self.features.add("two nests")
            body += self.nest(r.choice([1, 2]), [], 1)
        index_names = sorted(self.index_arrays)
        params = names + index_names + ["n", "m"] + [name for name, _ in self.sym]
        lines = [f"def kernel({', '.join(params)}):"]
        lines.append("    s = 0.0")
        lines.append("    t = 1.0")
        lines += body
        lines.append(RETURN_SCALARS)
        source = "\n".join(lines) + "\n"
        return source, self.with_index_arrays(self.arg_maker(names), len(names))

    def with_index_arrays(self, make_args, after):
        """make_args with the index arrays inserted after the first `after`
        arguments (their values from a generator of their own, so that the
        data arrays are those of the nest without them)."""
        if not self.index_arrays:
            return make_args
        specs = [(name, dict(info)) for name, info in sorted(self.index_arrays.items())]
        seed = self.seed

        def make():
            args = make_args()
            g = np.random.default_rng(seed + 7777)
            extra = []
            for _, info in specs:
                size = max(info["need"][0], info["need"][1])
                values = g.integers(info["lo"], info["hi"] + 1, size=size)
                if info.get("distinct") and size <= info["hi"] + 1:
                    values = g.permutation(info["hi"] + 1)[:size]
                if info["bad"] is not None:
                    values[g.integers(0, size)] = info["bad"]
                extra.append(values.astype(info["dtype"]))
            return args[:after] + tuple(extra) + args[after:]

        return make

    def arg_maker(self, names):
        if self.extras:
            return self.arg_maker_extras(names)
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
                            arrays[name] = np.lib.stride_tricks.as_strided(
                                flat, shape=tuple(sh), strides=tuple(strides), writeable=True
                            )
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

    # --- dense kernels (extras) -------------------------------------------
    def build_dense(self):
        """A kernel-shaped nest at a larger size: a perfect 2- or 3-deep nest
        (column walks, row reductions, stencils, gemm, running max) of the
        shapes the CPU code generator interchanges, unrolls and jams or
        vectorises, with symbolic offsets and inner steps, arguments that
        may be views of one buffer (transposed, shifted, the same array) and
        NaN/inf/-0.0 in the data. Every subscript stays in range."""
        r = self.r
        self.features.add("dense kernel")
        n, m = r.randint(5, 40), r.randint(3, 40)
        size = max(n, m) + 4

        def off():
            value = r.choice([-3, -2, -1, 0, 1, 2, 3])
            if value < 0:
                self.features.add("negative symbolic offset")
            self.features.add("symbolic offset")
            return self.sym_arg(value)

        def inner(var, stop):
            if r.random() < 0.4:
                self.features.add("symbolic step")
                step = r.choice([1, 2, 3, -1, -2])
                if step > 0:
                    return f"range({self.sym_arg(r.choice([0, 1]))}, {stop}, {self.sym_arg(step)})"
                self.features.add("negative step")
                return f"range({stop} - 1, {self.sym_arg(r.choice([-1, 0]))}, {self.sym_arg(step)})"
            return f"range({stop})"

        c = r.choice(["0.5", "2.0", "-1.5", "0.25"])
        kind = r.choice(
            [
                "column walk",
                "row reduction",
                "row reduction (scalar)",
                "stencil",
                "gemm",
                "running max",
                "transpose copy",
            ]
        )
        self.features.add(kind)
        pad = "    "
        if kind == "column walk":
            a, b = off(), off()
            body = [
                "for i in range(n):",
                f"{pad}for j in {inner('j', 'm')}:",
                f"{pad * 2}A[j + {a}, i] = B[j, i + {b}] * {c} + A[j + {a}, i]",
            ]
        elif kind == "row reduction":
            b = off()
            op = r.choice(["+=", "-="])
            body = [
                "for i in range(n):",
                f"{pad}for j in {inner('j', 'm')}:",
                f"{pad * 2}y[i] {op} B[i, j + {b}] * x[j]",
            ]
        elif kind == "row reduction (scalar)":
            b = off()
            body = [
                "for i in range(n):",
                f"{pad}t = 0.0",
                f"{pad}for j in {inner('j', 'm')}:",
                f"{pad * 2}t += B[i, j + {b}] * x[j]",
                f"{pad}y[i] = t * {c}",
            ]
        elif kind == "stencil":
            a, b = off(), off()
            body = [
                "for i in range(1, n - 1):",
                f"{pad}for j in range(1, m - 1):",
                f"{pad * 2}A[i, j] = (B[i - 1, j] + B[i + 1, j] + B[i, j - {a}] + B[i, j + {b}]) * {c}",
            ]
        elif kind == "gemm":
            k = self.sym_arg(r.randint(1, min(n, m)))
            body = [
                "for i in range(n):",
                f"{pad}for j in range(m):",
                f"{pad * 2}for k in range({k}):",
                f"{pad * 3}A[i, j] += B[i, k] * C[k, j]",
            ]
        elif kind == "running max":
            b = off()
            body = [
                "for i in range(n):",
                f"{pad}for j in {inner('j', 'm')}:",
                f"{pad * 2}y[i] = max(y[i], B[i, j + {b}] * {c})",
            ]
        else:
            a = off()
            body = ["for i in range(n):", f"{pad}for j in {inner('j', 'm')}:", f"{pad * 2}A[i, j] = B[j + {a}, i]"]
        # Views: which arguments share a buffer.
        alias = r.choice(
            ["none", "none", "B is A", "B is A.T", "x is y", "x is y shifted", "A is B shifted", "C is B.T"]
        )
        if alias != "none":
            self.features.add("aliasing")
            self.features.add(f"aliasing ({alias})")
        special = r.random() < 0.6
        if special:
            self.features.add("NaN/inf/-0.0 in the data")
        self.n, self.m = n, m
        params = ["A", "B", "C", "x", "y", "n", "m"] + [name for name, _ in self.sym]
        lines = [f"def kernel({', '.join(params)}):"] + ["    " + t for t in body] + [RETURN_SCALARS]
        source = "\n".join(lines) + "\n"
        seed = self.seed
        sym_values = tuple(v for _, v in self.sym)

        def make_args():
            g = np.random.default_rng(seed)
            buf = {k: g.standard_normal((size + 1, size + 1)) for k in ("A", "B", "C")}
            vec = g.standard_normal(2 * size + 1)
            vec2 = g.standard_normal(size + 1)
            if special:
                for arr in list(buf.values()) + [vec, vec2]:
                    flat = arr.reshape(-1)
                    k = max(1, flat.size // 10)
                    flat[g.choice(flat.size, size=k, replace=False)] = g.choice(SPECIAL_VALUES, size=k)
            A = buf["A"][:size, :size]
            B = buf["B"][:size, :size]
            C = buf["C"][:size, :size]
            x, y = vec[:size], vec2[:size]
            if alias == "B is A":
                B = A
            elif alias == "B is A.T":
                B = A.T
            elif alias == "x is y":
                x = y
            elif alias == "x is y shifted":
                x, y = vec[1 : size + 1], vec[:size]
            elif alias == "A is B shifted":
                A, B = buf["B"][1:, 1:], buf["B"][:size, :size]
            elif alias == "C is B.T":
                C = B.T
            return (A, B, C, x, y, n, m) + sym_values

        return source, make_args

    # --- arguments with extras -------------------------------------------
    def arg_maker_extras(self, names):
        r = self.r
        shapes = {}
        for name in names:
            shapes[name] = [max(neg, hi) for neg, hi in self.arrays[name]["need"]]
        if r.random() < 1 / 12:
            name = r.choice(names)
            d = r.randrange(len(shapes[name]))
            if shapes[name][d] > 1:
                shapes[name][d] -= 1
                self.features.add("out of range")
        ndim_a = self.arrays["A"]["ndim"]
        # How A sits in the buffer, then how B and C alias it (or not).
        a_kind = r.choice(["plain", "plain", "shifted", "reversed", "step2"] + (["transpose"] if ndim_a >= 2 else []))
        if a_kind != "plain":
            self.features.add(f"A is a {a_kind} view")
        plan = {"A": (a_kind, 1 if a_kind == "shifted" else 0)}
        for name in names[1:]:
            if self.arrays[name]["ndim"] == ndim_a and r.random() < 0.5:
                kind = r.choice(["same", "before", "after", "reversed", "transpose", "step2", "overlapping rows"])
                if kind == "same" and (shapes[name] != shapes["A"] or a_kind != "plain"):
                    kind = "before"
                if kind == "transpose" and ndim_a < 2:
                    kind = "reversed"
                if kind == "before" and a_kind != "shifted":
                    plan["A"] = ("shifted", 1)  # A = buf[1:...], this one = buf[:...]: A[1:] and A[:-1]
                    a_kind = "shifted"
                plan[name] = (kind, r.randint(1, 2) if kind == "after" else 0)
                self.features.add("aliasing")
                self.features.add(f"aliasing ({kind})")
        special = r.random() < 0.6
        if special:
            self.features.add("NaN/inf/-0.0 in the data")
        seed = self.seed
        n, m = self.n, self.m
        sym_values = tuple(v for _, v in self.sym)

        def extent(kind, off, sh):
            """The buffer extent a view of this kind and shape needs."""
            if kind == "transpose":
                sh = sh[::-1]
            out = [s + off for s in sh]
            if kind == "step2":
                out[0] = 2 * sh[0] + off
            return out

        def view(buf, kind, off, sh):
            if kind == "overlapping rows":
                flat = buf.reshape(-1)
                row = max(1, sh[-1] - 1)
                strides = [row * 8] * (len(sh) - 1) + [8]
                need = sum((e - 1) * st // 8 for e, st in zip(sh, strides)) + 1
                if need <= flat.size and buf.flags.c_contiguous:
                    return np.lib.stride_tricks.as_strided(
                        flat, shape=tuple(sh), strides=tuple(strides), writeable=True
                    )
                kind = "plain"
            if kind == "transpose":
                return buf[tuple(slice(off, off + x) for x in sh[::-1])].T
            if kind == "step2":
                first = slice(off, off + 2 * sh[0], 2)
                return buf[(first,) + tuple(slice(0, x) for x in sh[1:])]
            v = buf[tuple(slice(off if d == 0 else 0, (off if d == 0 else 0) + x) for d, x in enumerate(sh))]
            return v[::-1] if kind == "reversed" else v

        def sprinkle(g, arr):
            if not special or arr.size == 0:
                return
            flat = arr.reshape(-1)
            k = max(1, flat.size // 8)
            pos = g.choice(flat.size, size=k, replace=False)
            flat[pos] = g.choice(SPECIAL_VALUES, size=k)

        def make_args():
            g = np.random.default_rng(seed)
            arrays = {}
            a_kind, a_off = plan["A"]
            base_shape = [x + 2 for x in extent(a_kind, a_off, shapes["A"])]
            for name in names[1:]:
                if name in plan:
                    kind, off = plan[name]
                    if kind in ("same", "before"):
                        off = 0
                    base_shape = [max(b, e) for b, e in zip(base_shape, extent(kind, off, shapes[name]))]
            base = g.random(tuple(base_shape))
            sprinkle(g, base)
            arrays["A"] = view(base, a_kind, a_off, shapes["A"])
            for name in names[1:]:
                if name in plan:
                    kind, off = plan[name]
                    if kind == "same":
                        arrays[name] = arrays["A"]
                    elif kind == "before":
                        arrays[name] = view(base, "plain", 0, shapes[name])
                    elif kind == "after":
                        arrays[name] = view(base, "plain", off, shapes[name])
                    else:
                        arrays[name] = view(base, kind, 0, shapes[name])
                else:
                    arrays[name] = g.random(tuple(shapes[name]))
                    sprinkle(g, arrays[name])
            return tuple(arrays[nm] for nm in names) + (n, m) + sym_values

        return make_args


def generate(seed, extras=False, indirect=False, tuples=False, control=False, bounds=False, distinct=False):
    """Returns ``(source, make_args)`` for this seed (deterministic). With
    ``extras``, a different nest that also has symbolic offsets and steps,
    more kinds of aliasing views, and NaN/inf/-0.0 in the data. With
    ``indirect``, subscripts that read index arrays or int() of elements.
    With ``tuples``, tuple assignments (swaps, rotations, mixed targets).
    With ``control``, while loops with counters of their own (bounded, or
    `while True` left by a break), breaks and continues; every nest without
    them is the same as without ``control``. With ``bounds``, loops clipped
    by min/max and loops with bounds known only while the nest runs. With
    ``distinct``, index arrays often hold distinct values."""
    src, make_args = _Gen(seed, extras, indirect, tuples, control, bounds, distinct).build()
    return src, make_args


def describe(seed, extras=False, indirect=False, tuples=False, control=False, bounds=False, distinct=False):
    """The features the nest of this seed exercises (for messages)."""
    g = _Gen(seed, extras, indirect, tuples, control, bounds, distinct)
    g.build()
    return sorted(g.features)


_counter = [0]


def make_function(source, name="kernel", filename=None, namespace=None):
    """Compiles `source` (dedented) in a fresh module namespace holding
    `np`, `math` and `namespace`, and returns the function `name`;
    inspect.getsource works on it."""
    _counter[0] += 1
    if filename is None:
        filename = f"<nestgen-{_counter[0]}>"
    source = textwrap.dedent(source)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"np": np, "math": math, **(namespace or {})}
    exec(compile(source, filename, "exec"), ns)
    return ns[name]
