"""Deterministic random Python programs (notebook cells) for differential tests
of Loopscope's cell rewriter and engine against CPython.

``generate(seed)`` returns a :class:`Program`: a list of cells (the first
defines the data) whose code mixes ``for ... in range`` nests the engine
accepts with nests it declines, at several depths and in many settings:

- top level, functions, closures (``nonlocal``, two levels), factories
  returning inner functions, methods of classes with private ``__names``,
  static methods, class bodies, generators, ``async def``, decorated
  functions (``functools.wraps``, ``lru_cache``), keyword-only arguments and
  ``**kwargs``, recursion, ``global``, lambdas and comprehensions around
  calls, ``match``, threads running the same function on copies of the data;
- ``try``/``except``/``finally``, ``with``, ``while``, ``break``/``continue``,
  ``for``-``else``, early ``return``, ``yield``, ``print``, walrus, tuple
  assignment, attribute updates, calls of user functions and lambdas inside
  loops (each declines the nest it is in);
- shadowed builtins (``abs``, ``min``, ``max``, ``len``, ``range``, ``float``,
  ``int``, ``round``; globally, locally, as parameter defaults, and as
  accumulators named ``sum``/``max``/``min``/``abs``), rebound modules
  (``np``, ``math``) and monkeypatched module attributes (``math.sqrt =
  ...``), each restored afterwards;
- zero-trip loops, float bounds (TypeError), NumPy integer bounds, bounds
  beyond int64, ``range(True)``, a variable step (sometimes 0), negative
  steps, bounds from ``len`` and ``.shape``, non-affine bounds;
- Python int accumulators that outgrow int64, float, ``np.float32`` and
  ``np.int64`` accumulators, int accumulators that become floats, min/max
  with NaN, odd accumulators (0-d arrays, a 1-element view, ``Fraction``,
  ``Decimal``, ``np.float16``, ``complex``...), names assigned in a loop and
  read after it (unbound after a zero-trip loop);
- out-of-range subscripts (IndexError after partial writes), division by
  zero, float overflow (``x ** 2``), ``int()`` of NaN/inf, math domain
  errors, NaN/inf/-0.0 in arrays, ``and``/``or`` values, powers;
- float64/float32/int64/int32/bool arrays, some uint8/int16/complex ones,
  arrays of odd kinds (read-only, byte-swapped, Fortran order, float16,
  object, masked, ``np.matrix``, a list, a stride-0 view, long double), views
  and arrays of another dtype as arguments, one array for two parameters,
  and arrays that change dtype between two runs of the same block;
- about one program in seven is "large" (n in the hundreds), so that the
  cost model of ``auto`` picks native code.
- about one program in four ends with cells (class :class:`Extra`, drawn
  from a random stream of their own, so the cells before them are those the
  seed always gave) of the constructs that run natively since: lists filled
  with ``append`` (ints, floats, NumPy scalars, bools, tuples, big ints;
  conditional, in inner, triangular and zero-trip loops and in ``for``-
  ``else``; lists that already hold items, are aliased, read in the nest,
  passed to a function; a list subclass, a deque, an object with an
  ``append`` method, an array), arrays made afresh in each pass of a loop
  (every constructor, several dtypes, two arrays taking turns, arrays that
  escape, shapes that raise, zero passes), and variables holding an int then
  a small NumPy integer, or a float then an int, under data branches.
  A second stream (``Extra.new_cells``) and a third (``Extra.newest_cells``:
  ``round(x, ndigits)`` at ties, NaN/inf, huge, negative, variable and float
  ndigits over float32/float64/int elements; ``len(m[i])`` over 2-D arrays,
  lists of equal or ragged rows, tuples, empty rows, negative and
  out-of-range rows; appends inside ``while`` loops in a ``for``, Collatz-like,
  past the first guess, raising midway, run twice) each draw from a stream of
  their own, so the cells each seed gave before stay as they were: dump
  ``generate(s).cells`` for a few hundred seeds before a change and check
  that each is a prefix of the cells after it. ``PROGEN_ONLY_NEWEST=1`` makes
  programs of the data cell and the third stream's cells only.

Top-level calls of generated functions go through ``CALL(f, *args)`` and some
functions are decorated with ``@JIT``: in CPython and in IPython both are
plain calls; ``progen_runner`` binds them to ``loopscope.run(..., device=d)``
and ``loopscope.jit(device=d)`` to run the same program through the function
rewriter.

Floating-point data are integer-valued and the values that feed sums are
computed with exact operations (``+ - *`` on small integers, ``min``,
``max``, ``abs``): a parallel reduction gives the same bits in any order, so
every result must equal CPython's exactly. Inexact operations (``/``,
``math.sqrt``, ``**``) only feed the arrays named ``Q*`` (whose data are not
integers) and scalars ``q*``, which no sum reads.
"""

import os
import random
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

__all__ = ["Program", "generate", "MARKER"]

MARKER = "<u>progen</u>"  # user text that reports must escape


@dataclass
class Program:
    seed: int
    cells: List[str]
    features: Set[str] = field(default_factory=set)

    def source(self) -> str:
        out = []
        for k, cell in enumerate(self.cells):
            out.append(f"# --- cell {k} ---\n{cell}")
        return "\n".join(out)


@dataclass
class Arr:
    name: str
    dtype: str
    ndim: int
    exact: bool = True  # read by sums: only exact values are stored
    square: bool = False  # 2-D of shape (n, n) rather than (n, m)


@dataclass
class Loop:
    var: str
    tag: Optional[str]  # "N": values in [0, n-1]; "M": in [0, m-1]; None: anything


NUMERIC_DTYPES = ["float64", "float64", "float64", "float32", "int64", "int64", "int32"]
ODD_DTYPES = ["uint8", "int16", "complex128"]
BUILTINS_TO_SHADOW = ["abs", "min", "max", "len", "range", "float", "int", "round"]


