"""Other spellings of what the engine knows: `import math as m`, `from math
import sqrt`, `import numpy as xp`, and values known before the loop such as
`ashape[0]` (with `ashape = a.shape`), `a.size` and `a.ndim`.

Each function runs under every device and is compared with CPython (values,
arrays, exceptions); the nests that should now compile are checked to run
natively, and every rebinding that changes what a name means must send the
loop back to Python with a sentence that names it.
"""

import math

import numpy as np
import pytest

import loopscope
from nestgen import make_function
from loopscope import _aliases, _rewrite, _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")


def define(source, name="f", **namespace):
    """The function ``name`` of ``source`` (nestgen.make_function), its
    module globals holding ``namespace``."""
    return make_function(source, name, namespace=namespace)


def outcome(fn, make_args, device=None):
    args = make_args()
    try:
        result = loopscope.run(fn, *args, device=device) if device else fn(*args)
        error = None
    except Exception as exc:
        result, error = None, (type(exc).__name__, str(exc))
    arrays = [(a.dtype.str, a.tobytes()) for a in args if isinstance(a, np.ndarray)]
    return repr(result), error, arrays


def statuses():
    return {k: (v["status"], v.get("reason") or "") for k, v in _run.last_runs().items()}


def check(fn, make_args, device, native=True):
    _run.reset_last_runs()
    assert outcome(fn, make_args, device) == outcome(fn, make_args)
    got = statuses()
    assert got, "no nest was intercepted"
    if native:
        assert all(s == "ok" for s, _ in got.values()), got
    return got


SPELLINGS = {
    "import_math_as_m": (
        """
import math as m
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = m.sqrt(a[i]) + m.floor(a[i] * 3.0) + m.pi
""",
        {},
    ),
    "from_math_import": (
        """
from math import sqrt, exp as ex, floor
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i]) + ex(-a[i]) + floor(a[i])
""",
        {},
    ),
    "import_numpy_as_xp": (
        """
import numpy as xp
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = xp.sqrt(a[i]) + xp.maximum(a[i], 1.0) + xp.minimum(a[i], 2.0)
""",
        {},
    ),
    "from_numpy_import_sqrt": (
        """
from numpy import sqrt as nsqrt
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = nsqrt(a[i])
""",
        {},
    ),
    "imported_inside_the_function": (
        """
def f(a, out):
    from math import sqrt
    import math as mm
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i]) * mm.cos(a[i])
""",
        {},
    ),
    "from_a_closure": (
        """
def make():
    from math import fabs
    def f(a, out):
        for i in range(a.shape[0]):
            out[i] = fabs(a[i] - 2.0)
    return f
f = make()
""",
        {},
    ),
    "star_import": (
        """
from math import *
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i]) + log1p(a[i])
""",
        {},
    ),
    "shape_tuple_bounds": (
        """
def f(a, out):
    ashape = a.shape
    for i in range(1, ashape[0] - 1):
        for j in range(ashape[-1]):
            out[i, j] = a[i - 1, j] + a[i + 1, j] + a.size + a.ndim
""",
        {},
    ),
}


def _vector():
    return np.linspace(0.25, 4.0, 33), np.zeros(33)


def _matrix():
    a = np.arange(30.0).reshape(5, 6)
    return a, np.zeros_like(a)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_other_spellings_run_natively_with_pythons_results(name, device):
    source, namespace = SPELLINGS[name]
    fn = define(source, **namespace)
    make = _matrix if "shape" in name else _vector
    # auto may well choose Python for so small a loop: only the results count there.
    check(fn, make, device, native=device != "auto")


def test_a_math_domain_error_through_an_alias_is_pythons():
    fn = define(
        """
from math import sqrt
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i])
"""
    )

    def make():
        return np.array([4.0, 1.0, -1.0, 9.0]), np.zeros(4)

    for device in DEVICES:
        check(fn, make, device, native=False)


@pytest.mark.parametrize("device", DEVICES)
def test_a_name_rebound_after_the_rewrite_runs_python_with_its_reason(device):
    fn = define(
        """
from math import sqrt
import math as m
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i]) + m.floor(a[i])
"""
    )
    check(fn, _vector, device, native=device != "auto")
    fn.__globals__["sqrt"] = lambda x: 10 * x
    got = check(fn, _vector, device, native=False)
    assert any("sqrt is a lambda" in r and "math's own sqrt" in r for _, r in got.values()), got
    fn.__globals__["sqrt"] = math.sqrt
    fn.__globals__["m"] = np  # np.floor is another function: the loop must call it
    got = check(fn, _vector, device, native=False)
    assert any("m is the module numpy, not the math module" in r for _, r in got.values()), got


