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
//   cpu_wait_compiles(), cpu_tier(), cpu_set_tier("auto"|"quick"|"optimised")
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <map>

#include "loopscope/debug_settings.hpp"
#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/exactness.hpp"
#include "loopscope/analysis/registry.hpp"
#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/model.hpp"
#include "loopscope/costmodel/work.hpp"
#include "loopscope/host_cpus.hpp"
#include "loopscope/jit/cpu.hpp"
#include "nest_mapping.hpp"
#include "decline.hpp"
#include "registry.hpp"
#include "values.hpp"

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

struct Prepared {
  const analysis::NestEntry* entry = nullptr;
  analysis::BoundNest bound;
  std::shared_ptr<const analysis::ParallelPlan> plan;
  jit::CpuCompileResult compiled;
  std::optional<analysis::Decline> decline;
  std::vector<int> parallel_loop_ids;  // Check: the loops the variant would split
  bool cached = false;  // Check, LookUp: its code is compiled already; CompileInBackground: a compile was queued
  double bind_us = 0, analysis_us = 0;
  bool plan_hit = false;
  std::map<std::string, int> hidden_kinds;  // Check: jit::CpuCheck::hidden_kinds
};

// NumPy scalars among the inputs; np.int32 and other narrow integer scalars
// follow arithmetic rules the CPU variant does not model.
std::optional<analysis::Decline> numpy_scalars(const analysis::LoopNest& nest, py::dict env, jit::CpuOptions& opts) {
  const NumpyTypes& np = np_types();
  for (auto& name : nest.inputs) {
    py::str key(name);
    if (!env.contains(key)) continue;
    py::handle v = env[key];
    if (!py::isinstance(v, np.generic) || py::isinstance(v, np.ndarray)) continue;
    std::string type = py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>();
    if (auto d = analysis::numpy_scalar_input(name, type, nest.first_line)) return d;
    if (py::isinstance(v, np.complex64)) opts.complex64_scalars.push_back(name);
    if (py::isinstance(v, np.float32)) opts.float32_scalars.push_back(name);
    if (py::isinstance(v, np.uint64)) opts.uint64_scalars.push_back(name);
    if (py::isinstance(v, np.float16)) opts.float16_scalars.push_back(name);
    if (auto t = analysis::small_int_scalar_dtype(type)) opts.small_int_scalars.emplace_back(name, *t);
    opts.numpy_scalars.push_back(name);
  }
  return std::nullopt;
}

// NumPy's PyUFuncObject up to `types` (numpy/ufuncobject.h; this head is the
// same in every NumPy 1.x and 2.x). What is read from it is checked against
// the ufunc's own Python attributes (nin, nout, types) before it is used.
struct UfuncHead {
  PyObject ob_base;  // PyObject_HEAD
  int nin, nout, nargs, identity;
  void** functions;  // PyUFuncGenericFunction*
  void** data;
  int ntypes, reserved1;
  const char* name;
  const char* types;  // ntypes * nargs type numbers
};

// The float64 and float32 inner loops of NumPy's float ufuncs that the front
// end knows (jit::CpuOptions::ufunc_loops), taken once from the numpy module.
// A ufunc whose loops do not check out is left out: its calls decline.
std::shared_ptr<const std::map<std::string, jit::CpuOptions::UfuncLoop>> numpy_ufunc_loops() {
  static const auto loops = std::make_shared<const std::map<std::string, jit::CpuOptions::UfuncLoop>>([] {
    std::map<std::string, jit::CpuOptions::UfuncLoop> out;
    try {
      py::module_ np = py::module_::import("numpy");
      py::object ufunc = np.attr("ufunc");
      for (const char* name : {"exp",   "log",    "log2",   "log10",  "log1p",   "expm1", "sin",  "cos",
                               "tan",   "arcsin", "arccos", "arctan", "arctan2", "sinh",  "cosh", "tanh",
                               "floor", "ceil",   "trunc",  "square", "sign",    "power", "hypot"}) {
        py::object u = np.attr(name);
        if (!py::isinstance(u, ufunc)) continue;
        const int nin = u.attr("nin").cast<int>(), nout = u.attr("nout").cast<int>();
        py::list signatures = u.attr("types");
        const auto* head = reinterpret_cast<const UfuncHead*>(u.ptr());
        if (nout != 1 || nin < 1 || nin > 2 || head->nin != nin || head->nout != nout || head->nargs != nin + 1 ||
            head->ntypes != static_cast<int>(signatures.size()))
          continue;
        for (char c : {'d', 'f'}) {
          const std::string want = std::string(nin, c) + "->" + c;
          const int num = np.attr("dtype")(std::string(1, c)).attr("num").cast<int>();
          for (int k = 0; k < head->ntypes; ++k) {
            if (signatures[k].cast<std::string>() != want) continue;
            bool same = head->functions[k] != nullptr;
            for (int j = 0; j <= nin; ++j) same = same && head->types[k * (nin + 1) + j] == num;
            if (same) out["np." + std::string(name) + ":" + c] = {head->functions[k], head->data[k], nin};
            break;
          }
        }
      }
    } catch (const std::exception&) {
      out.clear();  // without NumPy's own loops, np.exp() and the others decline
    }
    return out;
  }());
  return loops;
}

