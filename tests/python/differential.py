"""Differential checks against CPython, shared by the test files of the
accepted language: a function runs in CPython and through ``loopscope.run``
on every device, and must give the same return value (with its type), the
same arrays bit for bit, the same exception (type and message) and the same
partial writes. On the emulated GPU, NVRTC also compiles every CUDA source
the emulator runs.

Test files use ``check(fn, make_args)``; ``make_args`` builds fresh inputs
for each run. A test module that sets ``LOOPSCOPE_CACHE_DIR`` itself can;
otherwise ``use_temporary_cache`` (an autouse fixture to import) keeps the
emulator's builds out of ``$HOME``.
"""

import math
import os
import warnings

import numpy as np
import pytest

import _loopscope
import loopscope
from cpu_tiers import TIERS, cpu_tier
from loopscope import _cuda, _run

DEVICES = ("cpu", "cpu-serial", "gpu-emulated", "auto")
# The devices that must run a supported function natively ("auto" may
# choose Python for a small input).
NATIVE_DEVICES = ("cpu", "cpu-serial", "gpu-emulated")
EMULATED_WITH_NVRTC = "gpu-emulated+nvrtc:differential"


@pytest.fixture(params=TIERS)
def each_cpu_tier(request):
    """Runs a test once per CPU compile tier (quick and optimised code):
    import it into a test module and mark the module with
    ``pytestmark = pytest.mark.usefixtures("each_cpu_tier")``."""
    with cpu_tier(request.param):
        yield request.param


@pytest.fixture(autouse=True, scope="module")
def use_temporary_cache(tmp_path_factory):
    # Emulator builds are cached by source hash; keep them out of $HOME.
    if "LOOPSCOPE_CACHE_DIR" not in os.environ:
        os.environ["LOOPSCOPE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "loopscope-cache")
    yield


_NVRTC_CHECKED = {}


def _emulated_with_nvrtc(nest_id, env):
    if env is not None:
        gen = _loopscope.cuda_generate(nest_id, env)
        if gen.get("decline") is None:
            src = gen["source"]
            assert "$" not in src, "a hidden name reached the CUDA source"
            if src not in _NVRTC_CHECKED:
                _NVRTC_CHECKED[src] = _loopscope.cuda_compile_source(src, "sm_80", True)
            assert _NVRTC_CHECKED[src]["ok"], "NVRTC rejects the generated CUDA:\n" + _NVRTC_CHECKED[src]["error"]
    return _cuda.run_emulated(nest_id, env)


_run.register_device(EMULATED_WITH_NVRTC, _emulated_with_nvrtc)


def same(a, b) -> bool:
    """Equal values of the same type: arrays bit for bit (dtype and shape
    too), floats with their sign of zero, NaN equal to NaN, complex numbers
    part by part."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (complex, np.complexfloating)):
        return same(float(a.real), float(b.real)) and same(float(a.imag), float(b.imag))
    if isinstance(a, (float, np.floating)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def outcome(fn, args, device):
    """("ok", value) or ("raise", type name, message) of fn(*args) in
    CPython (device None) or through loopscope.run on ``device``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(*args) if device is None else loopscope.run(fn, *args, device=device))
        except Exception as exc:  # noqa: BLE001 - compared with Python's
            return ("raise", type(exc).__name__, str(exc))


def check(fn, make_args, native=True, devices=DEVICES, state=None, hidden_words=()):
    """fn in CPython and on every device: same values, types, arrays and
    exceptions. ``native``: True for the CPU and GPU devices, or the devices
    that must run every nest natively (status "ok", or "fallback" where
    Python raises); False where the nest must stay Python. ``state``: a
    function returning what else must match afterwards (a random
    generator's state), called after each run. ``hidden_words``: parts of
    the engine's hidden names that no sentence may show. Returns the run
    records by device."""
    want_args = make_args()
    want = outcome(fn, want_args, None)
    want_state = state() if state is not None else None
    if native is True:
        native = NATIVE_DEVICES
    records = {}
    for device in devices:
        args = make_args()
        _run.reset_last_runs()
        got = outcome(fn, args, EMULATED_WITH_NVRTC if device == "gpu-emulated" else device)
        recs = list(_run.last_runs().values())
        records[device] = recs
        ctx = f"{fn.__name__} on {device}: {recs}"
        assert want[0] == got[0], f"{ctx}\npython: {want}\nloopscope: {got}"
        if want[0] == "ok":
            assert same(want[1], got[1]), f"{ctx}\npython: {want[1]!r}\nloopscope: {got[1]!r}"
        else:
            assert want[1:] == got[1:], f"{ctx}\npython: {want}\nloopscope: {got}"
        for a, b in zip(want_args, args):
            if isinstance(a, np.ndarray):
                assert same(a, b), f"{ctx}\narrays differ:\n{a}\n{b}"
        if state is not None:
            assert state() == want_state, f"{ctx}: the state afterwards differs from Python's"
        for r in recs:
            for word in ("$",) + tuple(hidden_words):
                assert word not in r["reason"], f"{ctx}: a hidden name reached a sentence"
        if native and device in native:
            expected = ("ok",) if want[0] == "ok" else ("ok", "fallback")
            assert recs and all(r["status"] in expected for r in recs), ctx
    return records


def parallel_loops(records, device):
    return [r["parallel_loops"] for r in records[device]]
