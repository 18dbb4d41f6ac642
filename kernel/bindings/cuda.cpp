// _loopscope functions of the GPU variant:
//
//   cuda_generate(nest_id, env) -> dict
//       The CUDA source for this bound instance, the kernels (thread
//       mapping, block shape), the host schedule, the arrays copied each way,
//       notes, and "launches": per kernel {"launches", "parallel_iterations",
//       "threads", "block_threads"} for the cost model; or {"decline": {...}}
//       when the nest has no GPU version.
//   cuda_compile(nest_id, env, arch="sm_80", cubin=True) -> dict
//       NVRTC compile of the generated source: ok/error, PTX, CUBIN size,
//       registers / shared memory / stack per kernel, compile time.
//   cuda_compile_source(source, arch="sm_80", cubin=True) -> dict
//       The same for a given source (benchmarks, tests).
//   cuda_run(nest_id, env, target="emulator", arch="") -> dict
//       Runs the nest on the GPU ("gpu") or in the CPU emulator
//       ("emulator"): {"ran": bool, "decline": {...} or None, "scalars": {...},
//       "launches", "compile_ms", "run_ms", "target", "declined"}. When
//       "ran" is False nothing was modified and the caller runs the Python
//       loop ("declined": it was decided before anything ran); "decline" is
//       decline.hpp's {"code", "line", "reason", "detail"} ("reason"
//       repeats its sentence for older readers). The
//       scalars have the types Python would leave (int, float, bool,
//       np.float64, np.float32, np.int64, np.int32, np.bool_), as cpu_run's.
//
// Exactness: the same policy as the CPU variant's (analysis/exactness.hpp):
// NumPy scalar inputs are accepted or declined by the same rule, and the
// generator types the nest with the CPU variant's specialiser. An engine bug
// never reaches the user as C++ text: it becomes a decline with a plain
// reason ("detail" keeps the text for developers).
//   cuda_driver_status() -> dict
//       {"available": bool, "status": str, "device", "compute_capability"}.
//   cuda_nvrtc_info() -> dict  {"available", "library", "error", "version", "archs"}
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <set>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/registry.hpp"
#include "loopscope/jit/cpu.hpp"
#include "loopscope/jit/cuda_codegen.hpp"
#include "loopscope/jit/cuda_driver.hpp"
#include "loopscope/jit/cuda_nvrtc.hpp"
#include "loopscope/jit/cuda_runtime.hpp"
#include "decline.hpp"
#include "pipeline.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace loopscope::analysis;
using namespace loopscope::jit;

