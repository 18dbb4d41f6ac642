"""The GPU variant seen from Python: generated CUDA, NVRTC, the CUDA driver
(loaded at run time, never required) and the CPU emulator.

Devices for ``loopscope.run``:

- ``"gpu"``: the nest's generated CUDA runs on the GPU through the CUDA
  driver. Without a driver or a GPU the nest runs as plain Python and
  :func:`last_reason` says why.
- ``"gpu-emulated"``: the same CUDA source, compiled as C++ against a small
  header that provides CUDA's built-ins and walks the grid, runs on the CPU.
  Results are those the GPU would give (the order of floating-point
  reduction sums aside, and the last bit of math functions such as exp or
  pow, which are CUDA's own on a GPU), so a notebook without a GPU can still
  check them.

The GPU variant keeps the CPU variant's exactness policy: it declines what
the CPU variant declines (with the same reason), stops where the CPU variant
stops (an int beyond 64 bits, a division by zero on Python numbers, a math
domain error, ...; Python then runs the loop and raises), and writes back
scalars with the types Python would leave (np.float64 stays np.float64).

A device runner is ``runner(nest_id, env) -> dict | None``: ``None`` means
"run the Python loop" (nothing was modified), a dict holds the scalars to
write back into the caller's variables.
"""

import _loopscope

from ._errors import internal

_last = {}


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


def run_nest(nest_id, env, target="emulator"):
    """Run one nest on the GPU (target="gpu") or in the emulator.

    Returns the scalars to write back, or None when the Python loop must run
    instead (see last_reason(nest_id)).
    """
    out = _loopscope.cuda_run(nest_id, env, target)
    _last[nest_id] = out
    if not out["ran"]:
        return None
    return dict(out["scalars"])


def last_outcome(nest_id):
    """The full outcome of the last run of a nest (timings, launches, reason)."""
    return _last.get(nest_id)


def last_reason(nest_id):
    out = _last.get(nest_id)
    return "" if out is None else out.get("reason", "")


def _record(nest_id, device, result):
    try:
        from . import _run
    except ImportError:
        return
    _run._record(nest_id, device, result)


def _hook(target, name):
    def hook(nest_id, env):
        if env is None:  # a name the nest reads is not defined: Python raises
            _record(nest_id, name, {"status": "declined", "reason": "a name the loop reads is not defined"})
            return None
        if target == "gpu":
            st = _loopscope.cuda_driver_status()
            if not st["available"]:
                return _elsewhere(nest_id, env, st["status"])
        try:
            out = _loopscope.cuda_run(nest_id, env, target)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # an engine bug must never break the user's code
            _record(nest_id, name, {"status": "declined", "reason": internal(exc, "GPU code generator")})
            return None
        _last[nest_id] = out
        _record(nest_id, name, {
            # As the CPU variant's records: "declined" before anything ran,
            # "fallback" when a run stopped and Python ran the loop.
            "status": "ok" if out["ran"] else ("declined" if out.get("declined") else "fallback"),
            "reason": out["reason"],
            "timing": {"compile_ms": out["compile_ms"], "run_ms": out["run_ms"]},
            "parallel_loops": out.get("parallel_loops", ""),
        })
        return dict(out["scalars"]) if out["ran"] else None

    hook.__name__ = f"_{name.replace('-', '_')}_hook"
    return hook


def _elsewhere(nest_id, env, why):
    """No GPU: the nest runs on the CPU variant (or as Python) and the record
    says plainly why."""
    _last[nest_id] = {"ran": False, "reason": why, "scalars": {}}
    try:
        from . import _run
    except ImportError:
        return None
    cpu = _run.DEVICES.get("cpu")
    result = cpu(nest_id, env) if cpu is not None else None
    rec = _run.last_runs().get(nest_id, {"status": "python"})
    note = why + "; ran on the CPU instead"
    rec["reason"] = note + (": " + rec["reason"] if rec.get("reason") else "")
    _run._record(nest_id, rec.get("device", "cpu"), rec)
    return result


run_on_gpu = _hook("gpu", "gpu")
run_emulated = _hook("emulator", "gpu-emulated")

DEVICES = {"gpu": run_on_gpu, "gpu-emulated": run_emulated}


def register(register_device):
    """Adds the GPU devices through ``register_device(name, hook)`` (as in
    ``loopscope._run.register_device``)."""
    for name, hook in DEVICES.items():
        register_device(name, hook)


_compiled_sources = {}


def cost_facts(nest_id, env, arch=None, compile_kernels=True):
    """Facts about the GPU variant for the cost model (the keys of
    ``costmodel::VariantFacts``): ``gpu_codegen_ok``, ``gpu_decline``,
    ``gpu_block_size``, ``gpu_registers_per_thread`` and
    ``gpu_shared_bytes_per_block`` (the largest over the nest's kernels, read
    from the CUBIN by NVRTC) and ``gpu_compile_s``; plus ``gpu_launches`` and
    ``gpu_parallel_iterations`` from the host schedule. NVRTC results are kept
    per source and architecture, so asking again costs no compile."""
    gen = _loopscope.cuda_generate(nest_id, env)
    if gen.get("decline"):
        return {"gpu_codegen_ok": False, "gpu_decline": gen["decline"]["reason"]}
    facts = {"gpu_codegen_ok": True, "gpu_decline": ""}
    blocks = [k["block"][0] * k["block"][1] * k["block"][2] for k in gen["kernels"] if k["grid_loops"]]
    facts["gpu_block_size"] = max(blocks) if blocks else 1
    launches = gen.get("launches") or {}
    facts["gpu_launches"] = sum(v["launches"] for v in launches.values())
    facts["gpu_parallel_iterations"] = sum(v["parallel_iterations"] for v in launches.values())
    if compile_kernels:
        if arch is None:
            st = _loopscope.cuda_driver_status()
            arch = f"sm_{st['compute_capability']}" if st["available"] else "sm_80"
        key = (gen["source"], arch)
        res = _compiled_sources.get(key)
        if res is None:
            res = _loopscope.cuda_compile_source(gen["source"], arch, True)
            _compiled_sources[key] = res
        if res["ok"]:
            rs = res["resources"]
            names = [k["name"] for k in gen["kernels"]]
            facts["gpu_registers_per_thread"] = max(rs[n]["registers"] for n in names if n in rs)
            facts["gpu_shared_bytes_per_block"] = max(rs[n]["shared_bytes"] for n in names if n in rs)
            facts["gpu_compile_s"] = res["compile_ms"] / 1000.0
        else:
            facts["gpu_codegen_ok"] = False
            facts["gpu_decline"] = "NVRTC rejected the generated CUDA: " + res["error"].splitlines()[0]
    return facts