// The compile tier asked for by default: LOOPSCOPE_DEBUG's tier=quick|optimised|auto
// at start-up (debug_settings.hpp), or cpu_set_tier().
jit::CpuTier& default_tier() {
  static jit::CpuTier t = [] {
    const std::string& v = debug_settings().tier;
    return v == "quick" ? jit::CpuTier::Quick : v == "optimised" ? jit::CpuTier::Optimised : jit::CpuTier::Auto;
  }();
  return t;
}

// The tier choice (jit::CpuOptions::prefer_quick): the cost model's
// estimate of the optimised code's compute time, then whether quick code's
// slower running costs less than waiting for the optimised compile. Host
// figures: the calibrated profile when a calibration is cached (reading it is
// cheap), else the detected one with typical figures (calibrating here would
// add most of a second to a first call). Asked only on a variant-cache miss.
bool prefer_quick(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan, bool parallel) {
  static const costmodel::HostProfile host = [] {
    FILE* f = std::fopen(costmodel::host_cache_path().c_str(), "r");
    if (!f) return costmodel::detect_host();
    std::fclose(f);
    return costmodel::host_profile(false);
  }();
  costmodel::WorkProfile w = costmodel::count_work(bound, plan, 1.0);
  // Work that cannot be counted (bounds read from arrays) may be long: the O3
  // compile is a bounded cost, slower code on a long loop is not.
  if (!w.ok()) return false;
  double compute = costmodel::cpu_compute_seconds(w, host, parallel, parallel ? jit::cpu_thread_count() : 1);
  return costmodel::cpu_tier_choice(w, host, compute).quick;
}

// What prepare does after binding and analysing: compile (or find in the
// cache); only check (p.decline says whether compiling would decline, and
// nothing is compiled); or queue a background compile.
enum class Then { Compile, Check, CompileInBackground, LookUp };

