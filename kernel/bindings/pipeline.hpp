// What happens to a nest: one execution of one registered nest (a *trip*)
// as a list of passes, each computed at most once, when it is first asked
// for, in this order:
//
//   0. entry    the registry entry (analysis::find_nest): the nest and its
//               static analysis, or the front end's decline
//   1. bind     the live values of the env, read once (values.hpp:read_values)
//               -> BoundNest, or a decline (a value of an unsupported kind)
//   2. plan     the dynamic phase (analysis::analyze_dynamic_cached): the
//               dependence graph, the loops' verdicts -> ParallelPlan
//   3. values   what each code generator accepts of the values: the NumPy
//               scalars among the inputs (cpu_values, cuda_values)
//   4. variants what each generator makes of the bound nest: the CPU
//               specialiser's check (jit::check_cpu: the loops it splits over
//               threads, or its decline) and the generated CUDA program
//               (jit::generate_cuda)
//   5. mapping  the loops each device runs in parallel, read from what the
//               generators emit (4); where one declines, the mapping of the
//               plan's verdicts stands in (analysis::map_*_by_verdicts)
//   6. count    the work under that mapping (costmodel::count_nest), counted
//               once per bound instance (the count cache below); the cost
//               model prices it per GPU profile, the CPU compile tier reads
//               it too (prefer_quick)
//
// The rest is the readers': kernel/bindings/analysis.cpp (the plan as a
// dict), costmodel.cpp (price and choose a variant), cpu.cpp (compile and
// run the CPU variant), cuda.cpp (compile and run the CUDA program); each
// turns the passes into its Python result, the outcome of the trip.
//
// The mapping comes after the variants because it is what the generators
// emit: the cost model prices the very loops the variants run. A variant's
// way (cpu_way, cuda_way) meets the declines in the order the user reads
// them: the entry, the values bound, its NumPy scalars, then the plan.
//
// Two things are asked again on purpose: cpu_check's `compiled` (the
// variant cache as it is now) and, with the count cache switched off
// (cost_set_work_cache(False), the tests' reference), the count.
//
// Trips: Python opens one (trip_begin) once it has the values a nest reads
// and closes it (trip_end, in a `finally`) when that execution is over; in
// between, every entry point called with the same nest id and the very same
// env dict reads the trip's pipeline. An entry point called outside any trip
// makes a pipeline of its own for the call (pipeline_for): the same passes,
// computed for that call only. The env must not change during a trip; the
// pipeline keeps it, and so the arrays, alive. Trips nest (a stack per
// thread) and are per thread, like the GIL-holding calls that use them.
//
// Hold the GIL to call anything here, except work() (below).
#pragma once

#include <pybind11/pybind11.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/mapping.hpp"
#include "loopscope/analysis/registry.hpp"
#include "loopscope/costmodel/model.hpp"
#include "loopscope/jit/cpu.hpp"
#include "loopscope/jit/cuda_codegen.hpp"

namespace loopscope::bindings {

class NestPipeline {
 public:
  NestPipeline(int nest_id, pybind11::dict env);
  NestPipeline(const NestPipeline&) = delete;
  NestPipeline& operator=(const NestPipeline&) = delete;

  int nest_id() const { return nest_id_; }
  pybind11::handle env() const { return env_; }

  // 0. entry: null for an unknown id (each reader raises its own error).
  const analysis::NestEntry* entry() const { return entry_; }
  // Whether the front end and the static phase made something to bind.
  bool analysed() const { return entry_ && entry_->nest && entry_->analysis; }

  // 1. bind (only when analysed()): the decline, or none and the binding.
  const std::optional<analysis::Decline>& bind_decline();
  const analysis::BoundNest& binding();

  // 2. plan (after a bind without decline). `reused`: true when it was not
  // analysed for this call (kept by this pipeline or found in the plan
  // cache).
  const std::shared_ptr<const analysis::ParallelPlan>& plan(bool* reused = nullptr);

  // What a reader's call spent in the passes it was the first to ask for.
  struct CallTimes {
    double bind_us = 0, plan_us = 0;
    bool plan_reused = false;
  };

  // 3. values, and the way to the variants. The first decline on the CPU
  // variant's way (a nest not analysed or declined statically, a value, a
  // NumPy scalar it does not take, the plan), or none: then cpu_check and
  // cpu_options may be asked. The same for the generated CUDA.
  std::optional<analysis::Decline> cpu_way(CallTimes* times = nullptr);
  std::optional<analysis::Decline> cuda_way();
  // The CPU variant's options for these values: its NumPy scalars, NumPy's
  // own ufunc loops, the compile tier, and the tier choice (prefer_quick).
  jit::CpuOptions cpu_options(bool parallel, bool keep_ir = false);