def test_a_patched_math_function_imported_afterwards_runs_python():
    patched = lambda x: 0.0  # noqa: E731
    fn = define(
        """
def f(a, out):
    for i in range(a.shape[0]):
        out[i] = sqrt(a[i])
""",
        sqrt=patched,
    )
    _run.reset_last_runs()
    assert outcome(fn, _vector, "cpu") == outcome(fn, _vector)
    # The name is a function of another module (this test's), which is not inlined.
    _, (rec,) = _rewrite.compile_function(fn, lambda nest_id, env: None)
    assert rec.declined and "sqrt is defined in another module" in rec.decline.reason


@pytest.mark.parametrize("device", DEVICES)
def test_an_alias_assigned_in_the_nest_keeps_its_own_meaning(device):
    fn = define(
        """
from math import sqrt
def f(a, out):
    for i in range(a.shape[0]):
        sqrt = a[i] * 2.0
        out[i] = sqrt
    return sqrt
"""
    )
    check(fn, _vector, device, native=device != "auto")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "bound, reason",
    [
        ((5,), None),
        ([5, 2], None),
        ((np.int64(5),), None),
        ((5.0,), "t[0] is a float, not an integer"),
        ((True,), "t[0] is a bool, not an integer"),
        ((), "t[0] is out of range"),
        (np.array([5]), "not from a tuple or list"),
    ],
)
def test_a_tuple_item_in_a_bound(bound, reason, device):
    fn = define(
        """
def f(a, t):
    for i in range(t[0]):
        a[i] = i * 2.0
    return i
"""
    )
    _run.reset_last_runs()
    assert outcome(fn, lambda: (np.zeros(6), bound), device) == outcome(fn, lambda: (np.zeros(6), bound))
    (status, why), *_ = statuses().values()
    if reason is None:
        assert device == "auto" or status == "ok", why
    else:
        assert status != "ok" and reason in why, why


def test_the_canonical_copy_is_only_for_the_front_end():
    import ast

    node = ast.parse("for i in range(n):\n    b[i] = m.sqrt(a[i]) + root(a[i])\n").body[0]
    resolver = _aliases.Resolver(ast.parse("import math as m\nfrom math import sqrt as root\n"))
    canonical, used = _aliases.canonical_copy(node, resolver, {"range"})
    assert ast.unparse(canonical).splitlines()[1].strip() == "b[i] = math.sqrt(a[i]) + math.sqrt(a[i])"
    assert "m.sqrt" in ast.unparse(node)  # the user's code is untouched
    assert {n: (m.module, m.attr) for n, m in used.items()} == {"m": ("math", None), "root": ("math", "sqrt")}
    assert _aliases.key_of(used) != _aliases.key_of({})


def test_a_name_imported_twice_differently_is_not_guessed():
    import ast

    resolver = _aliases.Resolver(ast.parse("from math import sqrt\nfrom numpy import sqrt\n"))
    assert resolver.meaning("sqrt") is None
    resolver = _aliases.Resolver(ast.parse("from math import sqrt\nfrom math import sqrt\n"))
    assert resolver.meaning("sqrt").obj is math.sqrt


@pytest.mark.parametrize("device", DEVICES)
def test_a_bound_read_from_a_name_the_loop_assigns_runs_python(device):
    fn = define(
        """
def f(a, t):
    for i in range(2):
        for j in range(t[0]):
            a[i, j] = 1.0
        t = 1
    return t
"""
    )
    # Python raises TypeError at the second row ('int' object is not subscriptable).
    assert outcome(fn, lambda: (np.zeros((2, 3)), (3,)), device) == outcome(fn, lambda: (np.zeros((2, 3)), (3,)))
    _, nests = _rewrite.compile_function(fn, lambda nest_id, env: None)
    reasons = [r.decline.reason for r in nests if r.declined]
    assert any("t[0] is read before the loop, but the loop assigns t" in r for r in reasons), reasons
