// Python bindings of the CPU variant (loopscope::jit cpu.hpp).
//
//   cpu_run(nest_id, env, parallel=True) -> dict
//       Bind `env` (a dict of live values) to the registered nest, run the
//       dynamic analysis, compile (or find in the cache) the CPU variant and
//       run it in place on the arrays. The dict has "status": "ok" (with
//       "outputs": {name: value} for every scalar or loop variable the loop
//       assigned, typed as Python would leave it), "declined" or "fallback"
//       (with "decline": {"code", "line", "reason", "detail"}, decline.hpp;
//       the caller then runs the Python loop, and for
//       "fallback" every array has been restored). Ctrl-C while the native
//       loop runs raises KeyboardInterrupt; the arrays then hold what the
//       loop had written so far.
//   cpu_compile(nest_id, env, parallel=True) -> dict   (compile only: timings, IR)
//   cpu_set_cancel(flag), cpu_cancel_requested(), cpu_cancel_flag_address()
//   cpu_threads(), cpu_set_threads(n), cpu_cache_stats(), cpu_clear_cache()
//   cpu_budget() -> {"cpus", "source"}: the CPUs this process may use and what
//       decided it (LOOPSCOPE_THREADS, the cgroup quota or the affinity mask)
//   cpu_set_reverse_chunks(flag), cpu_reverse_chunks()   (testing)
//   cpu_wait_compiles(), cpu_compiling_in_background(), cpu_workers_awake(), cpu_tier(),
//   cpu_set_tier("auto"|"quick"|"optimised")
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <map>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/registry.hpp"
#include "loopscope/host_cpus.hpp"
#include "loopscope/jit/cpu.hpp"
#include "decline.hpp"
#include "pipeline.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace loopscope;