// Binds, analyses and then compiles, checks or queues the nest for env.
void prepare(Prepared& p, int nest_id, py::dict env, bool parallel, bool keep_ir = false, Then then = Then::Compile) {
  using clock = std::chrono::steady_clock;
  p.entry = analysis::find_nest(nest_id);
  if (!p.entry) throw py::key_error("unknown nest id " + std::to_string(nest_id));
  if (p.entry->decline || !p.entry->nest || !p.entry->analysis) {
    p.decline = p.entry->decline
                    ? *p.entry->decline
                    : analysis::Decline{analysis::DeclineCode::Internal, p.entry->line, "the nest was not analysed"};
    return;
  }
  auto t0 = clock::now();
  if (auto d = bindings::bind_values(*p.entry->nest, env, p.bound)) {
    p.decline = d;
    return;
  }
  jit::CpuOptions opts;
  opts.parallel = parallel;
  opts.keep_ir = keep_ir;
  opts.ufunc_loops = numpy_ufunc_loops();
  if (auto d = numpy_scalars(*p.entry->nest, env, opts)) {
    p.decline = d;
    return;
  }
  auto t1 = clock::now();
  p.plan = analysis::analyze_dynamic_cached(*p.entry->analysis, p.bound, &p.plan_hit);
  auto t2 = clock::now();
  p.bind_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  p.analysis_us = std::chrono::duration<double, std::micro>(t2 - t1).count();
  if (p.plan->decline) {
    p.decline = p.plan->decline;
    return;
  }
  opts.tier = default_tier();
  opts.nest_owner = p.entry->nest;
  const analysis::BoundNest* bound = &p.bound;
  const analysis::ParallelPlan* plan = p.plan.get();
  opts.prefer_quick = [bound, plan, parallel] { return prefer_quick(*bound, *plan, parallel); };
  if (then == Then::Check) {
    jit::CpuCheck check = jit::check_cpu(p.bound, *p.plan, opts);
    p.decline = check.decline;
    p.compiled.parallel_loops = check.parallel_loops;
    p.parallel_loop_ids = check.parallel_loop_ids;
    p.cached = check.compiled;
    p.hidden_kinds = check.hidden_kinds;
    return;
  }
  if (then == Then::CompileInBackground) {
    p.cached = jit::compile_cpu_in_background(p.bound, *p.plan, opts);
    return;
  }
  if (then == Then::LookUp) {
    p.cached = jit::cpu_variant_cached(p.bound, *p.plan, opts);
    return;
  }
  p.compiled = jit::compile_cpu(p.bound, *p.plan, opts);
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
  t["bind_us"] = p.bind_us;
  t["analysis_us"] = p.analysis_us;
  t["specialise_ms"] = p.compiled.analyse_ms;
  t["compile_ms"] = p.compiled.compile_ms;
  t["plan_cache_hit"] = p.plan_hit;
  t["cache_hit"] = p.compiled.cache_hit;
  t["tier"] = jit::to_string(p.compiled.tier);
  t["upgrade_pending"] = p.compiled.upgrade_pending;
  return t;
}

py::dict cpu_run(int nest_id, py::dict env, bool parallel) {
  Prepared p;
  prepare(p, nest_id, env, parallel);
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
    r = jit::run_cpu(*p.compiled.variant, p.bound, &p.plan->write_extents);
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
  Prepared p;
  prepare(p, nest_id, env, parallel, false, Then::Check);
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
  Prepared p;
  prepare(p, nest_id, env, parallel, false, Then::LookUp);
  return !p.decline && p.cached;
}

// Queues an optimised compile of the variant for these values (see
// jit::compile_cpu_in_background); true when one was queued.
bool cpu_compile_background(int nest_id, py::dict env, bool parallel) {
  Prepared p;
  prepare(p, nest_id, env, parallel, false, Then::CompileInBackground);
  return !p.decline && p.cached;
}

py::dict cpu_compile(int nest_id, py::dict env, bool parallel, bool with_ir) {
  Prepared p;
  prepare(p, nest_id, env, parallel, with_ir);
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
      "cpu_stop_compiles",
      [] {
        py::gil_scoped_release release;
        jit::stop_cpu_compiles();
      },
      "Stop background compiles for good (called at interpreter exit).");
  // Before the interpreter exits (and long before C++ static objects go).
  py::module_::import("atexit").attr("register")(m.attr("cpu_stop_compiles"));
  m.def("cpu_tier", [] { return std::string(jit::to_string(default_tier())); });
  m.def(
      "cpu_set_tier",
      [](const std::string& t) {
        if (t == "auto")
          default_tier() = jit::CpuTier::Auto;
        else if (t == "quick")
          default_tier() = jit::CpuTier::Quick;
        else if (t == "optimised")
          default_tier() = jit::CpuTier::Optimised;
        else
          throw py::value_error("tier must be 'auto', 'quick' or 'optimised', not '" + t + "'");
      },
      py::arg("tier"),
      "Compile tier for new variants: 'auto' (quick code for brief runs while optimised code builds in "
      "the background), 'quick' or 'optimised' (only that tier).");
}

bindings::Registrar reg("cpu", &bind);

}  // namespace

std::optional<analysis::CpuMapping> loopscope::bindings::cpu_mapping(int nest_id, py::dict env) {
  // A failure here is the CPU variant's to report when it runs; the cost
  // model then prices the mapping of the verdicts alone. A Ctrl-C is the
  // user's, and goes on.
  try {
    Prepared p;
    prepare(p, nest_id, env, /*parallel=*/true, false, Then::Check);
    if (p.decline) return std::nullopt;
    return analysis::CpuMapping{p.parallel_loop_ids};
  } catch (const py::error_already_set& e) {
    if (e.matches(PyExc_KeyboardInterrupt)) throw;
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
