// The passes of a nest's trip, in the order pipeline.hpp lists them, then
// the trips themselves and the _loopscope functions that open and close
// them.
#include "pipeline.hpp"

#include <pybind11/stl.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include "loopscope/analysis/exactness.hpp"
#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/work.hpp"
#include "loopscope/debug_settings.hpp"
#include "registry.hpp"
#include "values.hpp"

namespace py = pybind11;

namespace loopscope::bindings {

using analysis::Decline;
using analysis::DeclineCode;

EngineCounters& engine_counters() {
  static EngineCounters c;
  return c;
}

WorkCountCache& work_count_cache() {
  static WorkCountCache c;
  return c;
}

jit::CpuTier& cpu_default_tier() {
  static jit::CpuTier t = [] {
    const std::string& v = debug_settings().tier;
    return v == "quick" ? jit::CpuTier::Quick : v == "optimised" ? jit::CpuTier::Optimised : jit::CpuTier::Auto;
  }();
  return t;
}

namespace {

// ---- helpers of pass 3 (values) -------------------------------------------

// NumPy's scalar types, looked up once (kept for the life of the process).
struct NumpyScalarTypes {
  py::handle generic, ndarray, complex64, float32, uint64, float16;
};
const NumpyScalarTypes& np_scalar_types() {
  static const NumpyScalarTypes t = [] {
    py::module_ np = py::module_::import("numpy");
    auto kept = [&](const char* name) { return py::object(np.attr(name)).release(); };
    return NumpyScalarTypes{kept("generic"), kept("ndarray"), kept("complex64"),
                            kept("float32"), kept("uint64"),  kept("float16")};
  }();
  return t;
}

// The NumPy scalars among the inputs, by name and type (the inputs the env
// has, in the nest's order).
std::vector<std::pair<std::string, py::handle>> numpy_scalar_inputs(const analysis::LoopNest& nest, py::dict env) {
  const NumpyScalarTypes& np = np_scalar_types();
  std::vector<std::pair<std::string, py::handle>> out;
  for (auto& name : nest.inputs) {
    py::str key(name);
    if (!env.contains(key)) continue;
    py::handle v = env[key];
    if (!py::isinstance(v, np.generic) || py::isinstance(v, np.ndarray)) continue;
    out.emplace_back(name, v);
  }
  return out;
}

std::string type_name(py::handle v) { return py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>(); }

// The CPU variant's rule: np.int32 and other narrow integer scalars follow
// NumPy's arithmetic, which the variant models by type (CpuOptions).
std::optional<Decline> cpu_numpy_scalars(const analysis::LoopNest& nest, py::dict env, jit::CpuOptions& opts) {
  const NumpyScalarTypes& np = np_scalar_types();
  for (auto& [name, v] : numpy_scalar_inputs(nest, env)) {
    std::string type = type_name(v);
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

// The generated CUDA's rule: np.float64, np.int64, np.bool_ keep NumPy's
// arithmetic in native code; others decline, by the rule the CPU variant
// applies, or because the generated CUDA does not model them.
std::optional<Decline> cuda_numpy_scalars(const analysis::LoopNest& nest, py::dict env, std::vector<std::string>& out) {
  for (auto& [name, v] : numpy_scalar_inputs(nest, env)) {
    std::string type = type_name(v);
    if (type == "complex128" || type == "complex64")
      return Decline{DeclineCode::UnsupportedValue, nest.first_line,
                     name + " is a complex number; complex numbers run on the CPU only"};
    if (auto d = analysis::numpy_scalar_input(name, type, nest.first_line)) return d;
    if (analysis::small_int_scalar_dtype(type))
      return Decline{DeclineCode::UnsupportedValue, nest.first_line,
                     name + " is an np." + type +
                         " scalar, which the generated CUDA does not take yet (small integer values from arrays "
                         "only; such a scalar runs natively on the CPU)"};
    if (type == "float16")
      return Decline{DeclineCode::UnsupportedValue, nest.first_line,
                     name +
                         " is an np.float16, which the generated CUDA does not model yet (float16 arithmetic "
                         "runs on the CPU)"};
    if (type == "uint64")
      return Decline{DeclineCode::UnsupportedValue, nest.first_line,
                     name +
                         " is an np.uint64, which the generated CUDA does not model yet (unsigned 64-bit "
                         "arithmetic runs on the CPU)"};
    if (type == "float32")
      return Decline{DeclineCode::UnsupportedValue, nest.first_line,
                     name +
                         " is a NumPy float32 scalar, which the generated CUDA does not take (float32 values "
                         "from arrays only)"};
    out.push_back(name);
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

// ---- helper of pass 6 (count) ---------------------------------------------

// The work of `bound` under `plan` and `mapping` (with the size sweep's
// counts when `sweep`), counted at most once per bound instance. Runs
// without the GIL.
std::shared_ptr<const costmodel::NestWork> counted(int nest_id, const analysis::BoundNest& bound,
                                                   const std::shared_ptr<const analysis::ParallelPlan>& plan,
                                                   bool sweep, const analysis::NestMapping& mapping) {
  WorkCountCache& c = work_count_cache();
  std::string key;
  std::shared_ptr<const costmodel::NestWork> have;
  {
    std::lock_guard<std::mutex> g(c.mutex);
    if (!c.enabled) {
      ++c.counts;
      if (sweep) ++c.sweeps;
    } else {
      const analysis::ParallelPlan* p = plan.get();
      key = std::to_string(nest_id) + ':';
      key.append(reinterpret_cast<const char*>(&p), sizeof p);
      key += costmodel::work_key(bound);
      key += mapping.signature();
      auto it = c.entries.find(key);
      if (it != c.entries.end() && it->second.plan.expired()) {
        c.entries.erase(it);
        it = c.entries.end();
      }
      if (it != c.entries.end()) {
        have = it->second.work;
        if (have->swept || !sweep) {
          ++c.reuses;
          return have;
        }
      }
    }
  }
  if (key.empty())
    return std::make_shared<const costmodel::NestWork>(costmodel::count_nest(bound, *plan, sweep, &mapping));
  std::shared_ptr<costmodel::NestWork> work;
  if (have) {  // counted before without the sweep: add it
    work = std::make_shared<costmodel::NestWork>(*have);
    costmodel::add_sweep(*work, bound, *plan);
  } else {
    work = std::make_shared<costmodel::NestWork>(costmodel::count_nest(bound, *plan, sweep, &mapping));
  }
  std::lock_guard<std::mutex> g(c.mutex);
  if (!have) ++c.counts;
  if (sweep) ++c.sweeps;
  if (c.enabled) {
    if (!have && c.entries.size() >= WorkCountCache::kMaxEntries) c.entries.clear();
    c.entries[key] = WorkCountCache::Entry{std::weak_ptr<const analysis::ParallelPlan>(plan), work};
  }
  return work;
}

// Runs `f`; an engine failure becomes nullopt (the variant reports it when it
// runs), a Ctrl-C goes on.
template <class F>
auto or_nullopt(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const py::error_already_set& e) {
    if (e.matches(PyExc_KeyboardInterrupt)) throw;
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

// ---- the passes -------------------------------------------------------------

NestPipeline::NestPipeline(int nest_id, py::dict env)
    : nest_id_(nest_id), env_(std::move(env)), entry_(analysis::find_nest(nest_id)) {}

// 1. bind
const std::optional<Decline>& NestPipeline::bind_decline() {
  if (!bound_) {
    ++engine_counters().binds;
    bind_decline_ = read_values(*entry_->nest, env_, binding_);
    bound_ = true;
  }
  return bind_decline_;
}

const analysis::BoundNest& NestPipeline::binding() {
  bind_decline();
  return binding_;
}

// 2. plan
const std::shared_ptr<const analysis::ParallelPlan>& NestPipeline::plan(bool* reused) {
  if (plan_) {
    if (reused) *reused = true;
    return plan_;
  }
  bool hit = false;
  plan_ = analysis::analyze_dynamic_cached(*entry_->analysis, binding(), &hit);
  ++engine_counters().plans;
  if (!hit) ++engine_counters().plans_analysed;
  if (reused) *reused = hit;
  return plan_;
}

// 3. values
const NestPipeline::CpuValues& NestPipeline::cpu_values() {
  if (!cpu_values_) {
    CpuValues v;
    v.options.ufunc_loops = numpy_ufunc_loops();
    v.decline = cpu_numpy_scalars(*entry_->nest, env_, v.options);
    cpu_values_ = std::move(v);
  }
  return *cpu_values_;
}

const NestPipeline::CudaValues& NestPipeline::cuda_values() {
  if (!cuda_values_) {
    CudaValues v;
    v.decline = cuda_numpy_scalars(*entry_->nest, env_, v.options.numpy_scalars);
    cuda_values_ = std::move(v);
  }
  return *cuda_values_;
}

std::optional<Decline> NestPipeline::cpu_way(CallTimes* times) {
  if (entry_->decline || !analysed())
    return entry_->decline ? *entry_->decline
                           : Decline{DeclineCode::Internal, entry_->line, "the nest was not analysed"};
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  if (bind_decline()) return bind_decline();
  if (cpu_values().decline) return cpu_values().decline;
  auto t1 = clock::now();
  bool reused = false;
  const auto& p = plan(&reused);
  auto t2 = clock::now();
  if (times) {
    times->bind_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    times->plan_us = std::chrono::duration<double, std::micro>(t2 - t1).count();
    times->plan_reused = reused;
  }
  return p->decline;
}

std::optional<Decline> NestPipeline::cuda_way() {
  if (!analysed())
    return entry_->decline ? *entry_->decline
                           : Decline{DeclineCode::Internal, entry_->line, "the nest was not understood"};
  if (bind_decline()) return bind_decline();
  if (cuda_values().decline) return cuda_values().decline;
  return plan()->decline;
}

jit::CpuOptions NestPipeline::cpu_options(bool parallel, bool keep_ir) {
  jit::CpuOptions opts = cpu_values().options;
  opts.parallel = parallel;
  opts.keep_ir = keep_ir;
  opts.tier = cpu_default_tier();
  opts.nest_owner = entry_->nest;
  opts.prefer_quick = [this, parallel] { return prefer_quick(parallel); };
  return opts;
}

// 4. variants
const jit::CpuCheck& NestPipeline::kept_cpu_check(bool parallel) {
  std::optional<jit::CpuCheck>& kept = cpu_checks_[parallel ? 1 : 0];
  if (!kept) kept = jit::check_cpu(binding(), *plan(), cpu_options(parallel));
  return *kept;
}

jit::CpuCheck NestPipeline::cpu_check(bool parallel) {
  const bool fresh = !cpu_checks_[parallel ? 1 : 0];
  jit::CpuCheck check = kept_cpu_check(parallel);
  if (!fresh && !check.decline) check.compiled = jit::check_cpu(binding(), *plan(), cpu_options(parallel)).compiled;
  return check;
}

std::shared_ptr<const jit::CudaProgram> NestPipeline::cuda_program() {
  if (!cuda_program_) {
    ++engine_counters().cuda_generations;
    cuda_program_ =
        std::make_shared<const jit::CudaProgram>(jit::generate_cuda(binding(), *plan(), cuda_values().options));
  }
  return cuda_program_;
}

// 5. mapping
std::optional<analysis::CpuMapping> NestPipeline::cpu_mapping() {
  return or_nullopt([&]() -> std::optional<analysis::CpuMapping> {
    if (cpu_way()) return std::nullopt;
    const jit::CpuCheck& check = kept_cpu_check(true);
    if (check.decline) return std::nullopt;
    return analysis::CpuMapping{check.parallel_loop_ids};
  });
}

std::optional<analysis::GpuMapping> NestPipeline::gpu_mapping() {
  return or_nullopt([&]() -> std::optional<analysis::GpuMapping> {
    if (cuda_way()) return std::nullopt;
    auto program = cuda_program();
    if (program->decline) return std::nullopt;
    return program->mapping;
  });
}

const analysis::NestMapping& NestPipeline::counted_mapping() {
  if (!counted_mapping_) {
    auto cpu = cpu_mapping();
    auto gpu = gpu_mapping();
    const analysis::ParallelPlan& p = *plan();
    counted_mapping_ = analysis::NestMapping{cpu ? *cpu : analysis::map_cpu_by_verdicts(binding_, p),
                                             gpu ? *gpu : analysis::map_gpu_by_verdicts(binding_, p)};
  }
  return *counted_mapping_;
}

// 6. count
std::shared_ptr<const costmodel::NestWork> NestPipeline::work(bool sweep) {
  work_ = counted(nest_id_, binding_, plan_, sweep, *counted_mapping_);
  return work_;
}

bool NestPipeline::prefer_quick(bool parallel) {
  // Host figures: the calibrated profile when a calibration is cached
  // (reading it is cheap), else the detected one with typical figures
  // (calibrating here would add most of a second to a first call). Asked
  // only on a variant-cache miss.
  static const costmodel::HostProfile host = [] {
    FILE* f = std::fopen(costmodel::host_cache_path().c_str(), "r");
    if (!f) return costmodel::detect_host();
    std::fclose(f);
    return costmodel::host_profile(false);
  }();
  std::shared_ptr<const costmodel::NestWork> counted_work = work_;
  if (!counted_work) {
    auto cpu = cpu_mapping();
    const analysis::ParallelPlan& p = *plan();
    analysis::NestMapping mapping{cpu ? *cpu : analysis::map_cpu_by_verdicts(binding_, p),
                                  analysis::map_gpu_by_verdicts(binding_, p)};
    counted_work = counted(nest_id_, binding_, plan_, false, mapping);
  }
  const costmodel::WorkProfile& w = counted_work->work;
  // Work that cannot be counted (bounds read from arrays) may be long: the O3
  // compile is a bounded cost, slower code on a long loop is not.
  if (!w.ok()) return false;
  double compute = costmodel::cpu_compute_seconds(w, host, parallel, parallel ? jit::cpu_thread_count() : 1);
  return costmodel::cpu_tier_choice(w, host, compute).quick;
}

// ---- the trips --------------------------------------------------------------

namespace {

std::vector<std::unique_ptr<NestPipeline>>& trips() {
  thread_local std::vector<std::unique_ptr<NestPipeline>> stack;
  return stack;
}

}  // namespace

PipelineHandle pipeline_for(int nest_id, py::dict env) {
  auto& stack = trips();
  for (auto it = stack.rbegin(); it != stack.rend(); ++it)
    if ((*it)->nest_id() == nest_id && (*it)->env().ptr() == env.ptr()) return PipelineHandle(it->get());
  return PipelineHandle(std::make_unique<NestPipeline>(nest_id, std::move(env)));
}

void trip_begin(int nest_id, py::dict env) {
  trips().push_back(std::make_unique<NestPipeline>(nest_id, std::move(env)));
}

void trip_end() {
  auto& stack = trips();
  if (!stack.empty()) stack.pop_back();
}

namespace {

void bind(py::module_& m) {
  m.def("trip_begin", &trip_begin, py::arg("nest_id"), py::arg("env"),
        "Opens a trip: one execution of the nest, whose entry points share one pipeline (one reading of `env`, "
        "one plan, one count, one CUDA program).");
  m.def("trip_end", &trip_end, "Closes the innermost trip.");
  m.def(
      "engine_counters",
      [] {
        EngineCounters& c = engine_counters();
        py::dict d;
        d["binds"] = c.binds.load();
        d["plans"] = c.plans.load();
        d["plans_analysed"] = c.plans_analysed.load();
        d["cuda_generations"] = c.cuda_generations.load();
        WorkCountCache& w = work_count_cache();
        std::lock_guard<std::mutex> g(w.mutex);
        d["work_counts"] = w.counts;
        return d;
      },
      "How many times since the module was loaded values were read (binds), plans asked of the analysis (plans; "
      "plans_analysed: not found in its cache), work counted (work_counts) and CUDA generated.");
}

Registrar reg("trip", &bind);

}  // namespace

}  // namespace loopscope::bindings
