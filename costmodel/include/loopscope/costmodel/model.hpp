// The analytical model: prices each variant of a nest (Python interpreter,
// CPU serial, CPU parallel, GPU on a chosen profile), picks the cheapest
// available one and says why in one sentence. Every formula is documented
// with a worked example in docs/costmodel.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/work.hpp"

namespace loopscope::costmodel {

enum class Variant { Python, CpuSerial, CpuParallel, Gpu };
const char* to_string(Variant v);  // "python", "cpu-serial", "cpu", "gpu"

// Facts the code generators and the session can supply. Unknown values keep
// their defaults, which are typical figures.
struct VariantFacts {
  bool cpu_available = true;     // the CPU code generator accepted the nest
  std::string cpu_decline;       // its reason when not
  std::string cpu_decline_code;  // and its code (analysis::to_string(DeclineCode)); "" when unknown
  // Whether the CPU variant has run-time checks, so that a run first saves
  // what it can write (WorkProfile::snapshot_bytes). Until it is compiled the
  // model assumes it does (most nests with a division, an unproved subscript
  // or an integer that may overflow do).
  bool cpu_needs_snapshot = true;
  bool cpu_runs_parallel = true;  // the CPU code generator's own choice (jit::check_cpu) runs a loop
                                  // in parallel: without one, "cpu" would run serially
  bool gpu_available = false;     // a CUDA driver and device are present
  bool gpu_codegen_ok = true;     // the CUDA generator accepted the nest
  std::string gpu_decline;
  std::string gpu_decline_code;
  int gpu_registers_per_thread = 32;  // from NVRTC (CUBIN attributes)
  int gpu_shared_bytes_per_block = 0;
  int gpu_block_size = 256;
  double cpu_compile_s = -1;         // LLVM ORC for this nest; negative: estimated with
                                     // cpu_tier_choice (below)
  double gpu_compile_s = 0.045;      // NVRTC + module load
  bool cpu_compiled = false;         // already in the variant cache: no compile cost
  bool cpu_serial_compiled = false;  // the serial variant's code alone is (cpu_compiled: both are)
  bool gpu_compiled = false;
  double expected_runs = 1;  // compile time is divided by this
  // The interpreter's time measured on these values (auto's last Python run
  // of the nest); negative: none. It replaces the counted estimate, which
  // can be far off where counting guesses (a while loop's passes).
  double python_measured_s = -1;
  // Random numbers drawn before a native run (WorkProfile::draws): the
  // price of one number, the mean over the nest's draw sites of the host's
  // figure for its generator (loopscope._cost.draw_facts), and what the
  // generators' draws cost once per run. Negative: the host's NumPy figures.
  double draw_ns = -1;
  double draw_setup_us = -1;
  int threads = 0;        // CPU worker threads; 0 = host cores
  double cores_free = 0;  // cores not busy with other work (from the load
                          // average); 0 = all of them. Caps the speedup.
  // The pool's workers are still spinning after a parallel loop that ended
  // moments ago (jit::cpu_workers_awake): the run's first region costs a
  // warm fork/join (fork_join_us), not a wake-up (fork_join_cold_us).
  bool workers_awake = false;
  // Per array of the nest, the share of its pages the process has not yet
  // touched (a fresh np.empty or np.zeros of more than the allocator's
  // mmap threshold, 128 KiB): the run that writes them pays a page fault
  // and the zeroing of each (HostProfile::first_touch_gbs). Arrays not
  // named: in memory. Filled by the engine (resident_fraction).
  std::map<std::string, double> fresh_fraction;
};

// One variant's price, in seconds.
struct VariantCost {
  Variant variant = Variant::Python;
  // Why this variant cannot run here (the analysis or its code generator
  // declined, nothing runs in parallel, no GPU on this machine): the
  // engine's one decline type. Empty when it can run.
  std::optional<analysis::Decline> unavailable;
  bool available() const { return !unavailable; }
  const std::string& unavailable_reason() const {
    static const std::string none;
    return unavailable ? unavailable->reason : none;
  }
  double scheduling = 0;  // launches, fork/join, waves/starvation overheads
  double transfer = 0;    // copies: host<->device (GPU); the safety snapshot before a run with checks (CPU)
  double compute = 0;     // roofline time of the work itself
  double compile = 0;     // JIT compile time amortised over expected runs
  double draws = 0;       // random numbers drawn before a native run (Python draws in its loop)
  double total() const { return scheduling + transfer + compute + compile + draws; }
  std::string bound_by;    // "compute", "memory", "latency", "interpreter"
  nlohmann::json details;  // formula inputs and intermediate values
};

// GPU scheduling quantities (exposed for tests and the report).
struct Occupancy {
  int blocks_per_sm = 0;
  int limit_threads = 0, limit_blocks = 0, limit_registers = 0, limit_shared = 0;
  std::string limited_by;  // "threads", "blocks", "registers", "shared memory"
  double occupancy = 0;    // active warps / max warps per SM
  int active_warps_per_sm = 0;
};
Occupancy gpu_occupancy(const GpuProfile& gpu, int block_size, int registers_per_thread, int shared_bytes_per_block);
// Number of waves of `blocks` thread blocks on the whole device.
double gpu_waves(const GpuProfile& gpu, double blocks, const Occupancy& occ);
// Seconds to copy `bytes` in `copies` separate transfers over the host link.
double gpu_transfer_seconds(const GpuProfile& gpu, double bytes, int copies);
// Roofline: the larger of work / throughput and bytes / bandwidth.
double roofline_seconds(double flops, double flops_per_s, double bytes, double bytes_per_s);

struct SizePoint {
  double size = 0;                                               // value of the dominant size parameter
  double python = 0, cpu_serial = 0, cpu_parallel = 0, gpu = 0;  // seconds (total)
};

struct CostEstimate {
  WorkProfile work;
  std::vector<VariantCost> variants;  // python, cpu-serial, cpu, gpu (always all four)
  Variant choice = Variant::Python;
  std::string reason;                   // one sentence a student can read
  std::string gpu_profile;              // profile name the GPU variant was priced on
  std::vector<SizePoint> sweep;         // predicted time against problem size
  std::optional<double> gpu_crossover;  // size where the GPU overtakes the best CPU variant
  const VariantCost& cost(Variant v) const;
};

// Prices a counted nest. Does not sweep sizes.
CostEstimate price(const WorkProfile& work, const HostProfile& host, const GpuProfile& gpu, const VariantFacts& facts);

// Expected compute time (no scheduling, no compile) of the optimised CPU
// code for a counted nest; a nest without a parallel loop prices serial.
double cpu_compute_seconds(const WorkProfile& work, const HostProfile& host, bool parallel, int threads);

// The CPU code generator's compile tiers for a nest whose optimised code
// computes for `compute_s`: quick code costs quick_compile_s (1.5 ms + 0.5 ms
// a loop + 0.2 ms a subscript dimension) plus quick_extra_s of slower running
// (twice the compute time outside libm calls); optimised code costs
// optimised_compile_s (10 ms + 5 ms a loop + 1 ms a dimension). `quick` when
// the extra running costs less than waiting for the optimised code.
struct CpuTierChoice {
  bool quick = true;
  double quick_compile_s = 0, quick_extra_s = 0, optimised_compile_s = 0;
};
CpuTierChoice cpu_tier_choice(const WorkProfile& work, const HostProfile& host, double compute_s);

// The scale factors of the size sweep (1/16 .. 16 of the bound sizes).
extern const double kSweepScales[9];

// The work of one bound nest under its plan, counted once: it depends on the
// bound values and the plan, never on the hardware, so one count can be
// priced on every GPU profile (and with any facts). `scaled` holds the counts
// of the size sweep, one per kSweepScales entry (the entry for scale 1 is
// `work` itself), or nothing when the count was made without the sweep.
struct NestWork {
  WorkProfile work;
  bool swept = false;
  std::vector<WorkProfile> scaled;
  std::string no_parallel_reason;  // why no loop can run in parallel, or ""
  analysis::NestMapping mapping;   // the mapping counted (the sweep counts it again)
};
// `mapping`: what the code generators emit (jit::CpuCheck::parallel_loop_ids,
// CudaProgram::mapping); analysis::map_by_verdicts when none is given.
NestWork count_nest(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan, bool sweep,
                    const analysis::NestMapping* mapping = nullptr);
// Adds the size sweep's counts to a count made without it.
void add_sweep(NestWork& counted, const analysis::BoundNest& bound, const analysis::ParallelPlan& plan);

// Prices a counted nest on one host and GPU profile: the same estimate as
// estimate() for the bound nest and plan it was counted from. `decline` is
// the plan's decline (or the subscript check's): only the interpreter may run
// the nest then. The sweep needs a count made with it (ignored otherwise).
CostEstimate price_nest(const NestWork& counted, const std::optional<analysis::Decline>& decline,
                        const HostProfile& host, const GpuProfile& gpu, const VariantFacts& facts, bool sweep = true);

// Counts and prices a bound nest, then sweeps the problem size (scale factors
// 1/16 .. 16 of the bound sizes) to find where the GPU overtakes the CPU.
// Same as price_nest(count_nest(bound, plan, sweep), plan.decline, ...).
CostEstimate estimate(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan, const HostProfile& host,
                      const GpuProfile& gpu, const VariantFacts& facts, bool sweep = true,
                      const analysis::NestMapping* mapping = nullptr);

// Structured estimate for the report and its Vega-Lite charts:
// {choice, reason, gpu_profile, variants:[{variant, available, total, scheduling,
//  transfer, compute, compile, bound_by, details}], work:{...}, sweep:[...],
//  gpu_crossover}.
nlohmann::json to_json(const CostEstimate& e);

// "1.2 ms", "340 us", "24 KB": the units used in reasons.
std::string format_seconds(double s);
std::string format_bytes(double b);

}  // namespace loopscope::costmodel