class Ctx:
    """Where code is being generated."""

    def __init__(self, kind="top", indent=0):
        self.kind = kind  # top, func, method, gen, class
        self.indent = indent
        self.loops: List[Loop] = []
        self.scalars: Dict[str, str] = {}  # name -> kind: float, bigint, f32, i64, c2f, minmax, int, q
        self.prefer: Set[str] = set()  # callables to use more often (shadowed names)
        self.private = None  # class name when private names are allowed
        self.can_return = False
        self.in_gen = False
        self.quiet = False  # no print (code run by threads)
        self.trips = 1  # iterations of the enclosing loops

    def child(self, **kw):
        c = Ctx(self.kind, self.indent)
        c.loops = list(self.loops)
        c.scalars = dict(self.scalars)
        c.prefer = set(self.prefer)
        c.private = self.private
        c.can_return = self.can_return
        c.in_gen = self.in_gen
        c.quiet = self.quiet
        c.trips = self.trips
        for k, v in kw.items():
            setattr(c, k, v)
        return c


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.features: Set[str] = set()
        self.uid = 0
        r = self.r
        # large programs: the cost model then picks native code in "auto"
        self.large = r.random() < 0.1
        self.n = r.choice([0, 1, 2, 3, 4, 5, 5, 6, 7, 7, 8])
        self.m = r.choice([1, 2, 3, 3, 4])
        if self.large:
            self.n = r.choice([200, 250])
            self.m = r.choice([2, 3])
            self.features.add("large")
        self.budget = 70000 if self.large else 10**6  # iterations of one nest
        self.repeatable: List[str] = []  # top-level blocks that may run again later
        self.arrays: List[Arr] = []
        names1 = ["A", "B", "C", "D"]
        k1 = r.randint(2, 4)
        for name in names1[:k1]:
            dt = r.choice(NUMERIC_DTYPES + ["bool"] * (1 if name != "A" else 0))
            if name == "A":
                dt = r.choice(["float64", "float64", "float32", "int64"])
            self.arrays.append(Arr(name, dt, 1))
        for name in ["M", "P"][: r.randint(0, 2)]:
            self.arrays.append(Arr(name, r.choice(["float64", "float64", "int64", "float32", "int32"]), 2))
        if self.large:
            # an n x n array: nests of n * n iterations, which "auto" runs natively
            self.arrays.append(Arr("W", r.choice(["float64", "float64", "int64", "float32"]), 2, square=True))
        self.arrays.append(Arr("Q", "float64", 1, exact=False))
        if r.random() < 0.3:
            self.arrays.append(Arr("Q2", r.choice(["float64", "float32"]), 2, exact=False))
        if r.random() < 0.25:
            dt = r.choice(ODD_DTYPES)
            self.arrays.append(Arr("Z", dt, 1, exact=dt != "complex128"))
            self.features.add(f"dtype {dt}")
        self.special = r.random() < 0.45  # NaN / inf / -0.0 in float arrays
        # how often a subscript may be out of range (IndexError after partial writes)
        self.oob = 0.03 if r.random() < 0.25 else 0.002
        self.n_is_np = r.random() < 0.2  # n is an np.int64

    # --- small helpers ------------------------------------------------------------
    def fresh(self, base):
        self.uid += 1
        return f"{base}{self.uid}"

    def feat(self, name):
        self.features.add(name)

    def pad(self, ctx, extra=0):
        return "    " * (ctx.indent + extra)

    def num_arrays(self, exact_only):
        return [a for a in self.arrays if a.dtype not in ("bool", "complex128") and (a.exact or not exact_only)]

    # --- subscripts ----------------------------------------------------------------
    def index(self, ctx, size_tag):
        """An index for a dimension whose size is n ("N") or m ("M")."""
        r = self.r
        size = "n" if size_tag == "N" else "m"
        good = [l.var for l in ctx.loops if l.tag == size_tag]
        if r.random() < self.oob:
            self.feat("out-of-range subscript")
            others = [l.var for l in ctx.loops if l.tag != size_tag]
            v = r.choice(good) if good else None
            return r.choice(
                [size, f"{size} + 1", f"-{size} - 1"]
                + ([f"{v} + 1", f"{v} + 2", f"{size} - {v}"] if v else [])
                + others
            )
        if not good or r.random() < 0.07:
            return r.choice(["0", "-1", "0"])
        v = r.choice(good)
        x = r.random()
        if x < 0.55:
            return v
        if x < 0.67:
            self.feat("negative index")
            return f"{v} - 1"
        if x < 0.75:
            self.feat("negative index")
            return f"-1 - {v}"
        if x < 0.83:
            return f"{size} - 1 - {v}"
        if x < 0.9:
            return f"{v} // 2"
        if x < 0.95 and len(good) >= 2:
            w = r.choice([g for g in good if g != v])
            return f"({v} + {w}) % {size}"
        return f"({v} * 3) % {size}"

    def ref(self, ctx, arr: Arr):
        if arr.ndim == 1:
            return f"{arr.name}[{self.index(ctx, 'N')}]"
        i, j = self.index(ctx, "N"), self.index(ctx, "N" if arr.square else "M")
        if self.r.random() < 0.15:
            return f"{arr.name}[{i}][{j}]"
        return f"{arr.name}[{i}, {j}]"

    # --- expressions -------------------------------------------------------------------
    def loopvar(self, ctx):
        return self.r.choice(ctx.loops).var if ctx.loops else "n"

    def const(self, exact=True):
        if exact:
            return self.r.choice(["1.0", "2.0", "-1.0", "0.5", "3.0", "0.0", "-2.0"])
        return self.r.choice(["0.1", "1.5", "-0.75", "3.25", "1e-3"])

    def int_expr(self, ctx, d=0):
        r = self.r
        x = r.random()
        ints = [a for a in self.arrays if a.dtype in ("int64", "int32", "int16", "uint8")]
        if d >= 2 or x < 0.4:
            leaf = r.random()
            if leaf < 0.5 and ctx.loops:
                return self.loopvar(ctx)
            if leaf < 0.7 and ints:
                return self.ref(ctx, r.choice(ints))
            if leaf < 0.8:
                return r.choice(["n", "m"])
            if leaf < 0.86 and "k" in ctx.scalars:
                return "k"
            return str(r.randint(-3, 5))
        if x < 0.43:
            v = self.loopvar(ctx)
            # 2 ** v only for a bounded v (a loop may run near 2 ** 63)
            small = [l.var for l in ctx.loops if l.tag in ("N", "M")]
            self.feat("integer power")
            return r.choice([f"({v} ** 2)", f"(2 ** {r.choice(small) if small else 'm'})", f"({v} ** 3 % 7)"])
        op = r.choice(["+", "-", "*", "+", "//", "%"])
        a, b = self.int_expr(ctx, d + 1), self.int_expr(ctx, d + 1)
        if op == "*":
            # keep magnitudes small: times a constant or a loop variable
            b = r.choice([str(r.randint(-3, 3)), self.loopvar(ctx)])
        if op in ("//", "%"):
            if r.random() < 0.12 and ctx.loops:
                self.feat("integer division by zero")
                v = self.loopvar(ctx)
                b = f"({v} - {r.randint(0, 3)})"
            else:
                b = str(r.choice([2, 3, -2, 5, -3]))
        return f"({a} {op} {b})"

    def float_expr(self, ctx, exact=True, d=0):
        r = self.r
        x = r.random()
        floats = [a for a in self.num_arrays(exact_only=exact) if a.dtype.startswith("float")]
        if d >= 2 or x < 0.35:
            leaf = r.random()
            if leaf < 0.55 and floats:
                return self.ref(ctx, r.choice(floats))
            if leaf < 0.65:
                return self.int_expr(ctx, 2)
            if leaf < 0.72 and "s" in ctx.scalars and not exact:
                return "s"
            if leaf < 0.76 and "q" in ctx.scalars and not exact:
                return "q"
            return self.const(exact)
        # shadowed or patched callables the block must use
        if ctx.prefer and r.random() < 0.35:
            return self.preferred_call(ctx, exact, d)
        if x < 0.5:
            a = self.float_expr(ctx, exact, d + 1)
            fn = r.choice(["abs", "abs", "min", "max", "float"])
            if fn == "abs":
                return f"abs({a})"
            if fn == "float":
                return f"float({self.int_expr(ctx, d + 1)})"
            return f"{fn}({a}, {self.float_expr(ctx, exact, d + 1)})"
        if x < 0.56:
            c = self.cond(ctx, exact, d + 1)
            return f"({self.float_expr(ctx, exact, d + 1)} if {c} else {self.float_expr(ctx, exact, d + 1)})"
        if x < 0.59:
            self.feat("and/or value")
            a, b = self.float_expr(ctx, exact, d + 1), self.float_expr(ctx, exact, d + 1)
            return f"({a} {r.choice(['or', 'and'])} {b})"
        if not exact and x < 0.66:
            a = self.float_expr(ctx, exact, d + 1)
            self.feat("float powers")
            return r.choice(
                [
                    f"({a}) ** 0.5",
                    f"({a}) ** -1",
                    f"({a}) ** 3",
                    f"({a}) ** 2",
                    f"abs({a}) ** 1.5",
                    f"({a}) ** 2",
                    f"min({a}, 9.0) ** {r.choice([2, 3, 0.5, -2])}",
                    f"2.0 ** min({a}, 30.0)",
                ]
            )
        if not exact and x < 0.76:
            a = self.float_expr(ctx, exact, d + 1)
            k = r.random()
            if k < 0.3:
                return f"math.sqrt(abs({a}))"
            if k < 0.45:
                self.feat("math domain")
                return f"math.sqrt({a})"
            if k < 0.6:
                return f"np.sqrt(abs({a}))"
            if k < 0.7:
                return f"math.floor({a})"
            if k < 0.8:
                self.feat("float ** 2")
                return f"({a}) ** 2"
            if k < 0.9:
                return f"math.exp({a})"
            return f"round({a})"
        ops = ["+", "-", "*", "+", "-"]
        if not exact:
            ops += ["/", "/", "//", "%"]
        op = r.choice(ops)
        a = self.float_expr(ctx, exact, d + 1)
        b = self.float_expr(ctx, exact, d + 1)
        if exact and op == "*":
            # keep magnitudes small: a value times a constant or a loop variable
            b = r.choice([self.const(True), self.loopvar(ctx) if ctx.loops else "2.0"])
        if op in ("/", "//", "%") and r.random() < 0.5:
            self.feat("float division by zero")
        return f"({a} {op} {b})"

    def preferred_call(self, ctx, exact, d):
        r = self.r
        name = r.choice(sorted(ctx.prefer))
        a = self.float_expr(ctx, exact, d + 1)
        if name in ("min", "max", "np.minimum", "np.maximum"):
            return f"{name}({a}, {self.float_expr(ctx, exact, d + 1)})"
        if name == "len":
            arr = r.choice([x for x in self.arrays if x.ndim == 1])
            return f"float(len({arr.name}))"
        if name in ("int", "round", "math.floor"):
            return f"{name}({a})"
        if name in ("math.sqrt", "np.sqrt"):
            return f"{name}(abs({a}))"
        return f"{name}({a})"

    def cond(self, ctx, exact=True, d=0):
        r = self.r
        x = r.random()
        bools = [a for a in self.arrays if a.dtype == "bool"]
        if x < 0.15 and bools:
            c = self.ref(ctx, r.choice(bools))
            return f"not {c}" if r.random() < 0.3 else c
        if x < 0.45 and ctx.loops:
            v = self.loopvar(ctx)
            return f"{v} {r.choice(['<', '>', '==', '!=', '<=', '>='])} {r.choice(['1', '2', 'n // 2', 'm - 1'])}"
        a = self.float_expr(ctx, exact, max(d, 1)) if r.random() < 0.7 else self.int_expr(ctx, 1)
        c = f"{a} {r.choice(['<', '>', '>=', '<=', '==', '!='])} {r.choice(['0', '1.0', '-1', '2'])}"
        if r.random() < 0.12:
            c = f"{c} and {self.loopvar(ctx)} > 0"
        elif r.random() < 0.06:
            c = f"{c} or {self.loopvar(ctx)} == 0"
        return c

    # --- statements in nests ---------------------------------------------------------------
    def store(self, ctx):
        r = self.r
        targets = [a for a in self.arrays]
        arr = r.choice(targets)
        t = self.ref(ctx, arr)
        if arr.dtype == "bool":
            return [f"{t} = {self.cond(ctx)}"]
        if arr.dtype == "complex128":
            self.feat("complex array")
            return [f"{t} = {t} * 2 + {self.float_expr(ctx)}"]
        if arr.dtype in ("int64", "int32", "int16", "uint8"):
            x = r.random()
            if x < 0.06:
                self.feat("float stored into int array")
                return [f"{t} = {self.float_expr(ctx, exact=True)}"]
            if x < 0.1 and "t" in ctx.scalars:
                self.feat("big int stored")
                return [f"{t} = t"]
            op = r.choice(["=", "=", "+=", "-="])
            return [f"{t} {op} {self.int_expr(ctx)}"]
        if not arr.exact:
            return [f"{t} = {self.float_expr(ctx, exact=False)}"]
        op = r.choice(["=", "=", "=", "+=", "-=", "*="])
        if op == "*=":
            return [f"{t} *= {r.choice(['2.0', '-1.0', '0.5', '1.0'])}"]
        e = self.float_expr(ctx)
        if op == "=" and r.random() < 0.25:
            # keep values bounded
            e = r.choice([f"({e}) % 7.0", f"min(max({e}, -64.0), 64.0)"])
        return [f"{t} {op} {e}"]

    def scalar_stmt(self, ctx):
        r = self.r
        choices = [k for k in ctx.scalars if ctx.scalars[k] != "int"]
        if not choices:
            return self.store(ctx)
        name = r.choice(choices)
        kind = ctx.scalars[name]
        if kind == "float":
            self.feat("float accumulator")
            x = r.random()
            if x < 0.6:
                return [f"{name} += {self.float_expr(ctx)}"]
            if x < 0.8:
                return [f"{name} -= {self.float_expr(ctx)}"]
            return [f"{name} = {name} + {self.float_expr(ctx)}"]
        if kind == "bigint":
            self.feat("big Python int")
            v = self.loopvar(ctx)
            if ctx.trips > 2000:
                # exponential growth over many iterations costs CPython seconds
                return [f"{name} += {v} * {v} + 2 ** 62"]
            return [
                r.choice(
                    [
                        f"{name} = {name} * 3 + {v}",
                        f"{name} += {v} * {v}",
                        f"{name} = {name} * 2 - 1",
                        f"{name} = {name} * 7 + {self.int_expr(ctx, 1)}",
                    ]
                )
            ]
        if kind == "f32":
            self.feat("np.float32 accumulator")
            f32 = [a for a in self.arrays if a.dtype == "float32" and a.exact]
            if f32 and r.random() < 0.6:
                return [f"{name} += {self.ref(ctx, r.choice(f32))}"]
            return [f"{name} += {self.float_expr(ctx)}"]
        if kind == "i64":
            self.feat("np.int64 accumulator")
            return [r.choice([f"{name} += {self.int_expr(ctx)}", f"{name} = {name} * 3 + {self.loopvar(ctx)}"])]
        if kind == "c2f":
            self.feat("int accumulator becomes float")
            return [f"{name} += {self.float_expr(ctx)}"]
        if kind == "best":
            e = self.float_expr(ctx)
            return [f"if {e} > {name}:", f"    {name} = {e}"]
        if kind == "odd":
            return [
                r.choice(
                    [
                        f"{name} += {self.float_expr(ctx)}",
                        f"{name} = {name} + {self.int_expr(ctx)}",
                        f"{name} *= {r.choice(['2', '0.5', '-1'])}",
                    ]
                )
            ]
        if kind == "minmax":
            self.feat("min/max reduction")
            fn = r.choice(["max", "min"])
            return [
                f"{name} = {fn}({name}, {self.float_expr(ctx)})"
                if r.random() < 0.7
                else f"{name} = {fn}({self.float_expr(ctx)}, {name})"
            ]
        if kind == "q":
            x = r.random()
            if x < 0.3:
                self.feat("float ** 2")
                return [f"{name} = {name} ** 2 + 1.0"]
            return [f"{name} = {self.float_expr(ctx, exact=False)}", f"{self.ref(ctx, self.arr('Q'))} = {name}"]
        return self.store(ctx)

    def arr(self, name):
        return next(a for a in self.arrays if a.name == name)

    def trap_stmt(self, ctx):
        """A statement that may raise in Python."""
        r = self.r
        v = self.loopvar(ctx)
        x = r.random()
        q = self.ref(ctx, self.arr("Q"))
        if x < 0.3:
            self.feat("ZeroDivisionError")
            return [f"{q} = 1.0 / ({v} - {r.randint(0, 3)})"]
        if x < 0.5:
            self.feat("ZeroDivisionError")
            return [f"{q} = {v} // ({v} - {r.randint(1, 3)})"]
        if x < 0.65:
            self.feat("float overflow")
            return [f"{q} = (1e200 * ({v} + 1.0)) ** 2"]
        if x < 0.8:
            self.feat("int() of NaN/inf")
            f = [a for a in self.arrays if a.dtype.startswith("float")]
            src = self.ref(ctx, r.choice(f)) if f else "1.5"
            return [f"{q} = int({src})"]
        self.feat("math domain")
        f = [a for a in self.arrays if a.dtype.startswith("float")]
        src = self.ref(ctx, r.choice(f)) if f else f"{v} - 2.0"
        return [f"{q} = math.sqrt({src})"]

    def decline_stmt(self, ctx, depth_left):
        """A statement the front end declines (Python runs the nest)."""
        r = self.r
        p = self.pad(ctx)
        v = self.loopvar(ctx)
        opts = [
            "print",
            "print",
            "break",
            "continue",
            "call",
            "lambda",
            "attr",
            "tuple",
            "append",
            "slice",
            "iter",
            "while",
            "assignloop",
            "try",
            "raise",
            "comprehension",
            "with",
        ]
        if ctx.can_return:
            opts += ["return", "return"]
        if ctx.in_gen:
            opts += ["yield", "yield"]
        if ctx.private:
            opts += ["private", "private"]
        if ctx.kind == "class":
            opts.remove("comprehension")  # a class body's names are not visible in comprehensions
        if ctx.quiet:
            opts = [o for o in opts if o not in ("print", "try", "with", "append")]
        opts += ["walrus"]
        kind = r.choice(opts)
        self.feat(f"declined: {kind}")
        if self.large and kind in ("print", "with"):
            # a declined nest that prints once, not at every iteration
            inner = ctx.child(indent=ctx.indent + 1)
            return [f"{p}if {v} == 1:"] + self.decline_stmt_kind(inner, kind)
        return self.decline_stmt_kind(ctx, kind)

    def decline_stmt_kind(self, ctx, kind):
        r = self.r
        p = self.pad(ctx)
        v = self.loopvar(ctx)
        if kind == "walrus":
            return [f"{p}if (wz := {self.float_expr(ctx)}) > 0:", f"{p}    {self.ref(ctx, self.arr('Q'))} = wz"]
        if kind == "print":
            args = [f"'{v}'" if r.random() < 0.8 else repr(MARKER), v] + (
                [self.ref(ctx, r.choice(self.arrays))] if r.random() < 0.7 else []
            )
            if ctx.scalars and r.random() < 0.5:
                args.append(r.choice(sorted(ctx.scalars)))
            return [f"{p}print({', '.join(args)})"]
        if kind == "break":
            return [f"{p}if {self.cond(ctx)}:", f"{p}    break"]
        if kind == "continue":
            return [f"{p}if {self.cond(ctx)}:", f"{p}    continue"]
        if kind == "return":
            ret = r.choice(sorted(ctx.scalars)) if ctx.scalars else v
            return [f"{p}if {self.cond(ctx)}:", f"{p}    return {ret}"]
        if kind == "yield":
            return [f"{p}yield {self.float_expr(ctx)}"]
        if kind == "call":
            return [f"{p}{self.ref(ctx, self.arr('Q'))} = helper({self.float_expr(ctx)})"]
        if kind == "lambda":
            return [f"{p}{self.ref(ctx, self.arr('Q'))} = (lambda x: x * 2 + 1)({self.float_expr(ctx)})"]
        if kind == "attr":
            return [f"{p}counter.hits += 1"]
        if kind == "private":
            return [f"{p}self.__hits += 1"]
        if kind == "tuple":
            a = self.ref(ctx, self.arr("Q"))
            return [f"{p}ta, tb = {self.float_expr(ctx)}, {v}", f"{p}{a} = ta + tb"]
        if kind == "append":
            return [f"{p}log.append({v})"]
        if kind == "slice":
            a = self.arr("Q")
            return [f"{p}{a.name}[:1] = {self.float_expr(ctx)}" if a.ndim == 1 else f"{p}{a.name}[:1, :] = 0.0"]
        if kind == "iter":
            return [f"{p}for xx in (1, 2):", f"{p}    {self.ref(ctx, self.arr('Q'))} = xx * {v}"]
        if kind == "while":
            return [
                f"{p}ww = 0",
                f"{p}while ww < 2:",
                f"{p}    ww += 1",
                f"{p}    {self.ref(ctx, self.arr('Q'))} = ww + {v}",
            ]
        if kind == "assignloop":
            return [f"{p}{v} = {v} + 0"]
        if kind == "try":
            return [
                f"{p}try:",
                f"{p}    {self.ref(ctx, self.arr('Q'))} = 1.0 / ({v} - 1)",
                f"{p}except ZeroDivisionError:",
                f"{p}    print('div0 at', {v})",
            ]
        if kind == "raise":
            return [f"{p}if {v} == {r.randint(1, 4)}:", f"{p}    raise ValueError('stop at ' + str({v}))"]
        if kind == "comprehension":
            a = self.ref(ctx, self.arr("Q"))
            return [f"{p}{a} = sum([{v} * kk for kk in range(3)])"]
        if kind == "with":
            return [f"{p}with Tracer('in'):", f"{p}    {self.ref(ctx, self.arr('Q'))} = {v}"]
        return [f"{p}print({v})"]

    def header(self, ctx):
        """Returns (text, tag, trips) for a loop header over range."""
        text, tag = self.header_text(ctx)
        n, m = self.n, self.m
        trips = {"N": n, "M": m}.get(tag, 4)
        if "*" in text:
            trips = n * n
        if ctx.trips * max(trips, 1) > self.budget:
            text, tag, trips = self.r.choice([("range(m)", "M", m), ("range(2)", None, 2), ("range(1)", None, 1)])
            if ctx.trips * trips > self.budget:
                text, tag, trips = "range(1)", None, 1
        return text, tag, trips

    def header_text(self, ctx):
        r = self.r
        outer = [l for l in ctx.loops if l.tag == "N"]
        x = r.random()
        if x < 0.02:
            self.feat("odd bound")
            return r.choice(
                [
                    "range(True)",
                    "range(2 ** 63 - 2, 2 ** 63 + 1)",
                    "range(2 ** 64, 2 ** 64 + 2)",
                    "range(-2 ** 63, -2 ** 63 + 2)",
                    "range(np.uint8(3))",
                    "range(bool(n))",
                ]
            ), None
        if x < 0.04:
            self.feat("variable step")
            return "range(0, n, st)", "N"
        if outer and x < 0.25:
            o = r.choice(outer).var
            self.feat("triangular")
            form = r.randrange(5)
            if form == 0:
                return f"range({o})", "N"
            if form == 1:
                return f"range({o} + 1)", "N"
            if form == 2:
                return f"range({o}, n)", "N"
            if form == 3:
                self.feat("negative step")
                return f"range(n - 1, {o}, -1)", "N"
            self.feat("non-affine bound")
            return f"range({o} * {o})", None
        x = r.random()
        if x < 0.22:
            return "range(n)", "N"
        if x < 0.3:
            self.feat("bound from len")
            a = r.choice([a for a in self.arrays if a.ndim == 1])
            return f"range(len({a.name}))", "N"
        if x < 0.36:
            self.feat("bound from shape")
            return "range(Q.shape[0])", "N"
        if x < 0.42:
            return "range(1, n)", "N"
        if x < 0.5:
            self.feat("negative step")
            return "range(n - 1, -1, -1)", "N"
        if x < 0.55:
            return "range(0, n, 2)", "N"
        if x < 0.58:
            self.feat("negative step")
            return "range(n - 1, 0, -2)", "N"
        if x < 0.74:
            two = [a for a in self.arrays if a.ndim == 2]
            if two and r.random() < 0.4:
                self.feat("bound from shape")
                return f"range({r.choice(two).name}.shape[1])", "M"
            return "range(m)", "M"
        if x < 0.79:
            self.feat("zero-trip loop")
            return r.choice(["range(0)", "range(n, n)", "range(m, 0)", "range(n - n)"]), None
        if x < 0.835:
            self.feat("NumPy integer bound")
            return "range(ni)", "N"
        if x < 0.845:
            self.feat("float bound")
            return "range(fb)", None
        if x < 0.88:
            return f"range({r.randint(1, 3)})", None
        return "range(n - 1)", "N"

    def nest(self, ctx, depth, decline_at=None, force=None):
        """A `for ... in range` nest of `depth` loops. decline_at: the level
        (0 = this loop) whose body gets a declining statement; force: lines
        (a callable of ctx) that must appear in the innermost body."""
        r = self.r
        used = [l.var for l in ctx.loops]
        var = next((v for v in "ijkl" if v not in used), None) or self.fresh("v")
        text, tag, trips = self.header(ctx)
        p = self.pad(ctx)
        out = [f"{p}for {var} in {text}:"]
        inner = ctx.child(indent=ctx.indent + 1)
        inner.loops = ctx.loops + [Loop(var, tag)]
        inner.trips = ctx.trips * max(trips, 1)
        stmts = []  # one list of lines per statement
        nstmts = r.randint(0 if depth > 1 else 1, 2)
        for _ in range(nstmts):
            stmts.append(self.stmt(inner))
        if depth > 1:
            sub_decline = None if decline_at is None or decline_at == 0 else decline_at - 1
            stmts.append(self.nest(inner, depth - 1, sub_decline, force))
            if r.random() < 0.3:
                self.feat("imperfect nest")
                stmts.append(self.stmt(inner))
        elif force is not None:
            stmts.append([self.pad(inner) + line for line in force(inner)])
        if decline_at == 0:
            stmts.insert(r.randint(0, len(stmts)), self.decline_stmt(inner, depth))
        if r.random() < 0.05:
            stmts.append([f"{self.pad(inner)}pass"])
        body = [line for st in stmts for line in st]
        out += body
        if r.random() < 0.06:
            self.feat("for-else")
            out += [f"{p}else:", f"{p}    {self.ref(ctx, self.arr('Q')) if ctx.loops else 'Q[0]'} = -5.0"]
        return out

    def stmt(self, ctx):
        r = self.r
        p = self.pad(ctx)
        x = r.random()
        if x < 0.45:
            lines = self.store(ctx)
        elif x < 0.72:
            lines = self.scalar_stmt(ctx)
        elif x < 0.78:
            self.feat("private scalar")
            tmp = "tmp"
            lines = [f"{tmp} = {self.float_expr(ctx)}", f"{self.ref(ctx, self.pick_exact_float())} = {tmp} + 1.0"]
        elif x < 0.9:
            self.feat("conditional")
            lines = [f"if {self.cond(ctx)}:"] + ["    " + s for s in self.store(ctx)]
            if r.random() < 0.3:
                lines += [f"elif {self.cond(ctx)}:"] + ["    " + s for s in self.scalar_stmt(ctx)]
            if r.random() < 0.4:
                lines += ["else:"] + ["    " + s for s in self.store(ctx)]
        elif x < 0.94:
            self.feat("computed subscript")
            arr = r.choice(
                [a for a in self.arrays if a.ndim == 1 and a.exact and a.dtype.startswith("float")] or [self.arr("Q")]
            )
            idx = self.index(ctx, "N")
            lines = [f"pp = {idx}", f"{arr.name}[pp] = {self.float_expr(ctx)}"]
        elif x < 0.96:
            lines = self.trap_stmt(ctx)
        else:
            lines = self.store(ctx)
        if r.random() < 0.03:
            # user text that reports, CUDA and C++ comments must escape
            self.feat("comment with markup")
            lines[0] += "  # " + r.choice([MARKER, "*/ /*", "ends with a backslash \\", '"quoted" & <b>'])
        return [p + s for s in lines]

    def pick_exact_float(self):
        f = [a for a in self.arrays if a.exact and a.dtype.startswith("float")]
        return self.r.choice(f) if f else self.arr("Q")

    # --- blocks: a nest or a mixture, in some setting ---------------------------------------
    def scalar_inits(self, ctx, p):
        """Initialises the accumulators of a block; returns lines."""
        r = self.r
        lines = []
        kinds = {
            "s": ("float", r.choice(["0.0", "0.0", "1.5", "-0.0"])),
            "t": ("bigint", r.choice(["0", "1", "2 ** 60", "-(2 ** 62)", "2 ** 70"])),
            "u": ("f32", r.choice(["np.float32(0)", "np.float32(1.5)"])),
            "w": ("i64", r.choice(["np.int64(0)", "np.int64(2 ** 61)"])),
            "c": ("c2f", "0"),
            "mx": ("minmax", r.choice(["-math.inf", "math.nan", "0.0", "float('-inf')", "A[0] if len(A) else 0.0"])),
            "q": ("q", r.choice(["1.5", "10.0", "1e150"])),
        }
        if r.random() < 0.12:
            self.feat("accumulator named like a builtin")
            kinds["sum"] = ("float", "0.0")
            name = r.choice(["max", "min", "abs"])
            kinds[name] = ("best", "-math.inf")
            ctx.prefer = set(ctx.prefer) | {name}  # and called in the nest
        if r.random() < 0.1:
            self.feat("odd scalar type")
            kinds["z"] = (
                "odd",
                r.choice(
                    [
                        "np.array(0.0)",
                        "Q[0:1]" if self.n else "np.zeros(1)",
                        "np.float16(0)",
                        "np.int8(0)",
                        "np.uint64(1)",
                        "True",
                        "1j",
                        "fractions.Fraction(1, 3)",
                        "decimal.Decimal(1)",
                        "np.float64(0.5)",
                        "np.longdouble(0)",
                        "np.int32(7)",
                        "np.bool_(True)",
                    ]
                ),
            )
        chosen = r.sample(sorted(kinds), r.randint(1, 4))
        for name in chosen:
            kind, init = kinds[name]
            if name == "mx" and "nan" in init:
                self.feat("NaN start of min/max")
            lines.append(f"{p}{name} = {init}")
            ctx.scalars[name] = kind
        return lines

    def block(self, ctx, allow_decline=True):
        """A nest, sometimes with a declined part, with its scalars."""
        r = self.r
        p = self.pad(ctx)
        lines = self.scalar_inits(ctx, p)
        depth = r.choice([1, 1, 2, 2, 2, 3, 3])
        decline_at = None
        if allow_decline and r.random() < 0.45:
            decline_at = r.randrange(depth)
            self.feat(f"declined at level {decline_at} of {depth}")
        if r.random() < 0.2 and depth < 3:
            # an accepted nest inside a declined loop
            self.feat("accepted nest inside declined loop")
            outer_var = "o" if "o" not in [l.var for l in ctx.loops] else self.fresh("o")
            reps = r.randint(1, 3)
            lines.append(f"{p}for {outer_var} in range({reps}):")
            inner = ctx.child(indent=ctx.indent + 1)
            inner.loops = ctx.loops + [Loop(outer_var, None)]
            inner.trips = ctx.trips * reps
            lines += self.decline_stmt(inner, 1)
            lines += self.nest(inner, depth, None)
            if r.random() < 0.5:
                lines += self.decline_stmt(inner, 1)
        else:
            lines += self.nest(ctx, depth, decline_at, force=self.force_fn(ctx))
        if r.random() < 0.3:
            lines += self.nest(ctx, r.choice([1, 2]), None)
        if r.random() < 0.6 and ctx.scalars and not ctx.quiet:
            shown = [n for n in sorted(ctx.scalars) if ctx.scalars[n] not in ("int",)]
            text = "\n".join(lines)
            assigned = [
                x
                for x in ("i", "j", "k", "tmp", "pp", "ta", "wz")
                if f"for {x} in" in text or f" {x} = " in text or f"({x} := " in text
            ]
            if assigned and r.random() < 0.3:
                self.feat("loop-assigned names read after the loop")
                shown += r.sample(assigned, min(2, len(assigned)))
            if shown and ctx.kind != "class":
                lines.append(f"{p}print({', '.join(shown)})")
        if ctx.kind == "top" and r.random() < 0.3 and ctx.indent == 0:
            self.repeatable.append("\n".join(lines))
        return lines

    def force_fn(self, ctx):
        if not ctx.prefer:
            return None

        def force(inner):
            name = self.r.choice(sorted(ctx.prefer))
            inner2 = inner.child(prefer={name})
            t = self.ref(inner2, self.arr("Q"))
            return [f"{t} = {self.preferred_call(inner2, False, 1)}"]

        return force

    # --- settings around blocks --------------------------------------------------------------
    def wrap(self, ctx):
        """Top-level code: one setting with blocks inside. Returns lines."""
        r = self.r
        x = r.random()
        settings = [
            (0.16, self.w_plain),
            (0.12, self.w_function),
            (0.07, self.w_closure),
            (0.05, self.w_factory),
            (0.07, self.w_method),
            (0.04, self.w_classbody),
            (0.05, self.w_generator),
            (0.05, self.w_recursion),
            (0.07, self.w_try),
            (0.05, self.w_with),
            (0.05, self.w_while),
            (0.04, self.w_forelse),
            (0.06, self.w_shadow_builtin),
            (0.05, self.w_rebind_module),
            (0.04, self.w_monkeypatch),
            (0.03, self.w_comprehension),
            (0.02, self.w_global),
            (0.04, self.w_threads),
            (0.05, self.w_odd),
            (0.02, self.w_match),
            (0.02, self.w_async),
            (0.03, self.w_decorated),
            (0.03, self.w_kwargs),
            (0.04, self.w_repeat),
            (0.02, self.w_nested_closure),
        ]
        if self.large:
            # no loops around the blocks: each nest runs once
            settings = [
                (w, fn)
                for w, fn in settings
                if fn
                not in (
                    self.w_while,
                    self.w_forelse,
                    self.w_recursion,
                    self.w_generator,
                    self.w_threads,
                    self.w_closure,
                    self.w_comprehension,
                    self.w_nested_closure,
                    self.w_repeat,
                    self.w_decorated,
                )
            ]
        total = sum(w for w, _ in settings)
        x *= total
        for w, fn in settings:
            if x < w:
                return fn(ctx)
            x -= w
        return self.w_plain(ctx)

    def w_plain(self, ctx):
        self.feat("top level")
        return self.block(ctx.child())

    def call_args(self):
        r = self.r
        args = []
        for a in self.arrays:
            x = r.random()
            same = [b for b in self.arrays if b is not a and b.dtype == a.dtype and b.ndim == a.ndim]
            if a.ndim == 1 and x < 0.1:
                self.feat("aliased view argument")
                args.append(f"{a.name}[::-1]")
            elif same and x < 0.16:
                self.feat("one array for two parameters")
                args.append(r.choice(same).name)
            elif x < 0.2 and a.dtype in ("float64", "float32", "int64", "int32"):
                self.feat("argument of another dtype")
                other = {"float64": "float32", "float32": "float64", "int64": "int32", "int32": "float64"}[a.dtype]
                args.append(f"{a.name}.astype(np.{other})")
            elif x < 0.22 and a.ndim == 2:
                self.feat("non-contiguous argument")
                args.append(f"np.asfortranarray({a.name})")
            else:
                args.append(a.name)
        nn = "n"
        if r.random() < 0.06:
            self.feat("call with larger n")
            nn = "n + 1"
        elif r.random() < 0.06:
            nn = "max(n - 1, 0)"
        return args, nn

    def params(self):
        return [a.name for a in self.arrays] + ["n", "m"]

    def func_body(self, ctx, nblocks=None):
        r = self.r
        lines = []
        for _ in range(nblocks or r.randint(1, 2)):
            lines += self.block(ctx)
        return lines

    def ret_line(self, ctx):
        p = self.pad(ctx)
        names = [n for n in sorted(ctx.scalars) if ctx.scalars[n] != "int"]
        if names:
            return [f"{p}return {', '.join(names)}"]
        return [f"{p}return {self.ref(ctx, self.r.choice(self.arrays)) if False else 'None'}"]

    def call_line(self, fname, extra=(), via_call=True, target=None):
        args, nn = self.call_args()
        allargs = args + [nn, "m"] + list(extra)
        target = target or self.fresh("r")
        if via_call:
            return f"{target} = CALL({fname}, {', '.join(allargs)})"
        return f"{target} = {fname}({', '.join(allargs)})"

    def w_function(self, ctx):
        r = self.r
        self.feat("function")
        fname = self.fresh("f")
        fctx = Ctx("func", 1)
        fctx.can_return = True
        jit = r.random() < 0.25
        lines = []
        if jit:
            self.feat("@JIT")
            lines.append("@JIT")
        extra = []
        if r.random() < 0.25:
            self.feat("builtin parameter default")
            extra = [r.choice(["max=min", "abs=round", "len=len", "float=float"])]
            pname = extra[0].split("=")[0]
            fctx.prefer.add(pname)
        lines.append(f"def {fname}({', '.join(self.params() + extra)}):")
        body = self.func_body(fctx)
        if r.random() < 0.15:
            self.feat("loop after early return")
            body += ["    if n < 3:", "        return -1"] + self.block(fctx)
        lines += body + self.ret_line(fctx)
        lines.append(self.call_line(fname, via_call=not jit))
        if r.random() < 0.2:
            lines.append(self.call_line(fname, via_call=not jit))
        return lines

    def w_closure(self, ctx):
        self.feat("closure (nonlocal)")
        fname = self.fresh("outer")
        lines = [f"def {fname}({', '.join(self.params())}):"]
        fctx = Ctx("func", 1)
        init = self.scalar_inits(fctx, "    ")
        lines += init
        names = sorted(fctx.scalars)
        ictx = Ctx("func", 2)
        ictx.scalars = dict(fctx.scalars)
        ictx.can_return = True
        lines.append("    def inner(kk):")
        lines.append(f"        nonlocal {', '.join(names)}")
        lines += self.nest(ictx, self.r.choice([1, 2]), self.r.choice([None, None, 0]), force=None)
        lines.append("        return kk")
        lines.append("    for rep in (1, 2):")
        lines.append("        inner(rep)")
        lines.append(f"    return {', '.join(names)}")
        lines.append(self.call_line(fname))
        return lines

    def w_factory(self, ctx):
        self.feat("factory (closure over arrays)")
        fname = self.fresh("make")
        kname = self.fresh("kern")
        arrays = ", ".join(a.name for a in self.arrays)
        lines = [f"def {fname}({arrays}, n):", "    def kernel(m):"]
        ictx = Ctx("func", 2)
        ictx.can_return = True
        lines += self.block(ictx)
        lines += self.ret_line(ictx)
        lines.append("    return kernel")
        lines.append(f"{kname} = {fname}({arrays}, n)")
        lines.append(f"{self.fresh('r')} = CALL({kname}, m)")
        return lines

    def w_method(self, ctx):
        self.feat("method with private names")
        cname = self.fresh("Acc")
        arrays = [a.name for a in self.arrays]
        lines = [f"class {cname}:", "    __scale = 2.0", f"    def __init__(self, {', '.join(arrays)}, n, m):"]
        for a in arrays:
            lines.append(f"        self.__{a} = {a}")
        lines += [
            "        self.__n = n",
            "        self.m = m",
            "        self.__hits = 0",
            "        self.total = 0.0",
            "    def __helper(self, x):",
            "        return x * self.__scale",
            "    def run(self, kk):",
        ]
        for a in arrays:
            lines.append(f"        {a} = self.__{a}")
        lines += ["        n = self.__n", "        m = self.m"]
        mctx = Ctx("method", 2)
        mctx.private = cname
        mctx.can_return = True
        p = "        "
        init = []
        # a private local accumulator: mangled by the compiler
        init.append(f"{p}__acc = 0.0")
        mctx.scalars["__acc"] = "float"
        lines += init
        lines += self.block(mctx)
        lines.append(f"{p}self.total += __acc")
        lines += self.ret_line(mctx)
        obj = self.fresh("obj")
        lines.append(f"{obj} = {cname}({', '.join(arrays)}, n, m)")
        lines.append(f"{self.fresh('r')} = CALL({cname}.run, {obj}, 1)")
        if self.r.random() < 0.4:
            lines.append(f"{self.fresh('r')} = {obj}.run(2)")
        lines.append(f"print({obj}.total, {obj}._{cname}__hits)")
        return lines

    def w_classbody(self, ctx):
        self.feat("loop in class body")
        cname = self.fresh("K")
        cctx = Ctx("class", 1)
        lines = [f"class {cname}:", "    __tot = 0.0", "    cnt = 0"]
        cctx.scalars["__tot"] = "float"
        lines += self.nest(cctx, self.r.choice([1, 2]), self.r.choice([None, None, 0]))
        lines.append(f"print({cname}._{cname}__tot, {cname}.cnt)")
        return lines

    def w_generator(self, ctx):
        self.feat("generator")
        fname = self.fresh("gen")
        lines = [f"def {fname}({', '.join(self.params())}):", "    for rep in range(2):"]
        gctx = Ctx("gen", 2)
        gctx.in_gen = True
        lines += self.block(gctx)
        names = [n for n in sorted(gctx.scalars)]
        lines.append(f"        yield rep, {', '.join(names) if names else 'rep'}")
        g = self.fresh("g")
        lines.append(self.call_line(fname, target=g))
        lines.append(f"{self.fresh('vals')} = list({g})")
        return lines

    def w_recursion(self, ctx):
        self.feat("recursion")
        fname = self.fresh("rec")
        jit = self.r.random() < 0.3
        lines = ["@JIT"] if jit else []
        params = self.params() + ["d"]
        lines += [f"def {fname}({', '.join(params)}):", "    if d <= 0:", "        return 0"]
        fctx = Ctx("func", 1)
        lines += self.block(fctx)
        names = [n for n in sorted(fctx.scalars) if fctx.scalars[n] in ("float", "bigint", "c2f")]
        acc = names[0] if names else "0"
        lines.append(f"    return {acc} + {fname}({', '.join(params[:-1])}, d - 1)")
        lines.append(self.call_line(fname, extra=[str(self.r.randint(1, 3))], via_call=not jit))
        return lines

    def w_try(self, ctx):
        self.feat("try/except/finally")
        r = self.r
        lines = ["try:"]
        inner = ctx.child(indent=1)
        lines += self.block(inner)
        exc = r.choice(
            [
                "(IndexError, ZeroDivisionError)",
                "Exception",
                "IndexError",
                "ArithmeticError",
                "(TypeError, ValueError, OverflowError)",
            ]
        )
        lines += [f"except {exc} as e:", "    print('caught', type(e).__name__, e)"]
        if r.random() < 0.5:
            lines += self.block(ctx.child(indent=1), allow_decline=True)
        if r.random() < 0.5:
            lines += ["else:", "    print('no exception')"]
        lines += ["finally:", "    print('finally')"]
        if r.random() < 0.4:
            lines += self.block(ctx.child(indent=1))
        return lines

    def w_with(self, ctx):
        self.feat("with")
        r = self.r
        swallow = r.random() < 0.5
        lines = [f"with Tracer('w', swallow={swallow}):"]
        lines += self.block(ctx.child(indent=1))
        return lines

    def w_while(self, ctx):
        self.feat("while around nests")
        r = self.r
        lines = ["wi = 0", f"while wi < {r.randint(1, 3)}:", "    wi += 1"]
        lines += self.block(ctx.child(indent=1))
        if r.random() < 0.5:
            lines += [f"    if wi == {r.randint(1, 2)}:", "        break"]
        if r.random() < 0.5:
            lines += ["else:", "    print('while done', wi)"]
        return lines

    def w_forelse(self, ctx):
        self.feat("for-else with break")
        r = self.r
        x = r.random()
        if x < 0.5:
            lines = ["for xv in [1, 2, 3]:"]
            inner = ctx.child(indent=1)
            lines += self.block(inner)
            lines += [f"    if xv == {r.randint(1, 4)}:", "        break"]
        else:
            # a range loop with break: declined, with accepted nests inside
            lines = [f"for xv in range({r.randint(1, 3)}):"]
            inner = ctx.child(indent=1)
            inner.loops = [Loop("xv", None)]
            lines += self.block(inner, allow_decline=False)
            lines += [f"    if xv == {r.randint(0, 2)}:", "        break"]
        lines += ["else:", "    print('no break')"]
        return lines

    def w_shadow_builtin(self, ctx):
        r = self.r
        name = r.choice(BUILTINS_TO_SHADOW)
        self.feat(f"shadowed builtin {name}")
        defs = {
            "abs": ["def abs(x):", "    return x + 100"],
            "min": ["min = max"],
            "max": ["max = min"],
            "len": ["len = lambda x: 2"],
            "range": ["def range(*a):", "    return list(builtins.range(*a))[::-1]"],
            "float": ["float = lambda x: 0.25"],
            "int": ["int = lambda x: 3"],
            "round": ["round = lambda x: -7.0"],
        }
        if r.random() < 0.5:
            # global shadow, restored afterwards
            lines = ["import builtins"] + defs[name] + ["try:"]
            inner = ctx.child(indent=1)
            inner.prefer = {name} if name not in ("range",) else set()
            if name == "len":
                inner.prefer = set()
            lines += self.block(inner)
            lines += ["finally:", f"    del {name}"]
            return lines
        # local shadow in a function
        fname = self.fresh("sh")
        lines = ["import builtins", f"def {fname}({', '.join(self.params())}):"]
        lines += ["    " + s for s in defs[name]]
        fctx = Ctx("func", 1)
        fctx.prefer = {name} if name not in ("range", "len") else set()
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        lines.append(self.call_line(fname))
        return lines

    def w_rebind_module(self, ctx):
        r = self.r
        mod = r.choice(["np", "math"])
        self.feat(f"rebound module {mod}")
        fake = r.choice(["fake", "other"])
        if mod == "np":
            rebind = [
                "np = types.SimpleNamespace(sqrt=lambda x: -1.0, minimum=lambda a, b: 99.0,"
                " maximum=lambda a, b: -99.0, abs=lambda x: 5.0, float32=numpy.float32, int64=numpy.int64)"
            ]
            if fake == "other":
                # np.sqrt is now math.sqrt: ValueError where NumPy gives NaN
                rebind = ["np = types.SimpleNamespace(**vars(mathmod), float32=numpy.float32, int64=numpy.int64)"]
            prefer = {"np.sqrt", "np.minimum", "np.maximum"} if fake == "fake" else {"np.sqrt"}
            restore = "np = numpy"
        else:
            rebind = [
                "math = types.SimpleNamespace(sqrt=lambda x: -2.0, floor=lambda x: 11, exp=lambda x: 0.5,"
                " inf=float('inf'), nan=float('nan'), pi=3.0)"
            ]
            if fake == "other":
                rebind = ["math = numpy"]  # math.sqrt(-1) is NaN now
            prefer = {"math.sqrt", "math.floor"}
            restore = "math = mathmod"
        imports = ["import types", "import numpy", "import math as mathmod"]
        if r.random() < 0.5:
            lines = imports + rebind + ["try:"]
            inner = ctx.child(indent=1)
            inner.prefer = prefer
            lines += self.block(inner)
            lines += ["finally:", f"    {restore}"]
            return lines
        fname = self.fresh("rb")
        lines = imports + [f"def {fname}({', '.join(self.params())}):"] + ["    " + x for x in rebind]
        fctx = Ctx("func", 1)
        fctx.prefer = prefer
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        lines.append(self.call_line(fname))
        return lines

    def w_monkeypatch(self, ctx):
        r = self.r
        target, repl = r.choice(
            [
                ("math.sqrt", "lambda x: x + 0.5"),
                ("math.floor", "lambda x: 42"),
                ("np.sqrt", "lambda x: x * 0 - 3.0"),
                ("np.minimum", "np.maximum"),
                ("math.exp", "lambda x: 1.0"),
            ]
        )
        self.feat(f"monkeypatched {target}")
        save = "saved_" + target.replace(".", "_")
        lines = [f"{save} = {target}", f"{target} = {repl}", "try:"]
        inner = ctx.child(indent=1)
        inner.prefer = {target}
        if r.random() < 0.5:
            lines += self.block(inner)
        else:
            fname = self.fresh("mp")
            lines += [f"    def {fname}({', '.join(self.params())}):"]
            fctx = Ctx("func", 2)
            fctx.prefer = {target}
            lines += self.block(fctx)
            lines += self.ret_line(fctx)
            lines.append("    " + self.call_line(fname))
        lines += ["finally:", f"    {target} = {save}"]
        return lines

    def w_comprehension(self, ctx):
        self.feat("comprehension/lambda around calls")
        fname = self.fresh("cf")
        lines = [f"def {fname}({', '.join(self.params() + ['kk'])}):"]
        fctx = Ctx("func", 1)
        fctx.scalars["k"] = "int"
        lines.append("    k = kk")
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        args, nn = self.call_args()
        a = ", ".join(args + [nn, "m"])
        if self.r.random() < 0.5:
            lines.append(f"{self.fresh('vals')} = [CALL({fname}, {a}, kk) for kk in range(2)]")
        else:
            lines.append(f"lam = lambda kk: CALL({fname}, {a}, kk)")
            lines.append(f"{self.fresh('vals')} = list(map(lam, range(2)))")
        return lines

    def w_global(self, ctx):
        self.feat("global statement")
        fname = self.fresh("gl")
        tctx = Ctx("top", 0)
        lines = self.scalar_inits(tctx, "")
        fctx = Ctx("func", 1)
        fctx.scalars = dict(tctx.scalars)
        names = sorted(fctx.scalars)
        lines.append(f"def {fname}({', '.join(self.params())}):")
        lines.append(f"    global {', '.join(names)}")
        lines += self.nest(fctx, self.r.choice([1, 2, 3]), self.r.choice([None, None, 0]))
        lines.append(self.call_line(fname))
        lines.append(f"print({', '.join(names)})")
        return lines

    def w_big(self, ctx):
        """Large programs: an n x n nest over W with no declined part, at the
        top level or in a function."""
        self.feat("n x n nest")
        r = self.r
        inner_ctx = ctx.child()
        lines = self.scalar_inits(inner_ctx, "")
        lines += ["for i in range(n):", "    for j in range(n):"]
        body_ctx = inner_ctx.child(indent=2)
        body_ctx.loops = [Loop("i", "N"), Loop("j", "N")]
        body_ctx.trips = self.n * self.n
        w = self.arr("W")
        for _ in range(r.randint(1, 3)):
            if r.random() < 0.5:
                lines += self.stmt(body_ctx)
            else:
                e = self.float_expr(body_ctx) if w.dtype.startswith("float") else self.int_expr(body_ctx)
                lines.append(f"        W[i, j] {r.choice(['=', '+=', '='])} {e}")
        shown = sorted(inner_ctx.scalars)
        if shown:
            lines.append(f"print({', '.join(shown)})")
        if r.random() < 0.5:
            fname = self.fresh("big")
            lines = [f"def {fname}({', '.join(self.params())}):"] + ["    " + x for x in lines]
            lines.append(self.call_line(fname))
        return lines

    def w_threads(self, ctx):
        """The same function on copies of the data in several threads."""
        self.feat("threads")
        r = self.r
        fname = self.fresh("th")
        fctx = Ctx("func", 1)
        fctx.quiet = True
        fctx.can_return = True
        lines = [f"def {fname}({', '.join(self.params())}):"]
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        k = r.randint(2, 4)
        arrays = ", ".join(a.name for a in self.arrays)
        lines += [
            "import threading",
            f"copies = [[x.copy() for x in ({arrays},)] for _ in range({k})]",
            f"results = [None] * {k}",
            "def worker(w):",
            "    try:",
            f"        results[w] = CALL({fname}, *copies[w], n, m)",
            "    except Exception as e:",
            "        results[w] = (type(e).__name__, str(e))",
            f"threads = [threading.Thread(target=worker, args=(w,)) for w in range({k})]",
            "for th in threads:",
            "    th.start()",
            "for th in threads:",
            "    th.join()",
            "del threads, th",
            "print(results)",
        ]
        return lines

    def w_odd(self, ctx):
        """A nest over an array of an odd kind (read-only, byte-swapped,
        Fortran order, float16, object, masked, a list, a stride-0 view...)."""
        r = self.r
        src = r.choice([a for a in self.arrays if a.dtype not in ("complex128",)])
        kinds = [
            "readonly",
            "byteswapped",
            "float16",
            "object",
            "masked",
            "list",
            "stride0",
            "reversed",
            "view",
            "int8",
            "uint64",
            "longdouble",
            "float32",
            "matrix",
        ]
        if src.ndim == 2:
            kinds += ["fortran", "fortran", "transposed"]
        kind = r.choice(kinds)
        self.feat(f"odd array: {kind}")
        a = src.name
        make = {
            "readonly": f"OD = {a}.copy(); OD.flags.writeable = False",
            "byteswapped": f"OD = {a}.astype({a}.dtype.newbyteorder('>'))",
            "float16": f"OD = {a}.astype(np.float16)",
            "object": f"OD = {a}.astype(object)",
            "masked": f"OD = np.ma.masked_array({a}, mask=np.arange({a}.size).reshape({a}.shape) % 3 == 1)",
            "list": f"OD = {a}.tolist()",
            "stride0": f"OD = np.lib.stride_tricks.as_strided({a}, shape={a}.shape, strides=(0,) * {a}.ndim)",
            "reversed": f"OD = {a}[::-1]",
            "view": f"OD = {a}.view(np.int64) if {a}.dtype.itemsize == 8 else {a}.view(np.uint8)",
            "int8": f"OD = {a}.astype(np.int8)",
            "uint64": f"OD = np.abs({a}).astype(np.uint64)",
            "longdouble": f"OD = {a}.astype(np.longdouble)",
            "float32": f"OD = {a}.astype(np.float32)",
            "matrix": f"OD = np.matrix({a})",
            "fortran": f"OD = np.asfortranarray({a})",
            "transposed": f"OD = np.ascontiguousarray({a}.T).T",
        }[kind]
        od = Arr("OD", "float64", src.ndim, exact=False)
        if kind in ("list",) and src.ndim == 2:
            od = Arr("OD", "float64", 2, exact=False)
        if kind == "view":
            od.dtype = "int64"
        if kind == "matrix" and src.ndim == 1:
            # a 1-D array becomes a 1 x n matrix: OD[0, i]
            make = f"OD = np.matrix({a}).T"
            od.ndim = 2
            self.feat("matrix column")
        self.arrays.append(od)
        try:
            lines = make.split("; ")
            inner = ctx.child()
            lines += self.block(inner)
            # make sure the odd array is read and written in one nest
            lines += self.nest(
                ctx,
                1,
                None,
                force=lambda c: [
                    f"{self.ref(c, od)} = {self.ref(c, od)} * 2 + 1",
                    f"{self.ref(c, self.arr('Q'))} = {self.ref(c, od)}",
                ],
            )
            lines.append("print(OD)")
        finally:
            self.arrays.remove(od)
        return lines

    def w_match(self, ctx):
        self.feat("match statement")
        lines = ["match n % 3:"]
        for case in ("0", "1", "_"):
            lines.append(f"    case {case}:")
            lines += self.block(ctx.child(indent=2))
        return lines

    def w_async(self, ctx):
        self.feat("async function")
        fname = self.fresh("af")
        fctx = Ctx("func", 1)
        fctx.can_return = True
        lines = ["import asyncio", f"async def {fname}({', '.join(self.params())}):"]
        lines += self.block(fctx)
        lines.append("    await asyncio.sleep(0)")
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        args, nn = self.call_args()
        lines.append(f"{self.fresh('r')} = asyncio.run(CALL({fname}, {', '.join(args + [nn, 'm'])}))")
        return lines

    def w_decorated(self, ctx):
        self.feat("decorated function")
        r = self.r
        fname = self.fresh("dec")
        kind = r.choice(["wraps", "wraps", "lru_cache", "staticmethod"])
        fctx = Ctx("func", 1)
        fctx.can_return = True
        if kind == "lru_cache":
            # cached on its scalar argument; the arrays are globals
            lines = ["import functools", "@functools.lru_cache(maxsize=None)", f"def {fname}(n, m):"]
            lines += self.block(fctx)
            lines += self.ret_line(fctx)
            lines += [
                f"{self.fresh('r')} = CALL({fname}, n, m)",
                f"{self.fresh('r')} = CALL({fname}, n, m)",
                f"{self.fresh('r')} = {fname}(n, m)",
            ]
            return lines
        if kind == "staticmethod":
            cname = self.fresh("S")
            lines = [f"class {cname}:", "    @staticmethod", f"    def run({', '.join(self.params())}):"]
            fctx.indent = 2
            lines += self.block(fctx)
            lines += self.ret_line(fctx)
            lines.append(self.call_line(f"{cname}.run"))
            lines.append(self.call_line(f"{cname}().run", via_call=False))
            return lines
        lines = [
            "import functools",
            "def twice(f):",
            "    @functools.wraps(f)",
            "    def wrapper(*a, **k):",
            "        print('call', f.__name__)",
            "        f(*a, **k)",
            "        return f(*a, **k)",
            "    return wrapper",
            "@twice",
            f"def {fname}({', '.join(self.params())}):",
        ]
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        lines.append(self.call_line(fname))
        return lines

    def w_kwargs(self, ctx):
        self.feat("keyword arguments")
        r = self.r
        fname = self.fresh("kw")
        fctx = Ctx("func", 1)
        fctx.can_return = True
        fctx.scalars["k"] = "int"
        params = [a.name for a in self.arrays]
        lines = [
            f"def {fname}({', '.join(params)}, *, n, m=1, k=2, scale=0.5, **extra):",
            "    scale = scale + len(extra)",
        ]
        lines += self.block(fctx)
        lines += self.ret_line(fctx)
        args = ", ".join(params)
        lines.append(f"{self.fresh('r')} = CALL({fname}, {args}, n=n, m=m, k={r.randint(-2, 3)}, flag=True)")
        lines.append(f"{self.fresh('r')} = CALL({fname}, {args}, m=m, n=n)")
        return lines

    def w_repeat(self, ctx):
        """A block seen before runs again, sometimes after an array changed dtype."""
        r = self.r
        if not self.repeatable:
            return self.w_plain(ctx)
        self.feat("block run again")
        lines = []
        if r.random() < 0.5:
            cands = [a for a in self.arrays if a.dtype in ("float64", "float32", "int64", "int32")]
            if cands:
                a = r.choice(cands)
                new = {"float64": "float32", "float32": "float64", "int64": "float64", "int32": "int64"}[a.dtype]
                self.feat("array changes dtype")
                lines.append(f"{a.name} = {a.name}.astype(np.{new})")
                a.dtype = new
        lines.append(r.choice(self.repeatable))
        return lines

    def w_nested_closure(self, ctx):
        self.feat("two levels of closures")
        fname = self.fresh("lvl")
        lines = [
            f"def {fname}({', '.join(self.params())}):",
            "    s = 0.0",
            "    def mid(kk):",
            "        t2 = kk",
            "        def inner():",
            "            nonlocal t2",
            "            global log",
        ]
        ictx = Ctx("func", 3)
        ictx.scalars = {"t2": "bigint"}
        lines += self.nest(ictx, self.r.choice([1, 2]), self.r.choice([None, None, 0]))
        lines += [
            "            return t2",
            "        inner()",
            "        return t2 + inner()",
            "    return mid(1) + mid(2)",
        ]
        lines.append(self.call_line(fname))
        return lines

    # --- the program -------------------------------------------------------------------------
    def data_cell(self):
        r = self.r
        n, m = self.n, self.m
        lines = ["import math", "import numpy as np", "import builtins", "import fractions", "import decimal"]
        lines.append(f"n = {'np.int64(%d)' % n if self.n_is_np else n}")
        if self.n_is_np:
            self.feat("n is np.int64")
        lines.append(f"m = {m}")
        lines.append(f"ni = np.{r.choice(['int64', 'int32', 'int64'])}({n})")
        lines.append(f"fb = {r.choice(['3.0', 'float(n)', 'np.float64(2)'])}")
        lines.append(f"st = {r.choice(['2', '2', 'np.int64(2)', '-1', '0', '3'])}")
        specials = ["math.nan", "math.inf", "-math.inf", "-0.0"]
        for a in self.arrays:
            size = n if a.ndim == 1 else n * m
            if self.large:
                lines += self.large_data(a)
                continue
            if a.dtype == "bool":
                vals = [r.choice(["True", "False"]) for _ in range(size)]
            elif a.dtype == "complex128":
                vals = [f"{r.randint(-3, 3)}+{r.randint(-2, 2)}j" for _ in range(size)]
            elif a.dtype.startswith("float") and not a.exact:
                vals = [f"{r.uniform(-4, 4):.3f}" for _ in range(size)]
            elif a.dtype.startswith("float"):
                vals = [f"{r.randint(-4, 4)}.0" for _ in range(size)]
                if self.special and size and r.random() < 0.6:
                    for _ in range(r.randint(1, 2)):
                        vals[r.randrange(size)] = r.choice(specials)
                    self.feat("NaN/inf/-0.0 data")
            elif a.dtype == "uint8":
                vals = [str(r.randint(0, 255)) for _ in range(size)]
            else:
                vals = [str(r.randint(-6, 6)) for _ in range(size)]
            text = f"np.array([{', '.join(vals)}], dtype='{a.dtype}')"
            if a.ndim == 2:
                text += f".reshape({n}, {m})"
            lines.append(f"{a.name} = {text}")
        lines += [
            "log = []",
            "class Counter:",
            "    hits = 0",
            "counter = Counter()",
            "def helper(x):",
            "    return x * 3 - 1",
            "class Tracer:",
            "    def __init__(self, tag, swallow=False):",
            "        self.tag = tag",
            "        self.swallow = swallow",
            "    def __enter__(self):",
            "        print('enter', self.tag)",
            "        return self",
            "    def __exit__(self, et, ev, tb):",
            "        print('exit', self.tag, et.__name__ if et else None)",
            "        return self.swallow",
        ]
        return "\n".join(lines) + "\n"

    def large_data(self, a):
        r = self.r
        shape = "n" if a.ndim == 1 else "n, n" if a.square else "n, m"
        size = "n" if a.ndim == 1 else "n * n" if a.square else "n * m"
        k, c = r.choice([3, 5, 7]), r.randint(0, 8)
        if a.dtype == "bool":
            text = f"(np.arange({size}) * {k} + {c}) % 3 == 0"
        elif a.dtype == "complex128":
            text = f"(np.arange({size}) % 5 - 2) + 1j * (np.arange({size}) % 3)"
        elif not a.exact:
            text = f"np.arange({size}) * {r.choice(['0.37', '0.011', '-0.73'])} + {r.uniform(-2, 2):.2f}"
        elif a.dtype == "uint8":
            text = f"np.arange({size}) * {k} % 256"
        else:
            text = f"(np.arange({size}) * {k} + {c}) % 9 - 4"
        out = [f"{a.name} = np.array({text}, dtype='{a.dtype}').reshape({shape})"]
        if self.special and a.dtype.startswith("float"):
            for _ in range(r.randint(1, 2)):
                out.append(f"{a.name}.flat[{r.randrange(self.n)}] = {r.choice(['math.nan', 'math.inf', '-0.0'])}")
            self.feat("NaN/inf/-0.0 data")
        return out

    def build(self) -> Program:
        r = self.r
        cells = [self.data_cell()]
        if self.large and not ONLY_NEWEST:
            cells.append("\n".join(self.w_big(Ctx("top", 0))) + "\n")
        for _ in range(0 if ONLY_NEWEST else r.randint(1, 2 if self.large else 4)):
            lines = []
            for _ in range(1 if self.large else r.randint(1, 2)):
                lines += self.wrap(Ctx("top", 0))
            if r.random() < 0.25:
                lines.append("print(" + ", ".join(a.name for a in self.arrays[:2]) + ")")
            cells.append("\n".join(lines) + "\n")
        extra = Extra(self.seed, self.n, self.m, self.large)
        cells += extra.cells()
        self.features |= extra.features
        return Program(self.seed, cells, self.features)


