// Pricing of the four variants and the decision. Formulas: docs/costmodel.md.
#include "loopscope/costmodel/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace loopscope::costmodel {

using namespace loopscope::analysis;

const char* to_string(Variant v) {
  switch (v) {
    case Variant::Python: return "python";
    case Variant::CpuSerial: return "cpu-serial";
    case Variant::CpuParallel: return "cpu";
    case Variant::Gpu: return "gpu";
  }
  return "?";
}

std::string format_seconds(double s) {
  char buf[64];
  if (!std::isfinite(s)) return "forever";
  // The same units and digits as the report's tables (_report.fmt_seconds),
  // so a sentence's numbers are the ones in the cost breakdown.
  if (s >= 1)
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  else if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.2f ms", s * 1e3);
  else if (s >= 1e-6)
    std::snprintf(buf, sizeof buf, "%.1f \u00b5s", s * 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f ns", s * 1e9);
  return buf;
}

std::string format_bytes(double b) {
  char buf[64];
  if (b >= 1e9)
    std::snprintf(buf, sizeof buf, "%.3g GB", b / 1e9);
  else if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3g MB", b / 1e6);
  else if (b >= 1e3)
    std::snprintf(buf, sizeof buf, "%.3g KB", b / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

const VariantCost& CostEstimate::cost(Variant v) const {
  for (auto& c : variants)
    if (c.variant == v) return c;
  static VariantCost none;
  return none;
}

// ------------------------------------------------------------ formulas ----

Occupancy gpu_occupancy(const GpuProfile& g, int block, int regs, int shared) {
  Occupancy o;
  block = std::max(1, std::min(block, g.max_threads_per_block));
  const int warps_per_block = (block + g.warp_size - 1) / g.warp_size;
  const int max_warps = g.max_threads_per_sm / g.warp_size;
  o.limit_threads = max_warps / warps_per_block;
  o.limit_blocks = g.max_blocks_per_sm;
  regs = std::max(1, std::min(regs, g.max_registers_per_thread));
  // Registers are allocated per warp, rounded up to the allocation unit.
  const int unit = std::max(1, g.register_alloc_unit);
  const int regs_per_warp = ((regs * g.warp_size + unit - 1) / unit) * unit;
  o.limit_registers = g.registers_per_sm / (regs_per_warp * warps_per_block);
  o.limit_shared =
      shared > 0 && g.shared_memory_per_sm > 0 ? g.shared_memory_per_sm / shared : std::numeric_limits<int>::max();
  o.blocks_per_sm = std::min({o.limit_threads, o.limit_blocks, o.limit_registers, o.limit_shared});
  if (o.blocks_per_sm == o.limit_registers && o.limit_registers < o.limit_threads)
    o.limited_by = "registers";
  else if (o.blocks_per_sm == o.limit_shared && o.limit_shared < o.limit_threads)
    o.limited_by = "shared memory";
  else if (o.blocks_per_sm == o.limit_blocks && o.limit_blocks < o.limit_threads)
    o.limited_by = "blocks";
  else
    o.limited_by = "threads";
  o.blocks_per_sm = std::max(0, o.blocks_per_sm);
  o.active_warps_per_sm = o.blocks_per_sm * warps_per_block;
  o.occupancy = max_warps > 0 ? (double)o.active_warps_per_sm / max_warps : 0;
  return o;
}

double gpu_waves(const GpuProfile& g, double blocks, const Occupancy& occ) {
  double slots = (double)g.sms * std::max(1, occ.blocks_per_sm);
  return blocks <= 0 ? 0 : std::ceil(blocks / slots);
}

double gpu_transfer_seconds(const GpuProfile& g, double bytes, int copies) {
  if (copies <= 0 || bytes <= 0) return 0;
  return copies * g.host_link_latency_us * 1e-6 + bytes / (g.host_link_bandwidth_gbs * 1e9);
}

double roofline_seconds(double flops, double flops_per_s, double bytes, double bytes_per_s) {
  double a = flops_per_s > 0 ? flops / flops_per_s : 0;
  double b = bytes_per_s > 0 ? bytes / bytes_per_s : 0;
  return std::max(a, b);
}

namespace {

// Seconds of scalar native arithmetic for `o` on one core.
double cpu_op_seconds(const OpCounts& o, const HostProfile& h) {
  double ns = (o.add + o.mul + o.compare) * h.add_ns + (o.div + o.sqrt) * h.div_ns + o.exp * h.exp_ns +
              o.pow * 2.5 * h.exp_ns + o.intop * 0.5 * h.add_ns + (o.load + o.store) * 0.5 * h.add_ns +
              o.call * h.add_ns + (o.idiv - o.idiv_const) * h.idiv_ns + o.idiv_const * h.idiv_const_ns +
              o.fmod * h.fmod_ns + o.fmod_bits * h.fmod_bit_ns + o.branch_miss * h.branch_miss_ns;
  return ns * 1e-9;
}

struct CpuWork {
  double ops_s = 0;    // arithmetic, one core
  double chain_s = 0;  // latency of accumulation chains
  double mem_bytes_cache = 0, mem_bytes_l3 = 0, mem_bytes_dram = 0;
};

CpuWork cpu_work(const WorkProfile& w, const HostProfile& h) {
  CpuWork c;
  const double lanes = std::max(1.0, h.simd_bits / (w.fp32 ? 32.0 : 64.0));
  OpCounts scalar = w.ops;
  // Operations in vectorisable loops run `lanes` at a time.
  OpCounts vec = w.ops_vector;
  scalar.add -= vec.add;
  scalar.mul -= vec.mul;
  scalar.div -= vec.div;
  scalar.sqrt -= vec.sqrt;
  scalar.compare -= vec.compare;
  scalar.load -= vec.load;
  scalar.store -= vec.store;
  scalar.intop -= vec.intop;
  OpCounts vpart;
  vpart.add = vec.add;
  vpart.mul = vec.mul;
  vpart.div = vec.div;
  vpart.sqrt = vec.sqrt;
  vpart.compare = vec.compare;
  vpart.load = vec.load;
  vpart.store = vec.store;
  vpart.intop = vec.intop;
  c.ops_s =
      cpu_op_seconds(scalar, h) + cpu_op_seconds(vpart, h) / lanes + w.innermost_iterations * h.loop_iter_ns * 1e-9;
  // Latency-bound work: accumulation chains and recurrences through memory.
  const OpCounts& r = w.ops_recurrence;
  c.chain_s = (w.chain_ops * h.add_latency_ns + (r.add + r.mul + r.compare) * h.add_latency_ns +
               (r.div + r.sqrt) * h.div_latency_ns + (r.exp + 2.5 * r.pow) * h.exp_ns + r.store * h.store_forward_ns +
               (r.idiv - r.idiv_const) * h.idiv_latency_ns + r.idiv_const * h.idiv_const_latency_ns) *
              1e-9;
  // Entering and leaving loops.
  double entries = 0;
  for (auto& l : w.loops) entries += l.entries;
  c.ops_s += entries * h.loop_entry_ns * 1e-9;
  // An array within half of L2 is served by the cache. A larger one crosses
  // the bus beyond L2 once per pass (read once, written back once) when it
  // is small enough (8 x L2) for its reuse across neighbouring rows and
  // iterations to stay in L2, the rest of its traffic coming from there;
  // beyond that every access goes past L2. What goes past L2 comes from L3
  // when all the nest's arrays fit in half of it (a nest run again on the
  // same arrays, as a notebook does, finds them there: a 500 x 500 transpose
  // measured at the L3's bandwidth, a third of the time priced from memory),
  // else from memory.
  const double cache_limit = (double)h.l2_bytes / 2;
  const double reuse_limit = 8.0 * (double)h.l2_bytes;
  double working_set = 0;
  for (auto& a : w.arrays) working_set += a.nbytes;
  double& beyond_l2 = working_set <= (double)h.l3_bytes / 2 ? c.mem_bytes_l3 : c.mem_bytes_dram;
  for (auto& a : w.arrays) {
    if (a.nbytes <= cache_limit) {
      c.mem_bytes_cache += a.cpu_traffic_bytes;
    } else if (a.footprint_bytes <= reuse_limit) {
      double passes = (a.read ? 1.0 : 0.0) + (a.written ? 1.0 : 0.0);
      double once = std::min(a.cpu_traffic_bytes, a.footprint_bytes * passes);
      beyond_l2 += once;
      c.mem_bytes_cache += a.cpu_traffic_bytes - once;
    } else {
      beyond_l2 += a.cpu_traffic_bytes;
    }
  }
  return c;
}

// A NumPy operation on one element of a slice (a load, a store or an
// arithmetic operation), in the interpreter's price of a lowered slice.
constexpr double kNumpyElementNs = 1.0;

// Pages of the arrays the nest writes that the process has not touched yet
// (VariantFacts::fresh_fraction): every variant's run pays their faults and
// zeroing. A function that fills a fresh np.empty_like of a few MB each
// call pays them each call (center_columns, rotate_90, transpose at MEDIUM:
// one-core runs 1.5 to 3 times their priced time).
double first_touch_bytes(const WorkProfile& w, const VariantFacts& f) {
  double bytes = 0;
  for (auto& a : w.arrays) {
    auto it = f.fresh_fraction.find(a.name);
    if (a.written && it != f.fresh_fraction.end()) bytes += it->second * std::min(a.nbytes, a.footprint_bytes);
  }
  return bytes;
}

// ... at the calibrated rate, on `threads` threads (each faults its own
// chunk's pages).
double first_touch_seconds(const WorkProfile& w, const HostProfile& h, const VariantFacts& f, double threads = 1) {
  return first_touch_bytes(w, f) / (std::max(0.1, h.first_touch_gbs) * 1e9 * std::max(1.0, threads));
}

VariantCost price_python(const WorkProfile& w, const HostProfile& h, const VariantFacts& f) {
  VariantCost v;
  v.variant = Variant::Python;
  double iters = 0, entries = 0;
  // A slice runs in NumPy: one call per entry of its outermost loop, about
  // a nanosecond an element operation (kNumpyElementNs), not interpreted
  // iterations.
  const double numpy_calls = w.numpy_slices;
  for (auto& l : w.loops) {
    if (numpy_loop_var(l.var)) continue;
    iters += l.iterations;
    entries += l.entries;
  }
  OpCounts o = w.ops;
  o += w.ops_numpy.scaled(-1);
  const OpCounts& n = w.ops_numpy;
  const double numpy_elements =
      n.add + n.mul + n.div + n.pow + n.sqrt + n.exp + n.call + n.intop + n.idiv + n.compare + n.load + n.store;
  double binops = o.add + o.mul + o.div + o.pow;
  double calls = o.sqrt + o.exp + o.call;
  // Arithmetic on Python floats is cheaper than on the NumPy scalars array
  // reads give; a NumPy scalar of a narrow dtype mixed with another type,
  // and a NumPy function on a number, cost far more (docs/costmodel.md, 3).
  const double py_float = std::min(o.py_float, binops);
  const double np_calls = std::min(o.np_call, calls);
  double ns = h.py_nest_ns + iters * h.py_iter_ns + entries * h.py_call_ns + (binops - py_float) * h.py_binop_ns +
              py_float * h.py_float_binop_ns + o.py_mixed * h.py_mixed_ns + (o.intop + o.idiv) * h.py_intop_ns +
              (calls - np_calls) * h.py_call_ns + o.np_call * h.py_np_call_ns + o.load * h.py_load_ns +
              o.store * h.py_store_ns + o.index_dims * h.py_index_dim_ns + o.assign * h.py_assign_ns +
              o.compare * h.py_compare_ns + numpy_calls * h.py_np_call_ns + numpy_elements * kNumpyElementNs;
  v.compute = ns * 1e-9;
  v.bound_by = "interpreter";
  // The engine's hook runs before the loop whatever the variant: binding
  // the values, recording the run (native_call_us holds the same work).
  // Priced on one side only, a short nest looked cheaper in Python by it.
  v.scheduling = h.py_dispatch_us * 1e-6;
  v.transfer = first_touch_seconds(w, h, f);
  v.details = {{"first_touch_bytes", first_touch_bytes(w, f)},
               {"py_dispatch_us", h.py_dispatch_us},
               {"loop_iterations", iters},
               {"loop_entries", entries},
               {"binops", binops},
               {"intops", o.intop + o.idiv},
               {"index_dims", o.index_dims},
               {"calls", calls},
               {"loads", o.load},
               {"stores", o.store},
               {"assigns", o.assign},
               {"compares", o.compare},
               {"python_float_ops", py_float},
               {"mixed_numpy_ops", o.py_mixed},
               {"numpy_calls", o.np_call + numpy_calls},
               {"py_iter_ns", h.py_iter_ns},
               {"py_binop_ns", h.py_binop_ns},
               {"py_load_ns", h.py_load_ns},
               {"py_store_ns", h.py_store_ns},
               {"py_call_ns", h.py_call_ns}};
  return v;
}

// Random numbers drawn before a native run (the Python variant draws them in
// its loop, priced there as the calls they are).
double draws_seconds(const WorkProfile& w, const HostProfile& h, const VariantFacts& f) {
  if (w.draws <= 0) return 0;
  const double per = f.draw_ns >= 0 ? f.draw_ns : h.draw_np_ns;
  const double setup = f.draw_setup_us >= 0 ? f.draw_setup_us : h.draw_setup_us;
  return w.draws * per * 1e-9 + setup * 1e-6;
}

// Calling compiled code from Python: binding the values, the plan and
// variant caches, the call itself.
double call_seconds(const WorkProfile& w, const HostProfile& h) {
  return (h.native_call_us + w.inputs * h.native_input_us + w.reference_dims * h.native_ref_us +
          (double)w.loops.size() * h.native_loop_us) *
         1e-6;
}

// A CPU run with checks first copies the bytes the nest can write (read and
// written once; jit's run_cpu copies large extents on the thread pool).
// The lists and tuples a nest reads, copied into NumPy snapshots before
// every native run, on any device (loopscope/_lists.py).
double list_snapshot_seconds(const WorkProfile& w, const HostProfile& h) {
  return w.list_items * h.list_item_ns * 1e-9;
}

double snapshot_seconds(const WorkProfile& w, const HostProfile& h, const VariantFacts& f) {
  if (!f.cpu_needs_snapshot || w.snapshot_bytes <= 0) return list_snapshot_seconds(w, h);
  // Copied on the thread pool from 4 MiB (rt::parallel_copy), else by the
  // calling thread; the saved bytes and their copy stay in L3 between runs
  // while both fit in half of it.
  const bool on_pool = w.snapshot_bytes >= (4 << 20);
  const bool in_l3 = 2 * w.snapshot_bytes <= (double)h.l3_bytes / 2;
  const double bandwidth = w.snapshot_bytes <= (1 << 20) ? h.cache_bandwidth_gbs
                           : in_l3                       ? (on_pool ? h.l3_bandwidth_all_gbs : h.l3_bandwidth_gbs)
                                                         : (on_pool ? h.dram_bandwidth_all_gbs : h.dram_bandwidth_gbs);
  return 2 * w.snapshot_bytes / (bandwidth * 1e9) + list_snapshot_seconds(w, h);
}

// The CPU code generator compiles in two tiers (jit/cpu.hpp, docs/cpu.md):
// quick code (a few ms to compile, several times slower to run except in
// libm calls, which are the same calls in both tiers) while O3 code builds
// in the background, or O3 code at once. Quick code is worth it when its
// extra run time is below what waiting for O3 would add.
// Quick code runs kQuickSlowdown times slower than O3 on scalar loops and
// more on loops O3 vectorises (quick code never vectorises), the more the
// wider O3's vectors: kQuickSlowdown * (1 + v * lanes / 4), v the
// vectorisable share of the arithmetic (18x for a loop of doubles, all
// vectorisable, on AVX-512; 12x on AVX2).
// Measured on cpu-serial, AVX-512, best of 5, one sitting: PolyBench's 30
// kernels at SMALL 1.4x to 29x (median 7.4x), at MEDIUM 1.3x to 52x
// (median 8.1x); the twelve benchmarks 1.1x (libm-bound) to 15x (median
// 4.8x). Nests the model counts as scalar: median 6.3x (geometric mean
// 5.8x); as all vectorisable: median 13x, 8x to 29x at SMALL, 13x to 52x at
// MEDIUM (jacobi-2d 18x, fdtd-2d 21x, gemm 52x), 2.8x for saxpy (memory
// bound). Measured over predicted: median 0.97 over the 72 nests.
constexpr double kQuickSlowdown = 6.0;

// The share of the arithmetic, at one element an operation, in the loops
// the CPU code vectorises (WorkProfile::ops_vector).
double vectorisable_share(const WorkProfile& w, const HostProfile& h) {
  OpCounts v;
  v.add = w.ops_vector.add;
  v.mul = w.ops_vector.mul;
  v.div = w.ops_vector.div;
  v.sqrt = w.ops_vector.sqrt;
  v.compare = w.ops_vector.compare;
  v.load = w.ops_vector.load;
  v.store = w.ops_vector.store;
  v.intop = w.ops_vector.intop;
  const double all = cpu_op_seconds(w.ops, h);
  return all > 0 ? std::clamp(cpu_op_seconds(v, h) / all, 0.0, 1.0) : 0.0;
}

}  // namespace

CpuTierChoice cpu_tier_choice(const WorkProfile& w, const HostProfile& h, double compute_s) {
  CpuTierChoice t;
  const double loops = (double)w.loops.size();
  t.quick_compile_s = 0.0015 + 0.0005 * loops + 0.0002 * w.reference_dims;
  t.optimised_compile_s = 0.010 + 0.005 * loops + 0.001 * w.reference_dims;
  CpuWork c = cpu_work(w, h);
  const OpCounts& o = w.ops;
  double libm_s = ((o.exp + 2.5 * o.pow) * h.exp_ns + o.fmod * h.fmod_ns + o.fmod_bits * h.fmod_bit_ns) * 1e-9;
  double arith_s = std::max(c.ops_s, c.chain_s);
  double libm_share = arith_s > 0 ? std::min(1.0, libm_s / arith_s) : 0.0;
  const double lanes = std::max(1.0, h.simd_bits / (w.fp32 ? 32.0 : 64.0));
  const double slowdown = kQuickSlowdown * (1 + vectorisable_share(w, h) * lanes / 4);
  t.quick_extra_s = (slowdown - 1) * std::max(0.0, compute_s) * (1 - libm_share);
  t.quick = t.quick_extra_s <= t.optimised_compile_s - t.quick_compile_s;
  return t;
}

namespace {

double cpu_compile_seconds(const WorkProfile& w, const HostProfile& h, const VariantFacts& f, double run_s) {
  if (f.cpu_compile_s >= 0) return f.cpu_compile_s;
  CpuTierChoice t = cpu_tier_choice(w, h, run_s);
  return t.quick ? t.quick_compile_s + t.quick_extra_s : t.optimised_compile_s;
}

double amortised(double compile_s, bool compiled, double runs) {
  return compiled ? 0.0 : compile_s / std::max(1.0, runs);
}

// Why a variant is unavailable, for the reasons every variant shares.
DeclineCode code_or(const std::string& name, DeclineCode otherwise) {
  return decline_code_from_string(name).value_or(otherwise);
}

Decline cpu_declined(const VariantFacts& f) {
  return Decline{code_or(f.cpu_decline_code, DeclineCode::UnsupportedOperation), 0,
                 f.cpu_decline.empty() ? "the CPU code generator declined this nest" : f.cpu_decline};
}

VariantCost price_cpu_serial(const WorkProfile& w, const HostProfile& h, const VariantFacts& f) {
  VariantCost v;
  v.variant = Variant::CpuSerial;
  if (!w.ok())
    v.unavailable = w.uncounted;
  else if (!f.cpu_available)
    v.unavailable = cpu_declined(f);
  CpuWork c = cpu_work(w, h);
  double mem_s = c.mem_bytes_cache / (h.cache_bandwidth_gbs * 1e9) + c.mem_bytes_l3 / (h.l3_bandwidth_gbs * 1e9) +
                 c.mem_bytes_dram / (h.dram_bandwidth_gbs * 1e9);
  double arith = std::max(c.ops_s, c.chain_s);
  v.compute = std::max(arith, mem_s);
  v.bound_by = mem_s > arith ? "memory" : (c.chain_s > c.ops_s ? "latency" : "compute");
  v.scheduling = call_seconds(w, h);
  v.transfer = snapshot_seconds(w, h, f) + first_touch_seconds(w, h, f);
  v.draws = draws_seconds(w, h, f);
  v.compile =
      amortised(cpu_compile_seconds(w, h, f, v.compute), f.cpu_compiled || f.cpu_serial_compiled, f.expected_runs);
  v.details = {{"snapshot_bytes", f.cpu_needs_snapshot ? w.snapshot_bytes : 0.0},
               {"first_touch_bytes", first_touch_bytes(w, f)},
               {"list_items", w.list_items},
               {"arith_s", c.ops_s},
               {"chain_s", c.chain_s},
               {"draws", w.draws},
               {"branch_misses", w.ops.branch_miss},
               {"integer_divides", w.ops.idiv},
               {"memory_s", mem_s},
               {"bytes_cache", c.mem_bytes_cache},
               {"bytes_l3", c.mem_bytes_l3},
               {"bytes_dram", c.mem_bytes_dram},
               {"vector_lanes", h.simd_bits / (w.fp32 ? 32 : 64)}};
  return v;
}

VariantCost price_cpu_parallel(const WorkProfile& w, const HostProfile& h, const VariantFacts& f,
                               const std::string& no_parallel_reason) {
  VariantCost v;
  v.variant = Variant::CpuParallel;
  const int T = std::max(1, f.threads > 0 ? f.threads : h.cores);
  // A parallel loop whose regions are all too short to pay for the fork/join
  // runs on the calling thread (analysis::parallel_region_pays): the
  // variant is there, priced as serial work without fork/joins.
  bool has_par = w.cpu_parallel_loop >= 0 && (w.cpu_regions > 0 || w.cpu_inline_regions > 0);
  bool forks = w.cpu_parallel_loop >= 0 && w.cpu_regions > 0;
  if (!w.ok())
    v.unavailable = w.uncounted;
  else if (!f.cpu_available)
    v.unavailable = cpu_declined(f);
  else if (!has_par && !no_parallel_reason.empty())
    v.unavailable = Decline{DeclineCode::Dependence, 0, no_parallel_reason};
  else if (!has_par || !f.cpu_runs_parallel)  // the verdicts allow a loop the generator does not split
    v.unavailable = Decline{DeclineCode::UnsupportedOperation, 0,
                            "the CPU code generator runs no loop of this nest in parallel (a float min/max or an "
                            "array reduction runs in order)"};
  else if (T <= 1)
    v.unavailable = Decline{DeclineCode::NoDevice, 0, "this machine has one core"};
  CpuWork c = cpu_work(w, h);
  const double P = std::max(1.0, w.cpu_parallel_iterations);
  // Iterations are split into T nearly equal chunks: the slowest thread does
  // ceil(P/T). Threads beyond the cores other work leaves free only share them.
  const double free_cores = f.cores_free > 0 ? std::max(1.0, std::min<double>(T, f.cores_free)) : T;
  const double speedup = forks ? std::min(P / std::ceil(P / T), free_cores) : 1.0;
  const double fpar = forks ? w.parallel_fraction : 0.0;
  double arith = std::max(c.ops_s, c.chain_s);
  double arith_par = arith * (1 - fpar) + arith * fpar / speedup;
  // The parallel share of the traffic gains what the threads add to one
  // thread's bandwidth, up to what all of them reach together.
  auto parallel_bandwidth = [&](double one, double all) {
    return one + fpar * std::max(0.0, std::min(all, one * speedup) - one);
  };
  double bw_dram = parallel_bandwidth(h.dram_bandwidth_gbs, h.dram_bandwidth_all_gbs);
  double bw_l3 = parallel_bandwidth(h.l3_bandwidth_gbs, h.l3_bandwidth_all_gbs);
  double bw_cache = h.cache_bandwidth_gbs * (1 + fpar * (speedup - 1));
  double mem_s =
      c.mem_bytes_cache / (bw_cache * 1e9) + c.mem_bytes_l3 / (bw_l3 * 1e9) + c.mem_bytes_dram / (bw_dram * 1e9);
  v.compute = std::max(arith_par, mem_s);
  v.bound_by = mem_s > arith_par ? "memory" : "compute";
  // The first region of a call wakes sleeping workers, unless a parallel
  // loop ended moments ago; the next ones find them spinning. When other
  // work holds the cores (at least half a core fewer free than threads),
  // every region waits for the scheduler to hand its workers a core: a
  // time-stepped loop of many short regions then runs far slower in
  // parallel than serially. Less than that is work that runs in bursts (a
  // shell, a monitor: a tenth of a core on average), which a waking worker
  // preempts at once: heat-3d's 80 regions took 3 us each at 1.9 cores free,
  // not the 3 ms each priced when any load counted.
  constexpr double kContendedCores = 0.5;
  const bool contended = f.cores_free > 0 && f.cores_free <= T - kContendedCores;
  const double region_us = contended ? h.fork_join_busy_us : h.fork_join_us;
  const double first_region_us = f.workers_awake && !contended ? h.fork_join_us : h.fork_join_cold_us;
  // A region run on the calling thread still publishes the scalars, calls
  // its chunk function and combines what it returns: about 20 ns more than
  // the serial variant's loop (durbin and jacobi-1d at MEDIUM, "cpu" against
  // "cpu-serial").
  constexpr double kInlineRegionUs = 0.02;
  v.scheduling = call_seconds(w, h) +
                 (forks ? (first_region_us + std::max(0.0, w.cpu_regions - 1) * region_us) * 1e-6 : 0) +
                 w.cpu_inline_regions * kInlineRegionUs * 1e-6;
  v.transfer = snapshot_seconds(w, h, f) + first_touch_seconds(w, h, f, 1 + fpar * (speedup - 1));
  v.draws = draws_seconds(w, h, f);
  v.compile = amortised(cpu_compile_seconds(w, h, f, v.compute), f.cpu_compiled, f.expected_runs);
  v.details = {{"snapshot_bytes", f.cpu_needs_snapshot ? w.snapshot_bytes : 0.0},
               {"first_touch_bytes", first_touch_bytes(w, f)},
               {"list_items", w.list_items},
               {"threads", T},
               {"speedup", speedup},
               {"cores_free", free_cores},
               {"parallel_fraction", fpar},
               {"regions", w.cpu_regions},
               {"inline_regions", w.cpu_inline_regions},
               {"fork_join_us", h.fork_join_us},
               {"fork_join_cold_us", h.fork_join_cold_us},
               {"workers_awake", f.workers_awake},
               {"contended", contended},
               {"parallel_iterations", w.cpu_parallel_iterations},
               {"arith_s", arith_par},
               {"memory_s", mem_s}};
  return v;
}

// Instructions per operation on the GPU, in units of one FMA-pipe slot.
struct GpuOpCosts {
  double add, div, sqrt, exp, pow;
};
GpuOpCosts gpu_costs(bool fp32) {
  if (fp32) return {1, 8, 8, 12, 30};
  return {1, 16, 16, 30, 60};
}

VariantCost price_gpu(const WorkProfile& w, const HostProfile& h, const GpuProfile& g, const VariantFacts& f,
                      const std::string& no_parallel_reason) {
  VariantCost v;
  v.variant = Variant::Gpu;
  bool has_grid = !w.gpu_grid_loops.empty() && w.gpu_launches > 0;
  if (!w.ok())
    v.unavailable = w.uncounted;
  else if (!has_grid && no_parallel_reason.empty() && w.gpu_single_thread_loops > 0)
    v.unavailable = Decline{DeclineCode::UnsupportedOperation, 0,
                            "no parallel loop can start a GPU launch (a loop around it holds statements besides "
                            "loops, or its bounds change inside the nest), so the GPU version would run on a "
                            "single thread"};
  else if (!has_grid)
    v.unavailable = Decline{DeclineCode::Dependence, 0,
                            no_parallel_reason.empty()
                                ? "no loop can run in parallel, so there is nothing to spread over GPU threads"
                                : no_parallel_reason};
  else if (!f.gpu_codegen_ok)
    v.unavailable = Decline{code_or(f.gpu_decline_code, DeclineCode::UnsupportedOperation), 0,
                            f.gpu_decline.empty() ? "the CUDA code generator declined this nest" : f.gpu_decline};
  else if (!f.gpu_available)
    v.unavailable = Decline{DeclineCode::NoDevice, 0,
                            "there is no GPU on this machine (priced on the " + g.display_name + " profile)"};

  const double launches = has_grid ? w.gpu_launches : 1;
  const double threads = std::max(1.0, has_grid ? w.gpu_threads : 1);
  int block = std::max(g.warp_size, std::min(f.gpu_block_size, g.max_threads_per_block));
  if (threads < block) block = (int)std::max<double>(g.warp_size, std::ceil(threads / g.warp_size) * g.warp_size);
  const double blocks = std::ceil(threads / block);
  Occupancy occ = gpu_occupancy(g, block, f.gpu_registers_per_thread, f.gpu_shared_bytes_per_block);
  const double waves = gpu_waves(g, blocks, occ);
  const double clock = g.boost_clock_ghz * 1e9;

  // Work inside the kernels (per launch) and on the host (the rest).
  const OpCounts& kp = has_grid ? w.ops_gpu_kernel : w.ops;
  OpCounts host = w.ops;
  if (has_grid) {
    host.add -= kp.add;
    host.mul -= kp.mul;
    host.div -= kp.div;
    host.sqrt -= kp.sqrt;
    host.exp -= kp.exp;
    host.pow -= kp.pow;
    host.intop -= kp.intop;
    host.idiv -= kp.idiv;
    host.idiv_const -= kp.idiv_const;
    host.branch_miss -= kp.branch_miss;
    host.compare -= kp.compare;
    host.load -= kp.load;
    host.store -= kp.store;
    host.call -= kp.call;
  }
  GpuOpCosts oc = gpu_costs(w.fp32);
  const double fp_instr =
      (kp.add + kp.mul) * oc.add + kp.div * oc.div + kp.sqrt * oc.sqrt + kp.exp * oc.exp + kp.pow * oc.pow;
  // A 64-bit integer divide is a software routine on the GPU (about 60
  // instructions); by a constant, a multiply-high and shifts.
  const double int_instr =
      kp.intop + kp.compare + kp.call + 2 * (kp.load + kp.store) + 60 * (kp.idiv - kp.idiv_const) + 4 * kp.idiv_const;
  // Lanes per SM per clock from the peak (an FMA counts as two flops).
  const double fp32_rate = g.fp32_tflops * 1e12 / 2;
  const double fp_rate = (w.fp32 ? g.fp32_tflops : g.fp64_tflops) * 1e12 / 2;
  // Starvation: each scheduler needs about 4 resident warps to hide ALU latency,
  // and about 32 warps per SM are needed to keep DRAM busy.
  const double resident = std::min(threads, (double)g.sms * occ.active_warps_per_sm * g.warp_size);
  const double u_alu = std::min(1.0, resident / ((double)g.sms * g.schedulers_per_sm * 4 * g.warp_size));
  const double u_mem = std::min(1.0, resident / ((double)g.sms * 32 * g.warp_size));
  const double t_alu = (fp_instr / fp_rate + int_instr / fp32_rate) / std::max(1e-6, u_alu);

  // DRAM traffic: every access costs its element times the coalescing factor,
  // but never less than the footprint (caches catch reuse beyond that).
  double traffic = 0, accesses_bytes = 0;
  for (auto& a : w.arrays) {
    double acc = a.gpu_accesses * a.elem_bytes;
    accesses_bytes += acc;
    double in_kernel =
        acc * (w.ops.load + w.ops.store > 0 ? std::min(1.0, (kp.load + kp.store) / (w.ops.load + w.ops.store)) : 1.0);
    traffic += std::max(a.footprint_bytes, in_kernel * a.gpu_coalescing);
  }
  const double t_mem = traffic / (g.memory_bandwidth_gbs * 1e9 * 0.8 * std::max(1e-6, u_mem));
  // Latency floor: one thread's own chain of instructions and loads, once per wave.
  const double per_thread_instr = (fp_instr + int_instr) / (launches * threads);
  const double per_thread_loads = (kp.load + kp.store) / (launches * threads);
  const double t_thread = per_thread_instr * 4 / clock + per_thread_loads * g.memory_latency_ns * 1e-9 / 4;
  const double t_latency = launches * waves * t_thread;
  // Grid-level reductions: one atomic per warp after a shuffle reduction,
  // serialised on one address in L2 (about one per clock).
  const double t_atomic = w.gpu_grid_reduction * launches / g.warp_size / clock;
  // Scalars assigned in some iterations only (ls_keep_last): each block
  // announces its latest position with one atomic, and only a block later
  // than every one announced before takes the lock to write its value (a
  // fenced read and write of memory while the others wait, about two memory
  // latencies). Blocks finish wave after wave, in any order within a wave:
  // about 1 + ln(blocks per wave) of each wave take the lock.
  const double locks = waves * (1 + std::log(std::max(1.0, blocks / std::max(1.0, waves))));
  const double t_last = w.gpu_last_assigned * launches * (blocks / clock + locks * 2 * g.memory_latency_ns * 1e-9);
  const double t_host = cpu_op_seconds(host, h);

  double t_kernel = std::max({t_alu, t_mem, t_latency});
  v.compute = t_kernel + t_atomic + t_last + t_host;
  v.bound_by = t_kernel == t_mem ? "memory" : (t_kernel == t_alu ? "compute" : "latency");
  v.scheduling = launches * g.launch_overhead_us * 1e-6 + call_seconds(w, h);

  double in_bytes = 0, out_bytes = 0;
  int in_copies = 0, out_copies = 0;
  for (auto& a : w.arrays) {
    if (a.read || (a.written && !a.fully_written)) {
      in_bytes += a.nbytes;
      ++in_copies;
    }
    if (a.written) {
      out_bytes += a.nbytes;
      ++out_copies;
    }
  }
  v.transfer = gpu_transfer_seconds(g, in_bytes, in_copies) + gpu_transfer_seconds(g, out_bytes, out_copies) +
               list_snapshot_seconds(w, h) + first_touch_seconds(w, h, f);
  v.compile = amortised(f.gpu_compile_s, f.gpu_compiled, f.expected_runs);
  v.draws = draws_seconds(w, h, f);
  v.details = {{"profile", g.name},
               {"first_touch_bytes", first_touch_bytes(w, f)},
               {"launches", launches},
               {"threads_per_launch", threads},
               {"block_size", block},
               {"blocks", blocks},
               {"blocks_per_sm", occ.blocks_per_sm},
               {"occupancy", occ.occupancy},
               {"occupancy_limited_by", occ.limited_by},
               {"registers_per_thread", f.gpu_registers_per_thread},
               {"waves", waves},
               {"alu_utilisation", u_alu},
               {"memory_utilisation", u_mem},
               {"alu_s", t_alu},
               {"memory_s", t_mem},
               {"latency_s", t_latency},
               {"atomic_s", t_atomic},
               {"last_values_s", t_last},
               {"host_s", t_host},
               {"dram_bytes", traffic},
               {"access_bytes", accesses_bytes},
               {"bytes_in", in_bytes},
               {"bytes_out", out_bytes},
               {"copies_in", in_copies},
               {"copies_out", out_copies},
               {"precision", w.fp32 ? "fp32" : "fp64"}};
  return v;
}

std::string size_phrase(const WorkProfile& w) {
  if (w.size_label.empty()) return "at this size";
  char buf[96];
  std::snprintf(buf, sizeof buf, "at %s=%.0f", w.size_label.c_str(), w.size_value);
  return buf;
}

constexpr double kParallelMargin = 0.8;

std::string decide(CostEstimate& e, const GpuProfile& g, const HostProfile& h) {
  const auto& py = e.cost(Variant::Python);
  const auto& cs = e.cost(Variant::CpuSerial);
  const auto& cp = e.cost(Variant::CpuParallel);
  const auto& gp = e.cost(Variant::Gpu);
  // The parallel variant must beat the best single-threaded one by a margin:
  // its time depends on what else the machine is running, and a wrong bet on
  // it costs more than it can gain.
  const VariantCost* best = &py;
  if (cs.available() && cs.total() < best->total()) best = &cs;
  if (cp.available() && cp.total() < kParallelMargin * best->total()) best = &cp;
  if (gp.available() && gp.total() < best->total()) best = &gp;
  e.choice = best->variant;
  const std::string at = size_phrase(e.work);
  // The cheapest variant ignoring availability: worth mentioning when it is
  // the GPU that this machine does not have.
  const VariantCost* ideal = best;
  for (auto* c : {&py, &cs, &cp, &gp})
    if (c->total() < ideal->total() && c->variant == Variant::Gpu && c->unavailable &&
        c->unavailable->code == DeclineCode::NoDevice)
      ideal = c;
  std::string r;
  switch (best->variant) {
    case Variant::Python: {
      if (!cs.available())
        r = "runs in Python: " + cs.unavailable_reason();
      else if (cs.compile > py.total())
        r = "runs in Python: " + at + " the loop takes about " + format_seconds(py.total()) +
            " in the interpreter, less than the " + format_seconds(cs.compile) + " it takes to compile it";
      else
        r = "runs in Python: " + at + " the interpreter (" + format_seconds(py.total()) +
            ") is cheaper than calling compiled code (" + format_seconds(cs.total()) + ")";
      break;
    }
    case Variant::CpuSerial: {
      if (!cp.available())
        r = "runs on one CPU core: " + cp.unavailable_reason() + " (" + format_seconds(cs.total()) + " against " +
            format_seconds(py.total()) + " in Python)";
      else if (e.work.cpu_regions == 0 && e.work.cpu_inline_regions > 0)
        // Every region is short (analysis::parallel_region_pays): the parallel
        // variant would run them on this core too.
        r = "runs on one CPU core: " + at + " each run of its parallel loop does too little work to be worth " +
            "waking other threads for, so it would run on one core anyway; it takes " + format_seconds(cs.total());
      else if (cp.total() < cs.total())
        // The margin decided: say the rule, or the choice reads as the slower one.
        r = "runs on one CPU core: " + at + " " + std::to_string(h.cores) + " threads would take " +
            format_seconds(cp.total()) + " against " + format_seconds(cs.total()) + " on one core, less than the " +
            std::to_string((int)std::lround((1.0 - kParallelMargin) * 100)) +
            "% saving parallel code must promise (its time depends on what else the machine is running)";
      else
        r = "runs on one CPU core: " + at + " it takes " + format_seconds(cs.total()) + ", and " +
            std::to_string(h.cores) + " threads would take " + format_seconds(cp.total()) +
            ": starting them costs more than they save";
      break;
    }
    case Variant::CpuParallel: {
      const std::string name = "on the CPU with " + std::to_string((int)cp.details.value("threads", 1)) + " threads";
      if (ideal == &gp)
        r = "runs " + name + ": the GPU (" + g.display_name + ") would take " + format_seconds(gp.total()) +
            " against " + format_seconds(cp.total()) + ", but " +
            gp.unavailable_reason().substr(0, gp.unavailable_reason().find(" (priced"));
      else if (gp.transfer > cp.total())
        r = "runs " + name + ": " + at + ", moving " +
            format_bytes(gp.details.value("bytes_in", 0.0) + gp.details.value("bytes_out", 0.0)) +
            " to and from the GPU costs more than the whole loop (" + format_seconds(cp.total()) + ")";
      else
        r = "runs " + name + ": " + at + " it takes " + format_seconds(cp.total()) + " against " +
            format_seconds(gp.total()) + " on the GPU (" + g.display_name + ") and " + format_seconds(cs.total()) +
            " on one core";
      break;
    }
    case Variant::Gpu: {
      double best_cpu = std::min(cs.available() ? cs.total() : 1e300, cp.available() ? cp.total() : 1e300);
      r = "runs on the GPU (" + g.display_name + "): " + at + " it takes " + format_seconds(gp.total()) +
          ", including " + format_seconds(gp.transfer) + " of copies, against " +
          format_seconds(std::min(best_cpu, py.total())) + " on the CPU";
      break;
    }
  }
  return r;
}

}  // namespace

CostEstimate price(const WorkProfile& work, const HostProfile& host, const GpuProfile& gpu, const VariantFacts& facts) {
  return [&] {
    CostEstimate e;
    e.work = work;
    e.gpu_profile = gpu.name;
    e.variants.push_back(price_python(work, host, facts));
    e.variants.push_back(price_cpu_serial(work, host, facts));
    e.variants.push_back(price_cpu_parallel(work, host, facts, ""));
    e.variants.push_back(price_gpu(work, host, gpu, facts, ""));
    e.reason = decide(e, gpu, host);
    return e;
  }();
}

double cpu_compute_seconds(const WorkProfile& work, const HostProfile& host, bool parallel, int threads) {
  VariantFacts f;
  f.cpu_compiled = true;
  f.threads = threads;
  VariantCost v = parallel ? price_cpu_parallel(work, host, f, "") : price_cpu_serial(work, host, f);
  if (parallel && !v.available()) v = price_cpu_serial(work, host, f);
  return v.compute;
}

static std::string no_parallel_reason(const ParallelPlan& plan) {
  for (auto& lp : plan.loops) {
    if (lp.verdict != LoopVerdict::Sequential) return "";
  }
  for (auto& lp : plan.loops) {
    if (!lp.reasons.empty()) return "no loop can run in parallel (loop '" + lp.var + "': " + lp.reasons.front() + ")";
  }
  return "no loop can run in parallel";
}

const double kSweepScales[9] = {1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2, 1, 2, 4, 8, 16};

void add_sweep(NestWork& c, const BoundNest& bound, const ParallelPlan& plan) {
  if (c.swept) return;
  c.scaled.clear();
  if (c.work.ok())
    for (double s : kSweepScales) c.scaled.push_back(s == 1.0 ? WorkProfile{} : count_work(bound, plan, s, &c.mapping));
  c.swept = true;
}

NestWork count_nest(const BoundNest& bound, const ParallelPlan& plan, bool sweep, const NestMapping* mapping) {
  NestWork c;
  c.mapping = mapping ? *mapping : map_by_verdicts(bound, plan);
  c.work = count_work(bound, plan, 1.0, &c.mapping);
  c.no_parallel_reason = no_parallel_reason(plan);
  if (sweep) add_sweep(c, bound, plan);
  return c;
}

CostEstimate price_nest(const NestWork& c, const std::optional<Decline>& decline, const HostProfile& host,
                        const GpuProfile& gpu, const VariantFacts& facts, bool sweep) {
  const WorkProfile& w = c.work;
  const std::string& npr = c.no_parallel_reason;
  auto price_with = [&](const WorkProfile& wp) {
    CostEstimate e;
    e.work = wp;
    e.gpu_profile = gpu.name;
    e.variants.push_back(price_python(wp, host, facts));
    if (facts.python_measured_s >= 0 && &wp == &w) {  // measured on these very values
      VariantCost& py = e.variants.back();
      py.details["counted_s"] = py.compute;
      py.details["measured"] = true;
      py.compute = facts.python_measured_s;
      py.transfer = 0;  // the measured run paid its page faults too
    }
    e.variants.push_back(price_cpu_serial(wp, host, facts));
    e.variants.push_back(price_cpu_parallel(wp, host, facts, npr));
    e.variants.push_back(price_gpu(wp, host, gpu, facts, npr));
    e.reason = decide(e, gpu, host);
    return e;
  };
  CostEstimate e = price_with(w);
  if (decline) {
    // The analysis could not decide safely: only the interpreter may run it.
    for (auto& v : e.variants)
      if (v.variant != Variant::Python) v.unavailable = decline;
    e.choice = Variant::Python;
    e.reason = "runs in Python: " + decline->reason;
  }
  if (sweep && c.swept && w.ok()) {
    for (size_t k = 0; k < c.scaled.size(); ++k) {
      const WorkProfile& ws = kSweepScales[k] == 1.0 ? w : c.scaled[k];
      if (!ws.ok()) continue;
      CostEstimate es = price_with(ws);
      SizePoint p;
      p.size = ws.size_value;
      p.python = es.cost(Variant::Python).total();
      p.cpu_serial = es.cost(Variant::CpuSerial).total();
      p.cpu_parallel = es.cost(Variant::CpuParallel).total();
      p.gpu = es.cost(Variant::Gpu).total();
      if (!e.sweep.empty() && p.size <= e.sweep.back().size) continue;
      e.sweep.push_back(p);
    }
    // Where the GPU first becomes cheaper than the best CPU variant
    // (log-log interpolation between the sweep points).
    bool par = w.cpu_parallel_loop >= 0;
    auto cpu_best = [&](const SizePoint& p) { return par ? std::min(p.cpu_serial, p.cpu_parallel) : p.cpu_serial; };
    for (size_t k = 1; k < e.sweep.size(); ++k) {
      const auto& a = e.sweep[k - 1];
      const auto& b = e.sweep[k];
      double da = std::log(a.gpu) - std::log(cpu_best(a));
      double db = std::log(b.gpu) - std::log(cpu_best(b));
      if (da > 0 && db <= 0) {
        double t = da / (da - db);
        e.gpu_crossover = std::exp(std::log(a.size) + t * (std::log(b.size) - std::log(a.size)));
        break;
      }
    }
  }
  return e;
}

CostEstimate estimate(const BoundNest& bound, const ParallelPlan& plan, const HostProfile& host, const GpuProfile& gpu,
                      const VariantFacts& facts, bool sweep, const NestMapping* mapping) {
  return price_nest(count_nest(bound, plan, sweep, mapping), plan.decline, host, gpu, facts, sweep);
}

nlohmann::json to_json(const CostEstimate& e) {
  nlohmann::json j;
  j["choice"] = to_string(e.choice);
  j["reason"] = e.reason;
  j["gpu_profile"] = e.gpu_profile;
  j["variants"] = nlohmann::json::array();
  for (auto& v : e.variants) {
    j["variants"].push_back({{"variant", to_string(v.variant)},
                             {"available", v.available()},
                             {"unavailable_reason", v.unavailable_reason()},
                             {"unavailable_code", v.unavailable ? to_string(v.unavailable->code) : ""},
                             {"total", v.total()},
                             {"scheduling", v.scheduling},
                             {"transfer", v.transfer},
                             {"compute", v.compute},
                             {"compile", v.compile},
                             {"draws", v.draws},
                             {"bound_by", v.bound_by},
                             {"details", v.details}});
  }
  j["work"] = to_json(e.work);
  j["sweep"] = nlohmann::json::array();
  for (auto& p : e.sweep)
    j["sweep"].push_back({{"size", p.size},
                          {"python", p.python},
                          {"cpu-serial", p.cpu_serial},
                          {"cpu", p.cpu_parallel},
                          {"gpu", p.gpu}});
  j["size_label"] = e.work.size_label;
  if (e.gpu_crossover)
    j["gpu_crossover"] = *e.gpu_crossover;
  else
    j["gpu_crossover"] = nullptr;
  return j;
}

}  // namespace loopscope::costmodel