namespace {

using loopscope::bindings::decline_dict;

// What a CUDA entry point read of the nest's pipeline (pipeline.hpp): the
// first decline on the generated CUDA's way, or the binding and the plan.
struct Prepared {
  loopscope::bindings::PipelineHandle pipe;
  const NestEntry* entry = nullptr;
  const BoundNest* bound = nullptr;
  std::optional<Decline> decline;
};

Prepared prepare(int id, py::dict env) {
  Prepared p{loopscope::bindings::pipeline_for(id, env), nullptr, nullptr, std::nullopt};
  p.entry = p.pipe->entry();
  if (!p.entry) throw py::key_error("unknown nest id " + std::to_string(id));
  p.decline = p.pipe->cuda_way();
  if (!p.decline) p.bound = &p.pipe->binding();
  return p;
}

// What the user reads when the engine itself failed (the C++ text goes to
// "detail" only).
const char* const kInternal =
    "the GPU version could not be prepared because of an internal error in the engine, so the loop runs as Python";

// The Python object for a value written back, of the type Python would leave.
py::object scalar_object(const CudaScalarValue& v) {
  static const py::handle np = py::module_::import("numpy").release();
  switch (v.kind) {
    case ValueKind::PyInt: return py::int_(v.ival);
    case ValueKind::PyFloat: return py::float_(v.fval);
    case ValueKind::PyBool: return py::bool_(v.ival != 0);
    case ValueKind::NpFloat64: return np.attr("float64")(v.fval);
    case ValueKind::NpFloat32: return np.attr("float32")(v.fval);
    case ValueKind::NpInt64: return np.attr("int64")(v.ival);
    case ValueKind::NpInt32: return np.attr("int32")(v.ival);
    case ValueKind::NpBool: return np.attr("bool_")(v.ival != 0);
    case ValueKind::NpUInt8: return np.attr("uint8")(v.ival);
    case ValueKind::NpInt8: return np.attr("int8")(v.ival);
    case ValueKind::NpUInt16: return np.attr("uint16")(v.ival);
    case ValueKind::NpInt16: return np.attr("int16")(v.ival);
    case ValueKind::NpUInt32: return np.attr("uint32")(v.ival);
    case ValueKind::NpUInt64: return np.attr("uint64")(static_cast<uint64_t>(v.ival));
    case ValueKind::NpFloat16: return np.attr("float16")(v.fval);
    case ValueKind::PyComplex:
    case ValueKind::NpComplex128:
    case ValueKind::NpComplex64: break;  // complex numbers run on the CPU only
  }
  return py::none();
}

const char* kind_name(CudaParamKind k) {
  switch (k) {
    case CudaParamKind::ArrayData: return "array";
    case CudaParamKind::ArrayExtent: return "extent";
    case CudaParamKind::ArrayStride: return "stride";
    case CudaParamKind::IntScalar: return "int";
    case CudaParamKind::FloatScalar: return "float";
    case CudaParamKind::BoolScalar: return "bool";
    case CudaParamKind::ErrorFlag: return "error";
    case CudaParamKind::Result: return "result";
    case CudaParamKind::ResultMeta: return "result_meta";
    case CudaParamKind::GridLast: return "grid_last";
    case CudaParamKind::LaunchNumber: return "launch_number";
  }
  return "?";
}

py::list schedule_list(const std::vector<CudaHostNode>& nodes, const CudaProgram& prog) {
  py::list out;
  for (auto& n : nodes) {
    py::dict d;
    if (n.kind == CudaHostNode::Loop) {
      d["kind"] = "host_loop";
      d["var"] = n.loop->var;
      d["line"] = n.loop->line;
      d["range"] = "range(" + (n.loop->start ? to_source(*n.loop->start) : std::string("0")) + ", " +
                   (n.loop->stop ? to_source(*n.loop->stop) : std::string("?")) + ", " +
                   (n.loop->step ? to_source(*n.loop->step) : std::string("1")) + ")";
      d["body"] = schedule_list(n.body, prog);
    } else {
      d["kind"] = "launch";
      d["kernel"] = prog.kernels[n.kernel].name;
    }
    out.append(d);
  }
  return out;
}

// The loops that form the GPU grid, in the order their kernels name them
// ("i, j"): what a run reports as its parallel loops.
std::string grid_loops(const CudaProgram& prog) {
  std::string grid;
  std::set<std::string> seen;
  for (auto& k : prog.kernels)
    for (auto* g : k.grid_stmts)
      if (seen.insert(g->var).second) grid += (grid.empty() ? "" : ", ") + g->var;
  return grid;
}

py::dict program_dict(const CudaProgram& prog) {
  py::dict r;
  if (prog.decline) {
    r["decline"] = decline_dict(*prog.decline);
    return r;
  }
  r["decline"] = py::none();
  r["source"] = prog.source;
  r["parallel_loops"] = grid_loops(prog);
  py::list kernels;
  for (auto& k : prog.kernels) {
    py::dict d;
    d["name"] = k.name;
    d["loop_id"] = k.loop;
    d["mapping"] = k.mapping;
    d["block"] = std::vector<unsigned>{k.block[0], k.block[1], k.block[2]};
    py::list grid;
    for (size_t i = 0; i < k.grid_stmts.size(); ++i) {
      py::dict g;
      g["var"] = k.grid_stmts[i]->var;
      g["axis"] = std::string(1, "xyz"[k.grid_axis[i]]);
      grid.append(g);
    }
    d["grid_loops"] = grid;
    d["grid_loop_ids"] = k.grid_loops;
    py::list params;
    for (auto& p : k.params) {
      py::dict pd;
      pd["name"] = p.name;
      pd["kind"] = kind_name(p.kind);
      pd["of"] = p.array;
      params.append(pd);
    }
    d["params"] = params;
    kernels.append(d);
  }
  r["kernels"] = kernels;
  r["schedule"] = schedule_list(prog.schedule, prog);
  r["arrays_read"] = prog.arrays_read;
  r["arrays_written"] = prog.arrays_written;
  r["notes"] = prog.notes;
  return r;
}

py::dict nvrtc_dict(const NvrtcOutput& o) {
  py::dict r;
  r["ok"] = o.ok;
  r["arch"] = o.arch;
  r["error"] = o.error;
  r["log"] = o.log;
  r["ptx"] = o.ptx;
  r["cubin_size"] = o.cubin.size();
  r["compile_ms"] = o.compile_ms;
  r["nvrtc_missing"] = o.unavailable;
  py::dict res;
  for (auto& [name, k] : o.resources) {
    py::dict d;
    d["registers"] = k.registers;
    d["shared_bytes"] = k.shared_bytes;
    d["local_bytes"] = k.local_bytes;
    res[py::str(name)] = d;
  }
  r["resources"] = res;
  return r;
}

py::dict generate_impl(int id, py::dict env) {
  Prepared p = prepare(id, env);
  if (p.decline) {
    py::dict r;
    r["decline"] = decline_dict(*p.decline);
    return r;
  }
  auto program = p.pipe->cuda_program();
  const CudaProgram& prog = *program;
  py::dict r = program_dict(prog);
  if (prog.decline) return r;
  std::vector<CudaLaunchSummary> sums;
  if (summarize_launches(prog, *p.bound, &sums)) {
    py::dict launches;
    for (size_t k = 0; k < sums.size(); ++k) {
      py::dict d;
      d["launches"] = sums[k].launches;
      d["parallel_iterations"] = sums[k].parallel_iterations;
      d["threads"] = sums[k].threads;
      d["block_threads"] = sums[k].block_threads;
      launches[py::str(prog.kernels[k].name)] = d;
    }
    r["launches"] = launches;
  } else {
    r["launches"] = py::none();
  }
  return r;
}

py::dict compile_impl(int id, py::dict env, const std::string& arch, bool cubin) {
  Prepared p = prepare(id, env);
  if (p.decline) {
    py::dict r;
    r["ok"] = false;
    r["decline"] = decline_dict(*p.decline);
    r["error"] = p.decline->reason;
    return r;
  }
  auto program = p.pipe->cuda_program();
  const CudaProgram& prog = *program;
  if (prog.decline) {
    py::dict r;
    r["ok"] = false;
    r["decline"] = decline_dict(*prog.decline);
    r["error"] = prog.decline->reason;
    return r;
  }
  NvrtcOutput o;
  {
    py::gil_scoped_release nogil;
    o = nvrtc_compile(prog.source, arch, cubin);
  }
  py::dict r = nvrtc_dict(o);
  r["decline"] = py::none();
  r["source"] = prog.source;
  return r;
}

py::dict compile_source(const std::string& source, const std::string& arch, bool cubin) {
  NvrtcOutput o;
  {
    py::gil_scoped_release nogil;
    o = nvrtc_compile(source, arch, cubin);
  }
  return nvrtc_dict(o);
}

py::dict run_impl(int id, py::dict env, const std::string& target, const std::string& arch) {
  py::dict r;
  Prepared p = prepare(id, env);
  auto not_run = [&](const Decline& why, bool declined) {
    r["ran"] = false;
    r["declined"] = declined;  // decided before anything ran (else a run stopped)
    r["decline"] = decline_dict(why);
    r["reason"] = why.reason;
    r["scalars"] = py::dict();
    r["launches"] = 0;
    r["compile_ms"] = 0.0;
    r["run_ms"] = 0.0;
    r["target"] = target;
    return r;
  };
  if (p.decline) return not_run(*p.decline, true);
  if (target != "emulator" && target != "gpu") throw py::value_error("target must be 'emulator' or 'gpu'");
  auto program = p.pipe->cuda_program();
  const CudaProgram& prog = *program;
  if (prog.decline) return not_run(*prog.decline, true);
  CudaRunOutcome out;
  request_cancel(false);
  {
    py::gil_scoped_release nogil;
    out = run_cuda_program(prog, *p.bound, target == "gpu" ? CudaTarget::Device : CudaTarget::Emulator, arch);
  }
  if (out.decline && out.decline->code == DeclineCode::Interrupted) {
    // Nothing was written back; the interrupt becomes Python's KeyboardInterrupt.
    request_cancel(false);
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  if (out.decline) return not_run(*out.decline, out.declined);
  py::dict scalars;
  for (auto& [name, v] : out.scalars) scalars[py::str(name)] = scalar_object(v);
  r["parallel_loops"] = grid_loops(prog);
  r["ran"] = true;
  r["declined"] = false;
  r["decline"] = py::none();
  r["reason"] = "";
  r["scalars"] = scalars;
  r["launches"] = out.launches;
  r["compile_ms"] = out.compile_ms;
  r["run_ms"] = out.run_ms;
  r["target"] = out.target;
  r["notes"] = prog.notes;
  return r;
}

// The entry points: an engine bug (a C++ exception) becomes a decline with a
// plain sentence; Python errors (KeyboardInterrupt, an unknown nest id) pass.
template <class F>
py::dict guarded(F&& f, const char* failed_key) {
  try {
    return f();
  } catch (const py::error_already_set&) {
    throw;
  } catch (const py::builtin_exception&) {
    throw;
  } catch (const std::exception& e) {
    py::dict r;
    r["decline"] = decline_dict(Decline{DeclineCode::Internal, 0, kInternal, e.what()});
    r[failed_key] = false;
    r["declined"] = true;
    r["reason"] = kInternal;
    r["target"] = "";
    r["error"] = kInternal;
    r["detail"] = e.what();
    r["scalars"] = py::dict();
    r["launches"] = 0;
    r["compile_ms"] = 0.0;
    r["run_ms"] = 0.0;
    return r;
  }
}

py::dict generate(int id, py::dict env) {
  return guarded([&] { return generate_impl(id, env); }, "ok");
}
py::dict compile(int id, py::dict env, const std::string& arch, bool cubin) {
  return guarded([&] { return compile_impl(id, env, arch, cubin); }, "ok");
}
py::dict run(int id, py::dict env, const std::string& target, const std::string& arch) {
  return guarded([&] { return run_impl(id, env, target, arch); }, "ran");
}

py::dict driver_status() {
  CudaDriver& d = CudaDriver::instance();
  py::dict r;
  r["available"] = d.available();
  r["status"] = d.status();
  r["device"] = d.device_name();
  r["compute_capability"] = d.compute_capability();
  return r;
}

py::dict nvrtc_info() {
  py::dict r;
  NvrtcLibrary lib = nvrtc_library();
  r["available"] = lib.available;
  r["library"] = lib.path;
  r["error"] = lib.error;
  r["version"] = nvrtc_version();
  r["archs"] = nvrtc_supported_archs();
  return r;
}

// The lib folders of the nvidia-cuda-nvrtc wheels on this interpreter's path
// (CUDA 13: nvidia/cu13/lib; CUDA 12: nvidia/cuda_nvrtc/lib), for NVRTC's
// loader, which tries them before a toolkit.
std::vector<std::string> nvrtc_wheel_dirs() {
  std::vector<std::string> dirs;
  try {
    for (auto entry : py::module_::import("sys").attr("path")) {
      std::string base = py::str(entry);
      if (base.empty()) continue;
      for (const char* sub : {"/nvidia/cu13/lib", "/nvidia/cuda_nvrtc/lib"}) dirs.push_back(base + sub);
    }
  } catch (const std::exception&) {}
  return dirs;
}

void bind(py::module_& m) {
  set_nvrtc_search_dirs(nvrtc_wheel_dirs());
  m.def("cuda_generate", &generate, py::arg("nest_id"), py::arg("env"),
        "CUDA source, kernels and host schedule of a registered nest for these live values.");
  m.def("cuda_compile", &compile, py::arg("nest_id"), py::arg("env"), py::arg("arch") = "sm_80",
        py::arg("cubin") = true, "Compile the generated CUDA with NVRTC; resources per kernel.");
  m.def("cuda_compile_source", &compile_source, py::arg("source"), py::arg("arch") = "sm_80", py::arg("cubin") = true,
        "Compile CUDA source (which may include loopscope_cuda.h) with NVRTC.");
  m.def("cuda_run", &run, py::arg("nest_id"), py::arg("env"), py::arg("target") = "emulator", py::arg("arch") = "",
        "Run a registered nest on the GPU or in the CPU emulator.");
  m.def("cuda_driver_status", &driver_status, "Whether a CUDA driver and GPU can be used, and why not.");
  m.def("cuda_nvrtc_info", &nvrtc_info, "NVRTC version and supported architectures.");
}

loopscope::bindings::Registrar reg("cuda", &bind);

}  // namespace