# --- constructs that run natively since the engine learnt them: lists filled
# with append, arrays made afresh in each pass of a loop, variables holding an
# int then a small NumPy integer (or a float then an int) ---------------------------------

EXTRA_SHARE = 0.25  # programs that get cells of these constructs
NEW_SHARE = 0.35  # programs that get cells of the newer ones (Extra.new_cells)
NEWEST_SHARE = 0.35  # programs that get cells of the newest ones (Extra.newest_cells)
# PROGEN_ONLY_NEWEST=1: the data cell, then only the newest constructs' cells
ONLY_NEWEST = os.environ.get("PROGEN_ONLY_NEWEST", "") not in ("", "0")


class Extra:
    """Cells appended to about one program in four: appends to lists (and to
    things that are not lists), arrays made in each pass of a loop, variables
    of two kinds under data branches. Drawn from a random stream of its own,
    so the cells ``Gen`` makes for a seed stay as they were. A second stream
    (``new_cells``, about one program in three) adds chained assignments,
    divmod, math.fmod/copysign, Python lists and tuples read in a nest,
    np.median of 1-D and 2-D windows and scalars assigned in some iterations
    only, accepted and declined shapes both."""

    def __init__(self, seed, n, m, large):
        self.r = random.Random(seed * 7919 + 104729)
        self.n, self.m, self.large = n, m, large
        self.features: Set[str] = set()
        self.uid = 0
        self.q = random.Random(seed * 6007 + 31337)  # the newer constructs' stream
        self.z = random.Random(seed * 4999 + 271829)  # the newest constructs' stream
        self.top = False

    def fresh(self, base):
        self.uid += 1
        return f"x{base}{self.uid}"

    def cells(self) -> List[str]:
        if ONLY_NEWEST:
            return self.newest_cells(force=True)
        return self.older_cells() + self.new_cells() + self.newest_cells()

    def older_cells(self) -> List[str]:
        r = self.r
        if r.random() >= EXTRA_SHARE:
            return []
        self.features.add("new constructs")
        out = [self.data()]
        makers = [
            self.append_fn,
            self.append_fn,
            self.append_top,
            self.fresh_fn,
            self.fresh_fn,
            self.fresh_top,
            self.mixed_fn,
            self.mixed_fn,
            self.mixed_top,
        ]
        for _ in range(r.randint(1, 3)):
            out.append("\n".join(r.choice(makers)()) + "\n")
        return out

    # --- data -------------------------------------------------------------------------------
    def data(self):
        r = self.r
        n = self.n
        vals = [r.randint(-4, 4) for _ in range(n)]
        udt = r.choice(["uint8", "uint8", "int8", "uint16"])
        hi = {"uint8": 255, "int8": 127, "uint16": 65535}[udt]
        lo = -128 if udt == "int8" else 0
        u8 = [r.choice([lo, 0, 1, 7, hi, r.randint(lo, hi)]) for _ in range(n * self.m)]
        lines = [
            "import collections",
            f"XF = np.array({[float(v) for v in vals]}, dtype=np.{r.choice(['float64', 'float64', 'float32'])})",
            f"XI = np.array({vals}, dtype=np.{r.choice(['int64', 'int64', 'int32', 'int16'])})",
            f"XU = np.array({u8}, dtype=np.{udt}).reshape({n}, {self.m})",
            f"XB = XF > {r.choice([0, 1, -1])}",
            "class SubList(list):",
            "    pass",
            "class Sink:",
            "    def __init__(self):",
            "        self.items = []",
            "    def append(self, x):",
            "        self.items.append(x * 2)",
            "def peek(xs):",
            "    return len(xs)",
        ]
        return "\n".join(lines) + "\n"

    # --- list.append ------------------------------------------------------------------------
    def container(self):
        r = self.r
        x = r.random()
        if x < 0.6:
            return r.choice(["[]", "[]", "[1, 2]", "[0.5]", "list(range(3))", "[(0, 0)]"]), "list"
        self.features.add("append to a non-list")
        return r.choice(["SubList()", "collections.deque()", "Sink()", "SubList([9])", "np.zeros(2)"]), "odd"

    def append_value(self, ivars):
        r = self.r
        i = ivars[-1]
        j = r.choice(ivars)
        vals = [
            f"{i}",
            f"{i} * {j}",
            f"{i} - 3",
            "XF[%s]" % i,
            "XI[%s]" % i,
            "float(XF[%s])" % i,
            "int(XI[%s])" % i,
            "XF[%s] * 2" % i,
            "XI[%s] + %s" % (i, j),
            "XB[%s]" % i,
            "XF[%s] > 0" % i,
            f"{i} % 2 == 0",
            f"({i}, {j})",
            f"{i} / 2",
            "1.5",
            "True",
            "np.int64(%s)" % i,
            "np.float32(%s)" % i,
            "XU[%s %% XU.shape[0], 0]" % i if self.n else "0",
            f"-{i}",
            f"{i} * 2 ** 62",
            "abs(XI[%s])" % i,
            "min(XF[%s], 0.0)" % i,
            f"{i} if XF[{i}] > 0 else -1",
            f"{i} if XF[{i}] > 0 else 0.5",
        ]
        return r.choice(vals)

    def loops(self, body_fn, pad):
        """Lines of a loop nest (one to three loops, triangular, zero trips,
        for-else), with body_fn(ivars, pad) giving the innermost lines."""
        r = self.r
        lines = []
        depth = r.choice([1, 1, 2, 2] if self.large else [1, 1, 2, 2, 3])  # large: n in the hundreds
        ivars = []
        for d in range(depth):
            v = "ijk"[d]
            if d == 0:
                bound = r.choice(["n", "n", "len(XF)", "0", "n - 1", "XF.shape[0]"])
                rng = f"range({bound})"
            else:
                bound = r.choice(["m", f"{ivars[-1]}", f"{ivars[-1]} + 1", "2", "n"])
                rng = r.choice([f"range({bound})", f"range({ivars[-1]}, n)"]) if bound == "n" else f"range({bound})"
            lines.append(f"{pad}for {v} in {rng}:")
            ivars.append(v)
            pad += "    "
        inner = body_fn(ivars, pad)
        lines += inner
        if r.random() < 0.2:
            self.features.add("append in for-else")
            pad0 = pad[: -4 * depth]
            lines.insert(1, f"{pad0}    if XF[i] > 3:" if depth else "")
            lines.insert(2, f"{pad0}        break")
            lines.append(f"{pad0}else:")
            lines.append(f"{pad0}    done = 1")
        return lines

    def append_body(self, name, extra):
        r = self.r

        def body(ivars, pad):
            out = []
            val = self.append_value(ivars)
            if r.random() < 0.4:
                cond = r.choice([f"XF[{ivars[0]}] > 0", f"{ivars[-1]} % 2 == 1", f"XI[{ivars[-1]}] != 0", "XB[i]"])
                out.append(f"{pad}if {cond}:")
                out.append(f"{pad}    {name}.append({val})")
                if r.random() < 0.3:
                    out.append(f"{pad}else:")
                    out.append(f"{pad}    {name}.append({self.append_value(ivars)})")
            else:
                out.append(f"{pad}{name}.append({val})")
            if r.random() < 0.3:
                out.append(f"{pad}XQ[{ivars[0]}] = {ivars[-1]} * 2")
            out += [pad + x for x in extra]
            if r.random() < 0.15:
                out.append(f"{pad}{name}.append({self.append_value(ivars)})")
            return out

        return body

    def reader(self, name):
        """An extra use of the list inside the nest (each must decline) or none."""
        r = self.r
        x = r.random()
        if x < 0.6:
            return []
        self.features.add("list read in the nest")
        return [
            r.choice(
                [
                    f"t = len({name})",
                    f"t = {name}[-1]",
                    f"t = peek({name})",
                    "alias.append(-1)",
                    f"t = sum(1 for _ in {name})",
                    f"XQ[0] = len({name})",
                    f"{name}.extend([0])",
                ]
            )
        ]

    def append_fn(self):
        r = self.r
        self.features.add("list.append")
        f = self.fresh("ap")
        init, kind = self.container()
        as_param = r.random() < 0.4
        lines = []
        if r.random() < 0.2:
            lines.append("@JIT")
        params = "XF, XI, XB, XU, n, m" + (", out" if as_param else "")
        lines.append(f"def {f}({params}):")
        lines.append("    XQ = np.zeros(max(n, 1))")
        lines.append("    t = 0")
        if not as_param:
            lines.append(f"    out = {init}")
        lines.append("    alias = out" if r.random() < 0.5 else "    alias = []")
        lines += self.loops(self.append_body("out", self.reader("out")), "    ")
        after = r.choice(["out", "len(out)", "(out, t, XQ)", "out[-1] if len(out) else None", "[x for x in out]"])
        if kind == "odd":
            after = "out"
        lines.append(f"    return {after}")
        call = f"CALL({f}, XF, XI, XB, XU, n, m" + (f", {init})" if as_param else ")")
        if lines[0] == "@JIT":
            call = call.replace("CALL(", "").replace(f"{f}, ", f"{f}(", 1)
        res = self.fresh("res")
        lines.append(f"{res} = {call}")
        lines.append(f"{res} = {res}.items if isinstance({res}, Sink) else {res}")
        if r.random() < 0.5:
            lines.append(f"print({res})")
        return lines

    def append_top(self):
        """A list filled at top level (the cell rewriter's hooks)."""
        self.features.add("list.append at top level")
        name = self.fresh("lst")
        init, kind = self.container()
        lines = [f"{name} = {init}", "XQ = np.zeros(max(n, 1))", "t = 0", f"alias = {name}"]
        lines += self.loops(self.append_body(name, self.reader(name)), "")
        if kind == "odd":
            lines.append(f"{name} = {name}.items if isinstance({name}, Sink) else {name}")
        return lines

    # --- arrays made in each pass -----------------------------------------------------------
    def maker(self, shape2):
        r = self.r
        dt = r.choice(
            ["", "", ", dtype=np.int64", ", dtype=np.float32", ", dtype=np.int32", ", dtype=np.uint8", ", dtype=bool"]
        )
        shape = "(n, m)" if shape2 else r.choice(["n", "n", "(n,)", "len(XF)", "n - 7", "m"])
        if shape2:
            return r.choice(
                [
                    f"np.zeros({shape}{dt})",
                    f"np.ones({shape}{dt})",
                    f"np.full({shape}, 2{dt})",
                    "XU.copy()",
                    "np.copy(XU)",
                    "np.zeros_like(XU)",
                    "np.array(XU)",
                ]
            )
        return r.choice(
            [
                f"np.zeros({shape}{dt})",
                f"np.ones({shape}{dt})",
                f"np.full({shape}, 3{dt})",
                f"np.full({shape}, 1.5)",
                "np.zeros_like(XF)",
                "np.ones_like(XI)",
                "np.copy(XF)",
                "XF.copy()",
                "XI.copy()",
                "np.array(XF)",
                "np.arange(n)",
                f"np.zeros({shape}{dt}) + 1",
            ]
        )

    def fresh_fn(self):
        r = self.r
        self.features.add("array made in each pass")
        f = self.fresh("fr")
        two = r.random() < 0.25
        lines = []
        if r.random() < 0.2:
            lines.append("@JIT")
        lines.append(f"def {f}(XF, XI, XU, n, m, steps):")
        lines.append("    acc = 0")
        lines.append("    keep = []")
        lines.append("    prev = None")
        swap = r.random() < 0.25 and not two
        if swap:
            self.features.add("arrays taking turns")
            lines.append(f"    a = {r.choice(['XF.copy()', 'np.zeros(n)', 'XI.copy()', 'np.ones(n, dtype=np.int64)'])}")
        lines.append("    for s in range(steps):")
        if swap:
            lines.append("        b = a.copy()")
            w = "b"
        else:
            w = "w"
            made = self.maker(two)
            lines.append(f"        w = {made}")
        lines.append("        for i in range(n):")
        if two:
            lines.append("            for j in range(m):")
            tgt = f"{w}[i, j]"
            pad = "                "
            src = r.choice(["XU[i, j] + s", "s * j", "XU[i, j] // 2", "i + j"])
        else:
            pad = "            "
            i = r.choice(["i", "i", "i", "n - 1 - i", "i + 1", "(i + s) % n"])
            tgt = f"{w}[{i}]"
            src = r.choice(
                [
                    "XF[i] * s",
                    "XI[i] + s",
                    f"{w}[i] + 1",
                    "s",
                    "i * s",
                    f"{w}[i - 1] + XF[i]" if swap else "XF[i] - XI[i]",
                    "a[i - 1] + a[i]" if swap else "XF[i]",
                ]
            )
            # mostly values the array's dtype holds (a float stored into an
            # integer array declines)
            ints = swap or any(w in made for w in ("int", "uint8", "bool", "XI", "arange"))
            if ints and r.random() < 0.8:
                src = r.choice(["XI[i] + s", "s", "i * s", f"{w}[i] + 1", "a[i - 1] + a[i]" if swap else "XI[i]"])
        if r.random() < 0.3:
            lines.append(f"{pad}if XF[i] > 0:")
            lines.append(f"{pad}    {tgt} = {src}")
        else:
            lines.append(f"{pad}{tgt} = {src}")
        lines.append(f"        acc += {w}[0]" if r.random() < 0.5 else "        acc += s")
        esc = r.random()
        if esc < 0.15:
            self.features.add("fresh array escapes")
            lines.append(f"        keep.append({w})")
        elif esc < 0.3:
            lines.append(f"        prev = {w}")
        elif esc < 0.38:
            lines.append(f"        peek({w})")
        elif esc < 0.45:
            lines.append("        if s == 1:")
            lines.append(f"            return {w}")
        if swap:
            lines.append("        a = b")
            ret = "a, acc, keep, prev"
        else:
            ret = r.choice(["w, acc, keep, prev", "acc", "acc, keep, prev"])
        lines.append(f"    return {ret}")
        steps = r.choice(["3", "0", "1", "2", "n"])
        res = self.fresh("res")
        if lines[0] == "@JIT":
            lines.append(f"{res} = {f}(XF, XI, XU, n, m, {steps})")
        else:
            lines.append(f"{res} = CALL({f}, XF, XI, XU, n, m, {steps})")
        return lines

    def at_top(self, lines):
        """The body of a generated function as top-level code (the cell
        rewriter's hooks): its returns dropped, its parameter steps set."""
        k = next(i for i, x in enumerate(lines) if x.startswith("def "))
        call = lines[-1]
        body = lines[k + 1 : -2]  # up to the final return
        out = []
        if "steps" in lines[k]:
            out.append("steps = " + call.rsplit(",", 1)[1].strip().rstrip(")"))
        for x in body:
            if "return" in x:
                if out and out[-1].strip() == "if s == 1:":
                    out.pop()
                continue
            out.append(x[4:])
        return out

    def fresh_top(self):
        self.features.add("array made in each pass at top level")
        return self.at_top(self.fresh_fn())

    def mixed_top(self):
        self.features.add("variable of two kinds at top level")
        return self.at_top(self.mixed_fn())

    # --- variables of two kinds -------------------------------------------------------------
    def mixed_fn(self):
        r = self.r
        self.features.add("variable of two kinds")
        f = self.fresh("mk")
        lines = []
        if r.random() < 0.2:
            lines.append("@JIT")
        odt = r.choice(["np.uint8", "np.int64", "np.float64", "np.int16", "np.float32", "XU.dtype"])
        lines.append(f"def {f}(XF, XU, n, m):")
        lines.append(f"    out = np.zeros(n, dtype={odt})")
        lines.append("    acc = 0")
        lines.append("    v = 0")
        lines.append("    res = []")
        if r.random() < 0.5:
            # int then a small NumPy integer
            start = r.choice(["255", "0", "-1", "127", "300", "XU[0, 0] if n else 0"])
            op = r.choice(["<", ">", "<=", "!="])
            lines += [
                "    for i in range(n):",
                f"        v = {start}",
                "        for j in range(m):",
                f"            if XU[i, j] {op} v:",
                "                v = XU[i, j]",
            ]
        else:
            # a float then an int
            lo, hi = r.choice([("0", "255"), ("-2", "2"), ("0", "1"), ("-300", "300")])
            lines += [
                "    for i in range(n):",
                f"        v = XF[i] * {r.choice(['1.5', '0.5', '-3.0', '2'])} + {r.choice(['0.0', '1', '0.5'])}",
                f"        if v < {lo}:",
                f"            v = {lo}",
                f"        elif v > {hi}:",
                f"            v = {hi}",
            ]
        use = r.choice(
            [
                "out[i] = v",
                "out[i] = v + 1",
                "out[i] = v * 2",
                "acc += v",
                "acc = max(acc, v)",
                "out[i] = -v",
                "out[i] = float(v)",
                "out[i] = int(v)",
                "if v:\n            acc += 1",
                "out[i] = v // 2",
                "out[i] = abs(v)",
                "acc = acc + v * v",
                "out[i] = XF[int(v) % n]",
                "out[i] = v if v > 3 else 0",
                "res.append(v)",
                "if v > 2:\n            res.append(v)",
                "out[i] = XF[v % n] if n else 0",
                "acc += v\nout[i] = v - 1",
                "if v == XU[i, 0]:\n            acc += 1",
                "out[i] = min(v, 3)",
                "out[i] = v < 100",
            ]
        )
        lines += ["        " + x for x in use.split("\n")]
        lines.append("    return out, acc, v, res")
        res = self.fresh("res")
        if lines[0] == "@JIT":
            lines.append(f"{res} = {f}(XF, XU, n, m)")
        else:
            lines.append(f"{res} = CALL({f}, XF, XU, n, m)")
        return lines

    # --- constructs native since: chained assignments, divmod, math.fmod and
    # math.copysign, Python lists and tuples read in a nest, np.median of a
    # window, scalars assigned in some iterations only. Drawn from a second
    # stream of their own (self.q), so the cells above stay as they were. ---------------------
    def new_cells(self) -> List[str]:
        q = self.q
        if q.random() >= NEW_SHARE:
            return []
        self.features.add("newer constructs")
        out = [self.ydata()]
        makers = [
            self.chain_fn,
            self.chain_fn,
            self.divmod_fn,
            self.divmod_fn,
            self.fmod_fn,
            self.list_fn,
            self.list_fn,
            self.list_fn,
            self.median_fn,
            self.median_fn,
            self.last_fn,
            self.last_fn,
        ]
        for _ in range(q.randint(1, 3)):
            self.top = q.random() < 0.25
            lines = q.choice(makers)()
            if self.top:
                self.features.add("newer constructs at top level")
                lines = self.at_top(lines)
            out.append("\n".join(lines) + "\n")
        return out

    def _floats(self, k, specials, pool=(-2.5, -1.0, 0.0, 0.5, 1.5, 3.0, 7.25, -0.75, 2.0)):
        q = self.q
        vals = [repr(q.choice(pool)) for _ in range(k)]
        if specials and k:
            for _ in range(q.randint(1, 2)):
                vals[q.randrange(k)] = q.choice(["math.nan", "math.inf", "-math.inf", "-0.0", "0.0"])
        return "[" + ", ".join(vals) + "]"

    def ydata(self):
        q = self.q
        n, m = self.n, self.m
        special = q.random() < 0.45
        zero_div = q.random() < 0.3
        ints = [q.randint(-5, 5) for _ in range(n)]
        divs = [q.choice([-3, -2, -1, 1, 2, 3, 4, 7]) for _ in range(n)]
        if zero_div and n:
            self.features.add("zero divisor")
            divs[q.randrange(n)] = 0
        gdiv = self._floats(n, zero_div, pool=(-2.0, -1.5, 0.5, 1.0, 2.5, 4.0, -0.25))
        w = q.choice(
            [
                "[0.25, 0.5, 0.25]",
                "[0.25, 0.5, 0.25]",
                "[1.0, -2.0, 1.0]",
                "[0.1, 0.2, 0.4, 0.2, 0.1]",
                "(0.25, 0.5, 0.25)",
                "[0.5]",
                "[1 / 3, 1 / 3, 1 / 3]",
                "[-0.0, math.inf, 0.5]",
                "[math.nan, 0.5, 0.25]",
                "[np.float64(0.5), 0.25, 0.25]",
                "[np.float32(0.5), np.float32(0.25)]",
            ]
        )
        offs = q.choice(
            [
                "[(-1, 0), (1, 0), (0, -1), (0, 1)]",
                "[(-1, -1), (0, 0), (1, 1)]",
                "((0, 1), (1, 0))",
                "[(0, 0)]",
                "[(-1, 0), (1, 0), (0, -1), (0, 1), (0, 0)]",
            ]
        )
        cell = q.choice(["int", "int", "float", "bool"])
        if cell == "int":
            rows = [[q.randint(-3, 9) for _ in range(m)] for _ in range(n)]
        elif cell == "float":
            rows = [[q.choice([0.5, -1.25, 2.0, 3.75]) for _ in range(m)] for _ in range(n)]
        else:
            rows = [[q.random() < 0.5 for _ in range(m)] for _ in range(n)]
        ragged = [list(r_) for r_ in rows]
        if ragged:
            ragged[q.randrange(len(ragged))] = ragged[-1][: max(m - 1, 0)]
        udt = q.choice(["uint8", "uint8", "int32"])
        u8 = [q.choice([0, 1, 7, 128, 255, q.randint(0, 255)]) for _ in range(n * m)]
        pdt = q.choice(["float64", "float64", "float32"])
        big = ["[2 ** 62, 3, -(2 ** 62)]", "[2 ** 64, 1]", "[np.int64(3), 1, 2]", "[np.uint8(200), np.uint8(100)]"]
        lines = [
            "from math import fmod, copysign",
            f"YF = np.array({self._floats(n, special)}, dtype=np.{q.choice(['float64', 'float64', 'float32'])})",
            f"YG = np.array({gdiv}, dtype=np.float64)",
            f"YI = np.array({ints}, dtype=np.{q.choice(['int64', 'int64', 'int32'])})",
            f"YD = np.array({divs}, dtype=np.int64)",
            f"YU = np.array({u8}, dtype=np.{udt}).reshape({n}, {m})",
            f"YP = np.array({self._floats(n * m, special)}, dtype=np.{pdt}).reshape({n}, {m})",
            f"W = {w}",
            f"WI = {q.choice(['[1, 2, 1]', '[3, -1]', '[0, 1, 2, 3]', '[-2, 5, 7]', '(1, 2, 1)', *big])}",
            f"WB = {q.choice(['[True, False, True]', '[False]', '[True, True, False, False]', '(True, False)'])}",
            f"WM = {q.choice(['[1, 0.5, 2]', '[0.25, 1, 0.25]', '[2, True, 1]'])}",
            f"OFFS = {offs}",
            f"ML = {rows}",
            f"MR = {ragged}",
        ]
        return "\n".join(lines) + "\n"

    def _head(self, f, params, rng=None):
        # rng: the stream the cell draws from (the newest cells have their own).
        lines = []
        jit = (rng or self.q).random() < 0.2
        if jit:
            lines.append("@JIT")
        lines.append(f"def {f}({params}):")
        return lines

    def _call(self, lines, f, args):
        lines = "\n".join(lines).split("\n")
        res = self.fresh("res")
        if lines[0] == "@JIT":
            lines.append(f"{res} = {f}({args})")
        else:
            lines.append(f"{res} = CALL({f}, {args})")
        return lines

    # --- chained assignments ----------------------------------------------------------------
    def chain_fn(self):
        q = self.q
        self.features.add("chained assignment")
        f = self.fresh("ch")
        dts = ["np.int32", "np.float64", "np.uint8", "np.int64", "np.float32"]
        lines = self._head(f, "YF, YI, YU, n, m")
        lines.append(f"    a = np.zeros(n, dtype={q.choice(dts)})")
        lines.append(f"    b = np.zeros(n, dtype={q.choice(dts)})")
        lines.append(f"    c = np.zeros((n, m), dtype={q.choice(dts)})")
        lines.append("    " + q.choice(["s = t = 0.0", "s = t = 0", "s = t = 0.0", "s = t = YF[0] if n else 0.0"]))
        lines.append("    x = 0")
        kind = q.random()
        if kind < 0.5:
            lines.append(f"    for i in range({q.choice(['n', 'n', 'len(YF)', 'n - 1'])}):")
            expr = q.choice(
                [
                    "YF[i] * 2",
                    "YI[i] + i",
                    "i * 3",
                    "YI[i] // 2",
                    "YF[i] - 0.5",
                    "i - 3",
                    "YI[i] * 100",
                    "s + i",
                    "float(i)",
                    "YI[i] > 0",
                    "abs(YI[i])",
                    "i * 60",
                    "0.0",
                    "np.float32(YF[i])",
                    "YI[i] - 300",
                ]
            )
            stmt = q.choice(
                [
                    f"a[i] = b[i] = {expr}",
                    f"a[i] = b[i] = {expr}",
                    f"x = a[i] = {expr}",
                    f"a[i] = x = {expr}",
                    f"s = t = s + {expr}",
                    f"b[i] = a[i] = {expr}",
                    f"a[i] = a[n - 1 - i] = {expr}",
                    f"a[i] = b[i] = c[i, 0] = {expr}",
                    f"a[i] = a[i + 1] = {expr}",
                    f"b[i] = a[i] = b[i - 1] = {expr}",
                ]
            )
            if q.random() < 0.3:
                cond = q.choice(["YF[i] > 0", "i % 2 == 0", "YI[i] != 0"])
                lines += [f"        if {cond}:", f"            {stmt}"]
            else:
                lines.append(f"        {stmt}")
            if q.random() < 0.5:
                lines.append("        " + q.choice(["s += a[i]", "t = t + b[i] * 2", "s = t = t + x", "x = a[i]"]))
        elif kind < 0.8:
            self.features.add("chained assignment 2-D")
            lines.append("    for i in range(n):")
            lines.append(f"        for j in range({q.choice(['m', 'm', 'i', 'm - 1'])}):")
            stmt = q.choice(
                [
                    "x = c[i, j] = YU[i, j] + i",
                    "c[i, j] = a[i] = YU[i, j] // 2",
                    "x = c[i, j] = YF[i] * j",
                    "c[i, j] = x = YU[i, j] * 2",
                    "c[i, j] = b[i] = YI[i] - j",
                    "c[i, j] = c[i, m - 1 - j] = j - i",
                ]
            )
            lines.append(f"            {stmt}")
            if q.random() < 0.5:
                lines.append("            " + q.choice(["s = t = s + x", "s += c[i, j]", "t = max(t, x)"]))
        else:
            lines.append("    for i in range(n):")
            lines += [
                "        "
                + q.choice(
                    [
                        "s = t = s + YF[i]",
                        "u = v = YI[i] * 2\n        s += u\n        t -= v",
                        "u = v = YF[i]\n        s = s + u\n        t = t * 0.5 + v",
                        "s = t = max(s, YI[i])",
                    ]
                )
            ]
        lines.append("    return a, b, c, s, t, x")
        return self._call(lines, f, "YF, YI, YU, n, m")

    # --- divmod -----------------------------------------------------------------------------
    def divmod_fn(self):
        q = self.q
        self.features.add("divmod")
        f = self.fresh("dm")
        ints = [
            ("int(YI[i])", "int(YD[i])"),
            ("i - 3", "int(YD[i])"),
            ("i * 7 - 20", "3"),
            ("i", "-4"),
            ("YI[i]", "YD[i]"),
            ("i - n", "m"),
            ("YI[i] * 5", "-3"),
            ("i * 2 ** 40 - 7", "int(YD[i])"),
            ("-i", "m"),
            ("YI[i] // 1", "YD[i]"),
            ("YI[i]", "int(YD[i])"),
        ]
        floats = [
            ("float(YF[i])", "float(YG[i])"),
            ("YF[i]", "YG[i]"),
            ("YF[i]", "2.5"),
            ("i - 3.5", "-1.5"),
            ("float(YF[i])", "int(YD[i])"),
            ("i", "YG[i]"),
            ("YF[i]", "-0.75"),
        ]
        fl = q.random() < 0.45
        x, y = q.choice(floats if fl else ints)
        if fl:
            self.features.add("divmod of floats")
        dt = "np.float64" if fl else q.choice(["np.int64", "np.int64", "np.float64", "np.int32"])
        lines = self._head(f, "YF, YG, YI, YD, n, m")
        lines += [
            f"    Q = np.zeros(n, dtype={dt})",
            f"    R = np.zeros(n, dtype={dt})",
            "    q = r = 0",
            "    acc = 0",
        ]
        lines.append(f"    for i in range({q.choice(['n', 'n', 'len(YD)', 'n - 1'])}):")
        pad = "        "
        if q.random() < 0.25:
            lines.append(f"{pad}if {q.choice(['YF[i] > 0', 'i % 2 == 1', 'YD[i] != 0'])}:")
            pad += "    "
        lines.append(f"{pad}q, r = divmod({x}, {y})")
        use = q.choice(
            [
                "Q[i] = q\nR[i] = r",
                "Q[i], R[i] = q, r",
                "acc += q * 10 + r",
                "Q[i] = q\nacc = acc + r",
                "q, r = r, q\nQ[i] = q",
                "Q[i], r = divmod(r + 1, 2)",
            ]
        )
        lines += [pad + u for u in use.split("\n")]
        lines.append("    return Q, R, q, r, acc")
        return self._call(lines, f, "YF, YG, YI, YD, n, m")

    # --- math.fmod, math.copysign -----------------------------------------------------------
    def fmod_fn(self):
        q = self.q
        self.features.add("fmod/copysign")
        f = self.fresh("fm")
        fm = q.choice(["math.fmod", "fmod"])
        cs = q.choice(["math.copysign", "copysign"])
        x, y = q.choice(
            [
                ("YF[i]", "YG[i]"),
                ("YF[i]", "2.5"),
                ("i - 3", "YG[i]"),
                ("float(i)", "-0.0"),
                ("YF[i]", "-1"),
                ("YI[i]", "3"),
                ("YG[i]", "YF[i]"),
                ("YF[i] * 1e300", "0.7"),
                ("i * 2 ** 60 + 1", "7"),
                ("i - 3", "-0.0"),
                ("YD[i]", "YI[i]"),
            ]
        )
        lines = self._head(f, "YF, YG, YI, n")
        lines += ["    out = np.zeros(n)", "    sg = np.zeros(n, dtype=np.float32)", "    acc = 0.0"]
        lines.append("    for i in range(n):")
        body = q.choice(
            [
                f"out[i] = {fm}({x}, {y})",
                f"out[i] = {fm}({x}, {y})\nsg[i] = {cs}({x}, {y})",
                f"sg[i] = {cs}({x}, {y})",
                f"acc += {fm}({x}, {y})",
                f"acc = {cs}(acc + 1.0, {y})",
                f"out[i] = {cs}(1.0, {x}) * {fm}({y}, 1.0)",
            ]
        )
        lines += ["        " + b for b in body.split("\n")]
        lines.append("    return out, sg, acc")
        return self._call(lines, f, "YF, YG, YI, n")

    # --- Python lists and tuples read in a nest ---------------------------------------------
    def list_fn(self):
        q = self.q
        self.features.add("list read in a nest")
        f = self.fresh("ls")
        kind = q.choice(
            ["weights", "weights", "flags", "offsets", "rows", "rows", "negative", "range", "decline", "iterate"]
        )
        lines = self._head(f, "YF, YI, YU, n, m, w")
        lines += ["    out = np.zeros(n)", "    c = np.zeros((n, m))", "    acc = 0"]
        arg = "W"
        if kind == "weights":
            lines += [
                "    h = len(w) // 2",
                "    for i in range(h, n - h):",
                "        s = 0.0",
                "        for k in range(len(w)):",
                "            s += w[k] * YF[i + k - h]",
                "        out[i] = s",
            ]
            arg = q.choice(["W", "W", "WI", "WM"])
            if arg == "WM":
                self.features.add("list of mixed numbers")
        elif kind == "flags":
            lines += [
                "    for i in range(n):",
                f"        if w[i % len(w)]{q.choice(['', ' and YF[i] > 0', ' > 0'])}:",
                f"            out[i] = {q.choice(['WI[i % len(WI)] * YF[i]', 'YF[i]', 'WI[-1] + i'])}",
                "            acc += 1",
            ]
            arg = q.choice(["WB", "WB", "WI"])
        elif kind == "offsets":
            self.features.add("list of tuples")
            lines += [
                "    for i in range(1, n - 1):",
                "        for j in range(1, m - 1):",
                "            s = 0",
                "            for dx, dy in w:",
                f"                s += {q.choice(['YU[i + dx, j + dy]', 'int(YU[i + dx, j + dy])', 'dx * dy'])}",
                "            c[i, j] = s",
            ]
            arg = "OFFS"
        elif kind == "rows":
            self.features.add("list of lists")
            lines += [
                f"    for i in range({q.choice(['len(w)', 'len(w)', 'n'])}):",
                f"        for j in range({q.choice(['len(w[0])', 'len(w[i])', 'm'])}):",
                f"            {q.choice(['c[i, j] = w[i][j] * 2', 'acc += w[i][j]', 'c[i, j] = w[i][j] + w[-1][j]'])}",
            ]
            arg = q.choice(["ML", "ML", "MR"])
            if arg == "MR":
                self.features.add("ragged list of lists")
        elif kind == "iterate":
            self.features.add("for over a list")
            lines += [
                "    for i in range(n):",
                f"        for {q.choice(['v in w', 'k, v in enumerate(w)', 'v in w[1:]', 'v in reversed(w)'])}:",
                f"            out[i] += {q.choice(['v * YF[i]', 'v', 'v * i'])}",
            ]
            arg = q.choice(["W", "WI", "WB", "WM"])
        elif kind == "negative":
            lines += [
                "    for i in range(n):",
                "        for k in range(len(w)):",
                f"            out[i] += {q.choice(['w[-1 - k]', 'w[k - 1]', 'w[-len(w) + k]'])} * YF[i]",
            ]
            arg = q.choice(["W", "WI"])
        elif kind == "range":
            self.features.add("list index out of range")
            lines += [
                "    for i in range(n):",
                f"        out[i] = YF[i] * {q.choice(['w[i]', 'w[i - 1]', 'w[i % 4]', 'w[-i - 1]'])}",
            ]
            arg = q.choice(["W", "WI"])
        else:
            self.features.add("list mutated in a nest")
            stmt = q.choice(["w[k] = w[k] * 0.5", "w.append(0)", "w[0] += 1", "w.reverse()"])
            lines += [
                "    for i in range(n):",
                "        for k in range(len(w)):",
                "            out[i] += w[k] * YF[i]",
                f"            if i == 1:\n                {stmt}" if q.random() < 0.5 else f"        {stmt}",
            ]
            arg = q.choice(["list(W)", "list(WI)"])
        if self.top or q.random() < 0.2:
            # the list read as a global (at top level, the name itself)
            self.features.add("global list read in a nest")
            if arg.startswith("list("):
                arg = arg[5:-1]
            lines = [x if x.startswith("def ") else re.sub(r"\bw\b", arg, x) for x in lines]
        lines.append("    return out, c, acc")
        lines = self._call(lines, f, f"YF, YI, YU, n, m, {arg}")
        if not self.top and q.random() < 0.3 and arg in ("W", "WI", "WB", "ML", "MR", "OFFS"):
            # the same function again after the list changed: nothing of the
            # first call's list may stay
            self.features.add("list changed between calls")
            change = {
                "W": ["W[0] = -4.5", "W.append(2.0)", "W = [1.5, 2.5]", "W.pop()"],
                "WI": ["WI = [7, -7, 7]", "WI = (5,)"],
                "WB": ["WB = [False, True]", "WB = [1, 0]"],
                "ML": ["ML[-1][0] = 99" if self.n and self.m else "ML = [[1]]", "ML = ML[::-1]"],
                "MR": ["MR = [[1, 2]] * n"],
                "OFFS": ["OFFS = [(0, 0), (0, 0)]", "OFFS = [(1, 1)]"],
            }[arg]
            again = lines[-1].replace(f"{arg})", f"{arg})", 1)
            lines.append(q.choice(change))
            lines.append(again.replace("xres", "xagain", 1) if "xres" in again else again)
        return lines

    # --- np.median of a window --------------------------------------------------------------
    def median_fn(self):
        q = self.q
        self.features.add("np.median of a window")
        f = self.fresh("md")
        lines = self._head(f, "YF, YP, YU, n, m")
        two = q.random() < 0.45
        odt = q.choice(["", "", ", dtype=np.float32", ", dtype=YP.dtype"])
        if two:
            self.features.add("np.median of a 2-D window")
            lines.append(f"    out = np.zeros((n, m){odt})")
            src = q.choice(["YU", "YP", "YP"])
            lo = q.choice(["1", "1", "0"])
            win = q.choice(
                [
                    f"{src}[i - 1:i + 2, j - 1:j + 2]",
                    f"{src}[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]",
                    f"{src}[i:i + 3, j:j + 2]",
                ]
            )
            hi_i = "n - 1" if lo == "1" else "n"
            hi_j = "m - 1" if lo == "1" else "m"
            lines += [
                f"    for i in range({lo}, {hi_i}):",
                f"        for j in range({lo}, {hi_j}):",
                f"            out[i, j] = np.median({win})",
            ]
        else:
            lines.append(f"    out = np.zeros(n{odt})")
            src = q.choice(["YF", "YF", "YP[:, 0]", "YU[:, 0]"])
            lines.append(f"    x = {src}")
            rng, win = q.choice(
                [
                    ("range(1, n - 1)", "x[i - 1:i + 2]"),
                    ("range(1, n - 1)", "x[i - 1:i + 2]"),
                    ("range(n)", "x[max(i - 1, 0):i + 2]"),
                    ("range(n)", "x[i:i + 3]"),
                    ("range(2, n - 2)", "x[i - 2:i + 3]"),
                    ("range(n)", "x[i - 1:i + 2]"),
                    ("range(n - 1)", "x[i:i + 2]"),
                ]
            )
            if q.random() < 0.2:
                # a median filter in place: it reads the values it wrote
                self.features.add("np.median in place")
                lines[-1] = f"    x = {src}.copy()"
                lines += [f"    for i in {rng}:", f"        x[i] = np.median({win})", "    out = x"]
            else:
                lines += [f"    for i in {rng}:", f"        out[i] = np.median({win})"]
        lines.append("    return out")
        return self._call(lines, f, "YF, YP, YU, n, m")

    # --- scalars assigned in some iterations, loop variables read after ---------------------
    def last_fn(self):
        q = self.q
        self.features.add("scalar assigned in some iterations")
        f = self.fresh("lt")
        lines = self._head(f, "YF, YI, n, m")
        lines += ["    out = np.zeros(n)", "    last = -1", "    val = 0.0"]
        inner = q.choice(["range(i + 1, n)", "range(i + 1, n)", "range(i)", "range(m)", "range(i, n)"])
        cond = q.choice(["YF[i] > 0", "YI[i] > 0", "i % 3 == 1", "YF[i] > YF[0]"])
        lines += [
            "    for i in range(n):",
            f"        for j in {inner}:",
            f"            out[i] += {q.choice(['YF[j] * 0.5', 'YI[j]', 'j - i', 'YF[j] * YF[i]'])}",
        ]
        if q.random() < 0.3:
            self.features.add("scalar assigned in some inner iterations")
            lines += [
                f"            if {q.choice(['YF[j] > YF[i]', 'YI[j] < 0', 'j % 2 == 0'])}:",
                f"                {q.choice(['last = j', 'val = YF[j]', 'last = i * 10 + j'])}",
            ]
        body = q.choice(
            [
                f"if {cond}:\n    last = i",
                f"if {cond}:\n    last = i\n    val = YF[i]",
                f"if {cond}:\n    val = out[i]",
                f"if {cond}:\n    last = j",
                f"if {cond}:\n    val = YF[i]\nout[i] += val",
            ]
        )
        lines += ["        " + b for b in body.split("\n")]
        lines.append(f"    return out, last, val, {q.choice(['j', 'j', 'i', 'j + i'])}")
        return self._call(lines, f, "YF, YI, n, m")

    # --- constructs native since: round(x, ndigits), len(m[i]) with a row index
    # that varies, an append inside a while loop. Drawn from a third stream of
    # their own (self.z), so the cells above stay as they were. -------------------------------
    def newest_cells(self, force=False) -> List[str]:
        z = self.z
        if z.random() >= NEWEST_SHARE and not force:
            return []
        self.features.add("newest constructs")
        out = [self.zdata()]
        makers = [
            self.round_fn,
            self.round_fn,
            self.round_fn,
            self.rowlen_fn,
            self.rowlen_fn,
            self.rowlen_fn,
            self.while_append_fn,
            self.while_append_fn,
            self.while_append_fn,
        ]
        for _ in range(z.randint(1, 4 if force else 3)):
            self.top = z.random() < 0.2
            self.zbind = []
            lines = z.choice(makers)()
            if self.top:
                self.features.add("newest constructs at top level")
                lines = self.zbind + self.at_top(lines)
            out.append("\n".join(lines) + "\n")
        return out

    def zdata(self):
        z = self.z
        n, m = self.n, self.m
        ties = [
            "0.5",
            "1.5",
            "2.5",
            "-0.5",
            "-2.5",
            "2.675",
            "0.125",
            "0.375",
            "-0.125",
            "1.005",
            "0.045",
            "123456.5",
            "1e16 + 2.0",
            "-0.0",
            "3.0",
            "7.25",
            "1e300",
            "5e-324",
            "2.0 ** 52 + 0.5",
            "0.285",
        ]
        vals = [z.choice(ties) for _ in range(n)]
        if n and z.random() < 0.4:
            self.features.add("round of NaN/inf")
            for _ in range(z.randint(1, 2)):
                vals[z.randrange(n)] = z.choice(["math.nan", "math.inf", "-math.inf"])
        nds = [z.choice([-2, -1, 0, 0, 1, 1, 2, 3, 5, 17, -5]) for _ in range(n)]
        ndt = z.choice(["int64", "int64", "int32", "int8"])
        if n and z.random() < 0.25:
            self.features.add("round with huge ndigits")
            nds[z.randrange(n)] = z.choice([-128, 127, -100] if ndt == "int8" else [-400, 400, 308, -308, 2**30])
        idt = z.choice(["int64", "int64", "int32"])
        big = [2**62, -(2**62) + 5] if idt == "int64" else [2**31 - 1]
        ints = [z.choice([0, 5, -5, 15, 25, -25, 149, 150, 251, 1234, -9995, *big]) for _ in range(n)]
        rows = [[z.randint(-4, 9) for _ in range(m)] for _ in range(n)]
        ragged = [list(r_) for r_ in rows]
        for r_ in ragged:
            if z.random() < 0.5:
                del r_[z.randrange(len(r_) + 1) :]
        empty = z.random() < 0.3
        lines = [
            "import math",
            "import numpy as np",
            f"ZF = np.array([{', '.join(vals)}], dtype=np.{z.choice(['float64', 'float64', 'float32'])})",
            f"ZD = np.array([{', '.join(vals)}], dtype=np.float64)",
            f"ZN = np.array({nds}, dtype=np.{ndt})",
            f"ZI = np.array({ints}, dtype=np.{idt})",
            f"ZM = np.array({rows}, dtype=np.{z.choice(['float64', 'int64', 'int32', 'float32'])}).reshape({n}, {m})",
            f"ZE = np.zeros(({n}, 0))" if empty else f"ZE = np.ones(({n}, {m}))",
            f"ZL = {rows}",
            f"ZR = {ragged}",
            f"ZT = {[tuple(r_) for r_ in rows]}",
            f"zk = {z.choice(['0', '1', '2', '-1', '3', '-3'])}",
        ]
        return "\n".join(lines) + "\n"

    # --- round(x, ndigits) ------------------------------------------------------------------
    def round_fn(self):
        z = self.z
        self.features.add("round with ndigits")
        f = self.fresh("rd")
        lines = self._head(f, "ZF, ZD, ZN, ZI, n, zk", self.z)
        odt = z.choice(["", "", "", ", dtype=np.float32", ", dtype=np.int64", ", dtype=ZF.dtype"])
        lines += [f"    out = np.zeros(n{odt})", "    r = 0", "    s = 0.0"]
        nd = z.choice(["zk", "2", "0", "-1", "1", "int(ZN[i])", "ZN[i]", "i - 2", "zk + i", "-zk", "15", "-308"])
        if z.random() < 0.08:
            self.features.add("round with a float ndigits")
            nd = z.choice(["1.0", "float(zk)", "ZD[i]", "np.float64(2)"])
        x = z.choice(
            [
                "float(ZF[i])",
                "float(ZD[i])",
                "ZD[i]",
                "ZF[i]",
                "ZF[i]",
                "ZD[i] * 0.5",
                "i * 5 - 12",
                "ZI[i]",
                "int(ZI[i])",
                "ZI[i] * 3",
                "float(ZD[i]) + i",
                "ZF[i] * 10",
                "np.float32(ZD[i])",
                "i / 8",
                "True",
            ]
        )
        stmt = z.choice(
            [
                f"out[i] = round({x}, {nd})",
                f"out[i] = round({x}, {nd})",
                f"r = round({x}, {nd})\nout[i] = r",
                f"s = round(s * 0.5 + {x}, {nd})",
                f"out[i] = round({x}, {nd}) - round({x})",
                f"r = round({x}, {nd})",
                f"if round({x}, {nd}) > 1:\n    out[i] = 1",
                f"out[-1 - i] = round({x}, {nd}) * 2",
            ]
        )
        rng = z.choice(["n", "n", "len(ZF)", "n - 1", "n + 1"])
        if rng == "n + 1":
            self.features.add("round after an IndexError")
        lines.append(f"    for i in range({rng}):")
        pad = "        "
        if z.random() < 0.2:
            lines.append(f"{pad}if {z.choice(['ZN[i] > 0', 'i % 2 == 0', 'ZD[i] > 1'])}:")
            pad += "    "
        lines += [pad + b for b in stmt.split("\n")]
        lines.append("    return out, r, s, type(r).__name__, type(s).__name__")
        return self._call(lines, f, "ZF, ZD, ZN, ZI, n, zk")

    # --- len(m[i]) with a row index that varies ---------------------------------------------
    def rowlen_fn(self):
        z = self.z
        self.features.add("len of a row")
        f = self.fresh("rl")
        src = z.choice(["ZM", "ZM", "ZM", "ZL", "ZL", "ZR", "ZE", "ZT", "ZF"])
        if src == "ZR":
            self.features.add("len of ragged rows")
        if src == "ZF":
            self.features.add("len of an element (TypeError)")
        lines = self._head(f, "M, n, m, zk", self.z)
        lines += [
            f"    out = np.zeros((n, m + 1){z.choice(['', '', ', dtype=np.int64'])})",
            "    acc = 0",
            "    j = -1",
        ]
        rows = z.choice(["len(M)", "len(M)", "n", "n + 1", "n - 1", "min(n, len(M))"])
        if rows == "n + 1":
            self.features.add("len of a row out of range")
        row = z.choice(["M[i]", "M[i]", "M[i]", "M[-i - 1]", "M[i - 1]", "M[i - zk]", "M[-1]"])
        item = row + "[j]"
        body = z.choice(
            [
                f"for j in range(len({row})):\n    out[i, j] = {item} * 2",
                f"for j in range(len({row})):\n    acc += {item}",
                f"for j in range(len({row})):\n    out[i, j] = {item} + len({row})",
                f"out[i, 0] = len({row}) * 0.5",
                f"acc += len({row})",
                f"for j in range(len({row}) - 1):\n    out[i, j + 1] = {item} - {row}[j + 1]",
                f"j = 0\nwhile j < len({row}):\n    out[i, j] = {item}\n    j += 1",
                f"if len({row}) > 2:\n    out[i, 2] = {row}[2]",
                f"for j in range(1, len({row}), 2):\n    out[i, j] = round({item} * 0.25, 1)",
            ]
        )
        lines.append(f"    for i in range({rows}):")
        lines += ["        " + b for b in body.split("\n")]
        lines.append("    return out, acc, j")
        self.zbind = [f"M = {src}"]
        return self._call(lines, f, f"{src}, n, m, zk")

    # --- an append inside a while loop ------------------------------------------------------
    def while_append_fn(self):
        z = self.z
        self.features.add("append inside a while")
        f = self.fresh("wa")
        lines = self._head(f, "ZF, ZI, ZN, n, seq, lim", self.z)
        lines += ["    t = 0"]
        kind = z.choice(["collatz", "collatz", "count", "count", "halve", "raise", "break"])
        self.features.add(f"while append: {kind}")
        item = z.choice(["v", "v", "v * 0.5", "ZF[k % n]", "v > 3", "k", "float(v)", "round(v / 3, 2)", "ZI[k % n]"])
        if kind == "collatz":
            lines += [
                "    for k in range(1, lim):",
                "        v = k",
                "        while v != 1:",
                f"            seq.append({item})",
                "            v = v // 2 if v % 2 == 0 else 3 * v + 1",
                "            t += 1",
            ]
        elif kind == "count":
            stop = z.choice(["k", "k * 3", "70", "150", "k + abs(int(ZN[k % n])) % 9"])
            lines += [
                "    for k in range(lim):",
                "        v = 0",
                f"        while v < {stop}:",
                f"            {z.choice(['if v % 3 == 0:', 'if True:', 'if ZF[k % n] > 0:'])}",
                f"                seq.append({item})",
                "            v += 1",
                "        t += v",
            ]
        elif kind == "halve":
            lines += [
                "    for k in range(lim):",
                "        v = k * 1000 + 7",
                "        while v > 0:",
                f"            seq.append({item})",
                "            v //= 2",
            ]
        elif kind == "raise":
            bad = z.choice(
                ["ZI[v]", "10 // (v - 5)", "ZF[v + k]", "math.sqrt(4 - v)", "int(ZF[v % n]) if v < n else 1 // 0"]
            )
            self.features.add("while append raises")
            lines += [
                "    for k in range(lim):",
                "        v = 0",
                f"        while v < {z.choice(['k + 3', '8', 'n + 2'])}:",
                f"            seq.append({bad})",
                "            v += 1",
            ]
        else:
            lines += [
                "    for k in range(1, lim):",
                "        v = k",
                "        while True:",
                f"            seq.append({item})",
                "            if v % 7 == 0 or v > 100:",
                "                break",
                "            v = v * 2 + 1",
            ]
        lines.append("    return seq, len(seq), t")
        lim = z.choice(["5", "20", "n", "40", "200", "1"])
        start = z.choice(["[]", "[]", "[]", "[7, 8.5]", "list(range(3))"])
        self.zbind = [f"seq = {start}", f"lim = {lim}"]
        lines = self._call(lines, f, f"ZF, ZI, ZN, n, {start}, {lim}")
        if not self.top and z.random() < 0.4:
            # again: a buffer that overflowed the first guess is doubled
            self.features.add("while append run twice")
            again = lines[-1]
            lines.append(again.replace("xres", "xagain", 1) if "xres" in again else again)
        return lines


def generate(seed: int) -> Program:
    """The program of this seed (deterministic)."""
    return Gen(seed).build()


if __name__ == "__main__":
    import sys

    for s in sys.argv[1:] or ["0"]:
        p = generate(int(s))
        print(p.source())
        print("# features:", ", ".join(sorted(p.features)))