namespace {

// NumPy's scalar types, looked up once (kept for the life of the process).
struct NumpyTypes {
  py::object generic, ndarray, float64, float32, int64, int32, bool_, uint8, int8, uint16, int16, uint32, complex128,
      complex64, uint64, float16;
};
const NumpyTypes& np_types() {
  static NumpyTypes* t = [] {
    py::module_ np = py::module_::import("numpy");
    return new NumpyTypes{np.attr("generic"),    np.attr("ndarray"),   np.attr("float64"), np.attr("float32"),
                          np.attr("int64"),      np.attr("int32"),     np.attr("bool_"),   np.attr("uint8"),
                          np.attr("int8"),       np.attr("uint16"),    np.attr("int16"),   np.attr("uint32"),
                          np.attr("complex128"), np.attr("complex64"), np.attr("uint64"),  np.attr("float16")};
  }();
  return *t;
}

// Runs on the thread that started a native loop, about every 20 ms: lets
// Python's own SIGINT handler run (it raises KeyboardInterrupt) and cancels
// the loop when it did.
bool poll_python_signals() {
  PyGILState_STATE s = PyGILState_Ensure();
  int r = PyErr_CheckSignals();
  PyGILState_Release(s);
  return r != 0;
}

// {"status": "declined", "decline": {...}} (decline.hpp's shape).
py::dict declined_dict(const analysis::Decline& decline) {
  py::dict d;
  d["status"] = "declined";
  d["decline"] = bindings::decline_dict(decline);
  return d;
}

// What a CPU entry point read of the nest's pipeline (pipeline.hpp).
struct Prepared {
  const analysis::NestEntry* entry = nullptr;
  const analysis::BoundNest* bound = nullptr;
  std::shared_ptr<const analysis::ParallelPlan> plan;
  jit::CpuCompileResult compiled;
  std::optional<analysis::Decline> decline;
  std::vector<int> parallel_loop_ids;  // Check: the loops the variant would split
  bool cached = false;  // Check, LookUp: its code is compiled already; CompileInBackground: a compile was queued
  bindings::NestPipeline::CallTimes times;
  std::map<std::string, int> hidden_kinds;  // Check: jit::CpuCheck::hidden_kinds
};

// What prepare does once the pipeline found no decline on the CPU
// variant's way: compile (or find in the cache); only check (p.decline says
// whether compiling would decline, and nothing is compiled); or queue a
// background compile.
enum class Then { Compile, Check, CompileInBackground, LookUp };

// Reads the pipeline up to the plan, then compiles, checks or queues the nest.
void prepare(Prepared& p, bindings::NestPipeline& pipe, bool parallel, bool keep_ir = false,
             Then then = Then::Compile) {
  p.entry = pipe.entry();
  if (!p.entry) throw py::key_error("unknown nest id " + std::to_string(pipe.nest_id()));
  if (auto d = pipe.cpu_way(&p.times)) {
    p.decline = d;
    return;
  }
  p.bound = &pipe.binding();
  p.plan = pipe.plan();
  if (then == Then::Check) {
    jit::CpuCheck check = pipe.cpu_check(parallel);
    p.decline = check.decline;
    p.compiled.parallel_loops = check.parallel_loops;
    p.parallel_loop_ids = check.parallel_loop_ids;
    p.cached = check.compiled;
    p.hidden_kinds = check.hidden_kinds;
    return;
  }
  jit::CpuOptions opts = pipe.cpu_options(parallel, keep_ir);
  if (then == Then::CompileInBackground) {
    p.cached = jit::compile_cpu_in_background(*p.bound, *p.plan, opts);
    return;
  }
  if (then == Then::LookUp) {
    p.cached = jit::cpu_variant_cached(*p.bound, *p.plan, opts);
    return;
  }
  p.compiled = jit::compile_cpu(*p.bound, *p.plan, opts);
  if (p.compiled.decline) p.decline = p.compiled.decline;
}

py::object output_value(const jit::ScalarOutput& o) {
  const NumpyTypes& np = np_types();
  switch (o.kind) {
    case jit::ValueKind::PyInt: return py::int_(o.ival);
    case jit::ValueKind::PyFloat: return py::float_(o.fval);
    case jit::ValueKind::PyBool: return py::bool_(o.ival != 0);
    case jit::ValueKind::NpFloat64: return np.float64(o.fval);
    case jit::ValueKind::NpFloat32: return np.float32(o.fval);
    case jit::ValueKind::NpInt64: return np.int64(o.ival);
    case jit::ValueKind::NpInt32: return np.int32(o.ival);
    case jit::ValueKind::NpBool: return np.bool_(o.ival != 0);
    case jit::ValueKind::NpUInt8: return np.uint8(o.ival);
    case jit::ValueKind::NpInt8: return np.int8(o.ival);
    case jit::ValueKind::NpUInt16: return np.uint16(o.ival);
    case jit::ValueKind::NpInt16: return np.int16(o.ival);
    case jit::ValueKind::NpUInt32: return np.uint32(o.ival);
    case jit::ValueKind::NpUInt64: return np.uint64(static_cast<uint64_t>(o.ival));
    case jit::ValueKind::NpFloat16: return np.float16(o.fval);
    case jit::ValueKind::PyComplex: return py::reinterpret_steal<py::object>(PyComplex_FromDoubles(o.fval, o.fimag));
    case jit::ValueKind::NpComplex128:
      return np.complex128(py::reinterpret_steal<py::object>(PyComplex_FromDoubles(o.fval, o.fimag)));
    case jit::ValueKind::NpComplex64:
      return np.complex64(py::reinterpret_steal<py::object>(PyComplex_FromDoubles(o.fval, o.fimag)));
  }
  return py::none();
}

py::dict timing(const Prepared& p) {
  py::dict t;
  t["bind_us"] = p.times.bind_us;
  t["analysis_us"] = p.times.plan_us;
  t["specialise_ms"] = p.compiled.analyse_ms;
  t["compile_ms"] = p.compiled.compile_ms;
  t["plan_cache_hit"] = p.times.plan_reused;
  t["cache_hit"] = p.compiled.cache_hit;
  t["tier"] = jit::to_string(p.compiled.tier);
  t["upgrade_pending"] = p.compiled.upgrade_pending;
  return t;
}

py::dict cpu_run(int nest_id, py::dict env, bool parallel) {
  auto pipe = bindings::pipeline_for(nest_id, env);
  Prepared p;
  prepare(p, *pipe, parallel);
  if (p.decline) {
    py::dict d = declined_dict(*p.decline);
    d["timing"] = timing(p);
    return d;
  }
  jit::CpuRunResult r;
  {
    // A cancel left over from an interrupt that arrived while no native loop
    // ran must not stop this one (a pending Ctrl-C still reaches Python's
    // signal check at the first poll).
    jit::request_cancel(false);
    jit::set_poll_callback(&poll_python_signals);
    py::gil_scoped_release release;
    r = jit::run_cpu(*p.compiled.variant, *p.bound, &p.plan->write_extents);
  }
  jit::set_poll_callback(nullptr);
  if (r.status == jit::RunStatus::Cancelled) {
    jit::request_cancel(false);
    // The kernel marks Python's interrupt pending before it sets the cancel
    // flag: raise that pending KeyboardInterrupt (so it is not raised a second
    // time later), or a fresh one when the cancel came from elsewhere.
    if (!PyErr_Occurred() && PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  if (PyErr_Occurred()) throw py::error_already_set();
  py::dict d;
  py::dict t = timing(p);
  t["run_ms"] = r.run_ms;
  t["snapshot_bytes"] = r.snapshot_bytes;
  t["regions_parallel"] = r.regions_parallel;
  t["regions_inline"] = r.regions_inline;
  d["timing"] = t;
  d["parallel_loops"] = p.compiled.parallel_loops;
  if (r.status == jit::RunStatus::Fallback) {
    d["status"] = "fallback";
    d["decline"] = bindings::decline_dict(*r.decline);
    return d;
  }
  d["status"] = "ok";
  py::dict outs;
  for (auto& o : r.outputs)
    if (o.assigned) outs[py::str(o.name)] = output_value(o);
  d["outputs"] = outs;
  return d;
}

// What cpu_run would do with these values, without compiling or running:
// {"status": "declined", "decline"} or {"status": "native",
// "parallel_loops"}. A native run can still fall back at run time (a
// subscript found out of range, an overflow), which only running tells.
py::dict cpu_predict(int nest_id, py::dict env, bool parallel) {
  auto pipe = bindings::pipeline_for(nest_id, env);
  Prepared p;
  prepare(p, *pipe, parallel, false, Then::Check);
  if (p.decline) return declined_dict(*p.decline);
  py::dict d;
  d["status"] = "native";
  d["parallel_loops"] = p.compiled.parallel_loops;
  d["parallel_loop_ids"] = p.parallel_loop_ids;
  d["compiled"] = p.cached;
  py::dict kinds;
  for (auto& [name, kind] : p.hidden_kinds) kinds[py::str(name)] = kind;
  d["hidden_kinds"] = kinds;
  return d;
}

// Whether the variant for these values is compiled (jit::cpu_variant_cached).
bool cpu_cached(int nest_id, py::dict env, bool parallel) {
  auto pipe = bindings::pipeline_for(nest_id, env);
  Prepared p;
  prepare(p, *pipe, parallel, false, Then::LookUp);
  return !p.decline && p.cached;
}

// Queues an optimised compile of the variant for these values (see
// jit::compile_cpu_in_background); true when one was queued.
bool cpu_compile_background(int nest_id, py::dict env, bool parallel) {
  auto pipe = bindings::pipeline_for(nest_id, env);
  Prepared p;
  prepare(p, *pipe, parallel, false, Then::CompileInBackground);
  return !p.decline && p.cached;
}

py::dict cpu_compile(int nest_id, py::dict env, bool parallel, bool with_ir) {
  auto pipe = bindings::pipeline_for(nest_id, env);
  Prepared p;
  prepare(p, *pipe, parallel, with_ir);
  py::dict d;
  d["timing"] = timing(p);
  if (p.decline) {
    for (auto item : declined_dict(*p.decline)) d[item.first] = item.second;
    return d;
  }
  d["status"] = "ok";
  d["parallel_loops"] = p.compiled.parallel_loops;
  d["needs_snapshot"] = jit::cpu_variant_needs_snapshot(*p.compiled.variant);
  d["interchanged"] = jit::cpu_variant_interchanged(*p.compiled.variant);
  d["unroll_jammed"] = jit::cpu_variant_unroll_jammed(*p.compiled.variant);
  d["tier"] = jit::to_string(p.compiled.tier);
  if (with_ir) d["ir"] = jit::cpu_variant_ir(*p.compiled.variant);
  return d;
}

void bind(py::module_& m) {
  m.def("cpu_run", &cpu_run, py::arg("nest_id"), py::arg("env"), py::arg("parallel") = true,
        "Run a registered nest with the CPU variant, in place; see kernel/bindings/cpu.cpp.");
  m.def("cpu_predict", &cpu_predict, py::arg("nest_id"), py::arg("env"), py::arg("parallel") = true,
        "What cpu_run would do with these values (decline and why, or the loops it runs in parallel), "
        "without compiling.");
  m.def("cpu_cached", &cpu_cached, py::arg("nest_id"), py::arg("env"), py::arg("parallel") = true,
        "Whether the variant for these values is compiled already (looked up, nothing specialised).");
  m.def("cpu_compile_background", &cpu_compile_background, py::arg("nest_id"), py::arg("env"),
        py::arg("parallel") = true,
        "Queue an optimised compile of the variant for these values on the background thread; "
        "True when one was queued (nothing runs, nothing waits).");
  m.def("cpu_compile", &cpu_compile, py::arg("nest_id"), py::arg("env"), py::arg("parallel") = true,
        py::arg("ir") = false, "Specialise and compile (or find in the cache) without running.");
  m.def("cpu_set_cancel", [](bool on) { jit::request_cancel(on); }, py::arg("flag"));
  m.def("cpu_cancel_requested", [] { return jit::cancel_requested(); });
  m.def(
      "cpu_cancel_flag_address", [] { return reinterpret_cast<uintptr_t>(jit::cancel_flag()); },
      "Address of the std::atomic<bool> the native loops poll (write 1 to cancel).");
  m.def(
      "cpu_set_reverse_chunks", [](bool on) { jit::set_cpu_reverse_chunks(on); }, py::arg("flag"),
      "Testing: parallel loops run one iteration per chunk, last chunk first (see jit/cpu.hpp).");
  m.def("cpu_reverse_chunks", [] { return jit::cpu_reverse_chunks(); });
  m.def(
      "cpu_set_numpy_warnings", [](bool on) { jit::set_numpy_warnings(on); }, py::arg("on"),
      "Whether NumPy prints its RuntimeWarnings now (set before each run; see jit/cpu.hpp).");
  m.def("cpu_numpy_warnings", [] { return jit::numpy_warnings(); });
  m.def("cpu_threads", [] { return jit::cpu_thread_count(); });
  m.def("cpu_budget", [] {
    auto b = usable_cpus();
    py::dict d;
    d["cpus"] = b.cpus;
    d["source"] = b.source;
    return d;
  });
  m.def("cpu_set_threads", [](int n) { jit::set_cpu_thread_count(n); }, py::arg("n"));
  m.def("cpu_cache_stats", [] {
    auto s = jit::cpu_cache_stats();
    py::dict d;
    d["entries"] = s.entries;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["upgrades"] = s.upgrades;
    d["specialisations_reused"] = s.specialisations_reused;
    return d;
  });
  m.def("cpu_clear_cache", [] { jit::clear_cpu_cache(); });
  m.def(
      "cpu_wait_compiles",
      [] {
        py::gil_scoped_release release;
        jit::wait_cpu_compiles();
      },
      "Block until no optimised code is being built in the background.");
  m.def(
      "cpu_compiling_in_background", [] { return jit::cpu_compiling_in_background(); },
      "Whether a background compile is queued or running now.");
  m.def(
      "cpu_workers_awake", [] { return jit::cpu_workers_awake(); },
      "Whether the thread pool's workers are still spinning after a parallel loop (the next starts warm).");
  m.def(
      "cpu_stop_compiles",
      [] {
        py::gil_scoped_release release;
        jit::stop_cpu_compiles();
      },
      "Stop background compiles for good (called at interpreter exit).");
  // Before the interpreter exits (and long before C++ static objects go).
  py::module_::import("atexit").attr("register")(m.attr("cpu_stop_compiles"));
  m.def("cpu_tier", [] { return std::string(jit::to_string(bindings::cpu_default_tier())); });
  m.def(
      "cpu_set_tier",
      [](const std::string& t) {
        if (t == "auto")
          bindings::cpu_default_tier() = jit::CpuTier::Auto;
        else if (t == "quick")
          bindings::cpu_default_tier() = jit::CpuTier::Quick;
        else if (t == "optimised")
          bindings::cpu_default_tier() = jit::CpuTier::Optimised;
        else
          throw py::value_error("tier must be 'auto', 'quick' or 'optimised', not '" + t + "'");
      },
      py::arg("tier"),
      "Compile tier for new variants: 'auto' (quick code for brief runs while optimised code builds in "
      "the background), 'quick' or 'optimised' (only that tier).");
}

bindings::Registrar reg("cpu", &bind);

}  // namespace
