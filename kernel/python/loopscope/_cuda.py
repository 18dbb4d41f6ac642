"""The GPU variant seen from Python: generated CUDA, NVRTC, the CUDA driver
(loaded at run time, never required) and the CPU emulator.

Devices for ``loopscope.run``:

- ``"gpu"``: the nest's generated CUDA runs on the GPU through the CUDA
  driver. Without a driver or a GPU the nest runs on the CPU variant, and
  ``loopscope.last_runs()`` says why.
- ``"gpu-emulated"``: the same CUDA source, compiled as C++ against a small
  header that provides CUDA's built-ins and walks the grid, runs on the CPU.
  Results are those the GPU would give (the last bit of math functions such
  as exp or pow aside, which are CUDA's own on a GPU; and the order of
  floating-point sums, when reassociation is allowed), so a notebook without
  a GPU can still check them.

The GPU variant keeps the CPU variant's exactness policy: it declines what
the CPU variant declines (with the same reason), stops where the CPU variant
stops (an int beyond 64 bits, a division by zero on Python numbers, a math
domain error, ...; Python then runs the loop and raises), and writes back
scalars with the types Python would leave (np.float64 stays np.float64).

A device runner is ``runner(nest_id, env) -> dict | None``: ``None`` means
"run the Python loop" (nothing was modified), a dict holds the scalars to
write back into the caller's variables.
"""

import dataclasses

import _loopscope

from . import _records
from ._errors import internal


def driver_status():
    """{"available": bool, "status": str, "device": str, "compute_capability": int}."""
    return _loopscope.cuda_driver_status()


def nvrtc_info():
    """{"version": "13.0", "archs": [75, 80, ...]}."""
    return _loopscope.cuda_nvrtc_info()


def generate(nest_id, env):
    """CUDA source, kernels (thread mapping), host schedule, or a decline."""
    return _loopscope.cuda_generate(nest_id, env)


def compile(nest_id, env, arch="sm_80", cubin=True):
    """NVRTC compile of the nest's CUDA: ok/error, ptx, resources per kernel."""
    return _loopscope.cuda_compile(nest_id, env, arch, cubin)


def compile_source(source, arch="sm_80", cubin=True):
    return _loopscope.cuda_compile_source(source, arch, cubin)


def _hook(target, name):
    def hook(nest_id, env):
        if env is None:  # a name the nest reads is not defined: Python raises
            _records.record(nest_id, name, {"status": "declined", "decline": _records.NOT_DEFINED})
            return None
        if target == "gpu":
            st = _loopscope.cuda_driver_status()
            if not st["available"]:
                return _elsewhere(nest_id, env, st["status"])
        try:
            out = _loopscope.cuda_run(nest_id, env, target)
        except KeyboardInterrupt:
            _records.record(nest_id, name, {"status": "interrupted", "decline": _records.USER_INTERRUPT})
            raise
        except Exception as exc:  # an engine bug must never break the user's code
            decline = _records.internal_decline(internal(exc, "GPU code generator"), exc)
            _records.record(nest_id, name, {"status": "declined", "decline": decline})
            return None
        _records.record(
            nest_id,
            name,
            {
                # As the CPU variant's records: "declined" before anything ran,
                # "fallback" when a run stopped and Python ran the loop.
                "status": "ok" if out["ran"] else ("declined" if out.get("declined") else "fallback"),
                "decline": out.get("decline"),
                "timing": {"compile_ms": out["compile_ms"], "run_ms": out["run_ms"]},
                "parallel_loops": out.get("parallel_loops", ""),
            },
        )
        return dict(out["scalars"]) if out["ran"] else None

    hook.__name__ = f"_{name.replace('-', '_')}_hook"
    return hook


# The device a "gpu" run uses when no GPU can run it (set by devices()).
_cpu_fallback = [None]


def _elsewhere(nest_id, env, why):
    """No GPU: the nest runs on the CPU variant (or as Python) and the record
    says plainly why."""
    cpu = _cpu_fallback[0]
    result = cpu(nest_id, env) if cpu is not None else None
    rec = _records.last_runs().get(nest_id, {"status": "python"})
    note = why + "; ran on the CPU instead"
    cpu_decline = rec.get("decline")
    if cpu_decline is None:
        rec["decline"] = _records.Decline(_records.NO_DEVICE, 0, note)
    else:
        rec["decline"] = dataclasses.replace(cpu_decline, reason=note + ": " + cpu_decline.reason)
    _records.record(nest_id, rec.get("device", "cpu"), rec)
    return result


run_on_gpu = _hook("gpu", "gpu")
run_emulated = _hook("emulator", "gpu-emulated")


def devices(cpu_fallback=None):
    """The GPU devices for ``loopscope.run``, ``{name: hook}``; a "gpu" run
    with no usable GPU goes to ``cpu_fallback`` (a device hook)."""
    _cpu_fallback[0] = cpu_fallback
    return {"gpu": run_on_gpu, "gpu-emulated": run_emulated}