  // 4. variants (after cpu_way / cuda_way found no decline).
  // The specialiser's check, kept; its `compiled` is the variant cache's
  // now (it changes during a trip when the run compiles, or when a
  // background compile ends).
  jit::CpuCheck cpu_check(bool parallel);
  // The CUDA program, generated once per trip (the report's source, NVRTC's
  // register count and the run all read the same program).
  std::shared_ptr<const jit::CudaProgram> cuda_program();

  // 5. mapping: what each generator emits, or nullopt where it declines
  // (an engine failure counts as a decline here: the variant reports it
  // when it runs; a Ctrl-C goes on).
  std::optional<analysis::CpuMapping> cpu_mapping();
  std::optional<analysis::GpuMapping> gpu_mapping();
  // Both, with the verdicts' mapping where a generator declined: what the
  // cost model counts.
  const analysis::NestMapping& counted_mapping();

  // 6. count: the work under counted_mapping (with the size sweep's counts
  // when `sweep`), through the count cache. Ask counted_mapping() first,
  // with the GIL; this may then run without it.
  std::shared_ptr<const costmodel::NestWork> work(bool sweep);
  // The CPU compile tier's choice (jit::CpuOptions::prefer_quick): the cost
  // model's estimate of the optimised code's compute time from the trip's
  // count (or, when the cost model made none, a count under the CPU
  // variant's own mapping, without generating CUDA for it: the GPU part of
  // the mapping does not enter the CPU's price), then whether quick code's
  // slower running costs less than waiting for the optimised compile.
  bool prefer_quick(bool parallel);

 private:
  int nest_id_;
  pybind11::dict env_;
  const analysis::NestEntry* entry_;
  bool bound_ = false;
  analysis::BoundNest binding_;
  std::optional<analysis::Decline> bind_decline_;
  std::shared_ptr<const analysis::ParallelPlan> plan_;
  struct CpuValues {
    std::optional<analysis::Decline> decline;
    jit::CpuOptions options;
  };
  std::optional<CpuValues> cpu_values_;
  struct CudaValues {
    std::optional<analysis::Decline> decline;
    jit::CudaOptions options;
  };
  std::optional<CudaValues> cuda_values_;
  std::optional<jit::CpuCheck> cpu_checks_[2];  // [parallel]
  std::shared_ptr<const jit::CudaProgram> cuda_program_;
  std::optional<analysis::NestMapping> counted_mapping_;
  std::shared_ptr<const costmodel::NestWork> work_;

  const CpuValues& cpu_values();
  const CudaValues& cuda_values();
  const jit::CpuCheck& kept_cpu_check(bool parallel);
};

// The pipeline of the innermost open trip on this nest and this very env,
// or one made for the caller (it lives as long as the handle).
class PipelineHandle {
 public:
  explicit PipelineHandle(NestPipeline* trip) : pipeline_(trip) {}
  explicit PipelineHandle(std::unique_ptr<NestPipeline> own) : own_(std::move(own)), pipeline_(own_.get()) {}
  NestPipeline* operator->() const { return pipeline_; }
  NestPipeline& operator*() const { return *pipeline_; }

 private:
  std::unique_ptr<NestPipeline> own_;
  NestPipeline* pipeline_;
};
PipelineHandle pipeline_for(int nest_id, pybind11::dict env);

void trip_begin(int nest_id, pybind11::dict env);
void trip_end();

// How many times the passes really ran since the module was loaded: values
// read (binds), plans asked of the analysis (plans; plans_analysed: of which
// not found in its cache), CUDA programs generated. The tests check that one
// execution binds, plans and generates once; engine_counters() in Python
// adds the work counts of the count cache ("work_counts").
struct EngineCounters {
  std::atomic<long> binds{0};
  std::atomic<long> plans{0};
  std::atomic<long> plans_analysed{0};
  std::atomic<long> cuda_generations{0};
};
EngineCounters& engine_counters();

// The count cache (pass 6): the work of a bound nest does not depend on the
// hardware, so it is counted once per bound instance, keyed by the nest id,
// the plan's address, costmodel::work_key of the values and the mapping's
// signature. An entry watches its plan without keeping it (plans can be
// large): once the analysis cache has let the plan go, the entry is stale
// (and while it is watched, no other plan can take its address). Disabled,
// every estimate counts again (the reference for tests).
struct WorkCountCache {
  struct Entry {
    std::weak_ptr<const analysis::ParallelPlan> plan;
    std::shared_ptr<const costmodel::NestWork> work;
  };
  std::mutex mutex;
  std::map<std::string, Entry> entries;
  bool enabled = true;
  long counts = 0, sweeps = 0, reuses = 0;  // really counted, of which with the sweep; reused
  static constexpr size_t kMaxEntries = 128;
};
WorkCountCache& work_count_cache();

// The CPU compile tier new variants get (LOOPSCOPE_DEBUG's tier=, or
// cpu_set_tier()).
jit::CpuTier& cpu_default_tier();

}  // namespace loopscope::bindings
