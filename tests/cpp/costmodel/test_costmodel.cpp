#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <sys/mman.h>
#include <unistd.h>

#include "loopscope/analysis/mapping.hpp"
#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/model.hpp"
#include "loopscope/costmodel/work.hpp"
#include "../nest_builder.hpp"

using namespace loopscope::costmodel;
using namespace irtest;

namespace {

std::string share() { return std::string(LOOPSCOPE_SOURCE_DIR) + "/share"; }

GpuProfile profile(const std::string& name) {
  std::string err;
  auto g = load_gpu_profile(name, &err, share());
  EXPECT_TRUE(g.has_value()) << err;
  return g.value_or(GpuProfile{});
}

// A fixed host so that the formulas are checked against hand-computed numbers.
HostProfile fixed_host() {
  HostProfile h;
  h.cores = 4;
  h.simd_bits = 256;
  h.l2_bytes = 1 << 20;
  h.l3_bytes = 8 << 20;
  h.dram_bandwidth_gbs = 10;
  h.dram_bandwidth_all_gbs = 20;
  h.cache_bandwidth_gbs = 50;
  h.l3_bandwidth_gbs = 30;
  h.l3_bandwidth_all_gbs = 90;
  h.add_ns = 0.25;
  h.add_latency_ns = 1.0;
  h.div_ns = 1.0;
  h.exp_ns = 5;
  h.fork_join_us = 10;
  h.fork_join_cold_us = 10;
  h.loop_iter_ns = 0.25;
  h.native_call_us = 10;
  h.native_input_us = 0;
  h.native_ref_us = 0;
  h.native_loop_us = 0;
  h.py_dispatch_us = 0;  // the interpreter's prices alone (PythonPaysTheEnginesHook adds it)
  h.div_latency_ns = 4;
  h.store_forward_ns = 1.5;
  h.loop_entry_ns = 0;
  h.py_iter_ns = 30;
  h.py_binop_ns = 20;
  h.py_load_ns = 50;
  h.py_store_ns = 60;
  h.py_call_ns = 50;
  h.py_assign_ns = 5;
  h.py_compare_ns = 20;
  h.py_nest_ns = 1000;
  return h;
}

struct Nest {
  LoopNest nest;
  BoundNest bound;
  ParallelPlan plan;
};

// for i in range(n): y[i] = a * x[i] + y[i]
Nest saxpy(int64_t n) {
  Nest t;
  Builder b;
  auto L = b.loop("i", I(0), N("n"), 0);
  L->body.push_back(b.assign(Sub1("y", {N("i")}), Add(Mul(N("a"), Sub1("x", {N("i")})), Sub1("y", {N("i")}))));
  t.nest.root = L;
  t.nest.arrays = {"x", "y"};
  t.bound.nest = &t.nest;
  t.bound.arrays["x"] = array(DType::Float64, {n});
  t.bound.arrays["y"] = array(DType::Float64, {n});
  t.bound.scalars["n"] = int_scalar(n);
  t.bound.scalars["a"] = float_scalar(2.0);
  t.plan.loops.push_back(loop_plan(*L, LoopVerdict::Parallel));
  return t;
}

// for i in range(n): for j in range(n): for k in range(n): C[i,j] += A[i,k] * B[k,j]
Nest gemm(int64_t n) {
  Nest t;
  Builder b;
  auto Li = b.loop("i", I(0), N("n"), 0);
  auto Lj = b.loop("j", I(0), N("n"), 1);
  auto Lk = b.loop("k", I(0), N("n"), 2);
  Lk->body.push_back(
      b.aug(Sub1("C", {N("i"), N("j")}), BinOp::Add, Mul(Sub1("A", {N("i"), N("k")}), Sub1("B", {N("k"), N("j")}))));
  Lj->body.push_back(Lk);
  Li->body.push_back(Lj);
  t.nest.root = Li;
  t.nest.arrays = {"A", "B", "C"};
  t.bound.nest = &t.nest;
  for (auto a : {"A", "B", "C"}) t.bound.arrays[a] = array(DType::Float64, {n, n});
  t.bound.scalars["n"] = int_scalar(n);
  t.plan.loops = {loop_plan(*Li, LoopVerdict::Parallel), loop_plan(*Lj, LoopVerdict::Parallel),
                  loop_plan(*Lk, LoopVerdict::Reduction)};
  return t;
}

// for i in range(n): for j in range(i): A[i, j] = A[j, i] * 0.5
Nest triangle(int64_t n) {
  Nest t;
  Builder b;
  auto Li = b.loop("i", I(0), N("n"), 0);
  auto Lj = b.loop("j", I(0), N("i"), 1);
  Lj->body.push_back(b.assign(Sub1("A", {N("i"), N("j")}), Mul(Sub1("A", {N("j"), N("i")}), F(0.5))));
  Li->body.push_back(Lj);
  t.nest.root = Li;
  t.nest.arrays = {"A"};
  t.bound.nest = &t.nest;
  t.bound.arrays["A"] = array(DType::Float64, {n, n});
  t.bound.scalars["n"] = int_scalar(n);
  t.plan.loops = {loop_plan(*Li, LoopVerdict::Sequential), loop_plan(*Lj, LoopVerdict::Parallel)};
  return t;
}

// for t in range(steps):
//   for i in range(1, n - 1): B[i] = (A[i-1] + A[i] + A[i+1]) / 3.0
//   for i in range(1, n - 1): A[i] = B[i]
Nest jacobi(int64_t n, int64_t steps) {
  Nest t;
  Builder b;
  auto Lt = b.loop("t", I(0), N("steps"), 0);
  auto L1 = b.loop("i", I(1), Sub(N("n"), I(1)), 1);
  L1->body.push_back(b.assign(
      Sub1("B", {N("i")}),
      Div(Add(Add(Sub1("A", {Sub(N("i"), I(1))}), Sub1("A", {N("i")})), Sub1("A", {Add(N("i"), I(1))})), F(3.0))));
  auto L2 = b.loop("i", I(1), Sub(N("n"), I(1)), 1);
  L2->body.push_back(b.assign(Sub1("A", {N("i")}), Sub1("B", {N("i")})));
  Lt->body = {L1, L2};
  t.nest.root = Lt;
  t.nest.arrays = {"A", "B"};
  t.bound.nest = &t.nest;
  t.bound.arrays["A"] = array(DType::Float64, {n});
  t.bound.arrays["B"] = array(DType::Float64, {n});
  t.bound.scalars["n"] = int_scalar(n);
  t.bound.scalars["steps"] = int_scalar(steps);
  t.plan.loops = {loop_plan(*Lt, LoopVerdict::Sequential), loop_plan(*L1, LoopVerdict::Parallel),
                  loop_plan(*L2, LoopVerdict::Parallel)};
  return t;
}

}  // namespace

// ---------------------------------------------------------------- profiles

TEST(Profiles, AllRequiredProfilesLoad) {
  auto names = list_gpu_profiles(share());
  for (auto want : {"h100_sxm", "a100_sxm", "v100_sxm", "t4", "rtx_4090", "rtx_4060_laptop", "gtx_1080_ti"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  for (auto& n : names) {
    GpuProfile g = profile(n);
    EXPECT_GT(g.sms, 0) << n;
    EXPECT_GT(g.host_link_bandwidth_gbs, 0) << n;
    EXPECT_GT(g.launch_overhead_us, 0) << n;
    EXPECT_FALSE(g.sources.empty()) << n;
    // Peak FP32 agrees with SMs x clock x lanes x 2 within a few percent.
    double lanes = g.fp32_tflops * 1e12 / (2 * g.sms * g.boost_clock_ghz * 1e9);
    EXPECT_NEAR(lanes, std::round(lanes), 0.06 * lanes) << n;
  }
}

TEST(Profiles, UnknownProfileIsAnError) {
  std::string err;
  EXPECT_FALSE(load_gpu_profile("no_such_gpu", &err, share()).has_value());
  EXPECT_NE(err.find("h100_sxm"), std::string::npos) << err;
}

// ---------------------------------------------------------------- formulas

TEST(Occupancy, LimitedByThreadsAtLowRegisterUse) {
  GpuProfile g = profile("h100_sxm");
  Occupancy o = gpu_occupancy(g, 256, 32, 0);
  EXPECT_EQ(o.blocks_per_sm, 8);  // 2048 threads / 256
  EXPECT_DOUBLE_EQ(o.occupancy, 1.0);
  EXPECT_EQ(o.limited_by, "threads");
}

TEST(Occupancy, RegistersHalveAndThenCollapseIt) {
  GpuProfile g = profile("h100_sxm");
  Occupancy o = gpu_occupancy(g, 256, 64, 0);
  // 64 regs x 32 lanes = 2048 per warp; 8 warps per block = 16384; 65536 / 16384 = 4 blocks.
  EXPECT_EQ(o.blocks_per_sm, 4);
  EXPECT_DOUBLE_EQ(o.occupancy, 0.5);
  EXPECT_EQ(o.limited_by, "registers");
  o = gpu_occupancy(g, 256, 255, 0);
  // 255 x 32 = 8160, rounded to 8192 per warp; x 8 = 65536: one block.
  EXPECT_EQ(o.blocks_per_sm, 1);
  EXPECT_DOUBLE_EQ(o.occupancy, 0.125);
  // Odd counts round up to the 256-register allocation unit: 33 x 32 = 1056 -> 1280.
  o = gpu_occupancy(g, 128, 33, 0);
  EXPECT_EQ(o.blocks_per_sm, 65536 / (1280 * 4));
}

TEST(Occupancy, SharedMemoryAndBlockLimits) {
  GpuProfile g = profile("t4");
  Occupancy o = gpu_occupancy(g, 64, 16, 0);
  EXPECT_EQ(o.blocks_per_sm, 16);  // T4: at most 16 blocks, 1024 threads per SM
  EXPECT_EQ(o.limited_by, "threads");
  o = gpu_occupancy(g, 32, 16, 0);
  EXPECT_EQ(o.blocks_per_sm, 16);
  EXPECT_EQ(o.limited_by, "blocks");
  EXPECT_DOUBLE_EQ(o.occupancy, 0.5);
  o = gpu_occupancy(g, 256, 16, 40000);
  EXPECT_EQ(o.blocks_per_sm, 1);
  EXPECT_EQ(o.limited_by, "shared memory");
}

TEST(Waves, CountsFullDeviceRounds) {
  GpuProfile g = profile("h100_sxm");
  Occupancy o = gpu_occupancy(g, 256, 32, 0);  // 8 blocks per SM -> 1056 slots
  EXPECT_EQ(gpu_waves(g, 1, o), 1);
  EXPECT_EQ(gpu_waves(g, 1056, o), 1);
  EXPECT_EQ(gpu_waves(g, 1057, o), 2);
  EXPECT_EQ(gpu_waves(g, 0, o), 0);
}

TEST(Transfer, LatencyPlusBytesOverBandwidth) {
  GpuProfile g = profile("v100_sxm");  // 10 GB/s, 10 us per copy
  EXPECT_NEAR(gpu_transfer_seconds(g, 1e9, 1), 0.1 + 10e-6, 1e-12);
  EXPECT_NEAR(gpu_transfer_seconds(g, 8000, 2), 20e-6 + 8000 / 10e9, 1e-15);
  EXPECT_EQ(gpu_transfer_seconds(g, 0, 0), 0);
}

TEST(Roofline, LargerOfComputeAndMemory) {
  EXPECT_DOUBLE_EQ(roofline_seconds(1e9, 1e12, 1e6, 1e9), 1e-3);  // compute 1 ms, memory 1 ms
  EXPECT_DOUBLE_EQ(roofline_seconds(1e9, 1e12, 4e6, 1e9), 4e-3);  // memory bound
  EXPECT_DOUBLE_EQ(roofline_seconds(8e9, 1e12, 4e6, 1e9), 8e-3);  // compute bound
}

// ------------------------------------------------------------ work counts

TEST(Work, SaxpyCounts) {
  Nest t = saxpy(1000);
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_TRUE(w.ok()) << w.uncounted->reason;
  EXPECT_DOUBLE_EQ(w.ops.mul, 1000);
  EXPECT_DOUBLE_EQ(w.ops.add, 1000);
  EXPECT_DOUBLE_EQ(w.ops.load, 2000);
  EXPECT_DOUBLE_EQ(w.ops.store, 1000);
  EXPECT_DOUBLE_EQ(w.innermost_iterations, 1000);
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 2000);  // unit stride: vectorisable
  EXPECT_DOUBLE_EQ(w.chain_ops, 0);
  ASSERT_EQ(w.arrays.size(), 2u);
  for (auto& a : w.arrays) {
    EXPECT_DOUBLE_EQ(a.footprint_bytes, 8000) << a.name;
    EXPECT_DOUBLE_EQ(a.gpu_coalescing, 1) << a.name;
    EXPECT_DOUBLE_EQ(a.cpu_traffic_bytes, a.name == "x" ? 8000 : 16000) << a.name;
  }
  EXPECT_DOUBLE_EQ(w.bytes_read(), 16000);    // x and y are read
  EXPECT_DOUBLE_EQ(w.bytes_written(), 8000);  // only y is written
  EXPECT_EQ(w.gpu_grid_loops.size(), 1u);
  EXPECT_DOUBLE_EQ(w.gpu_threads, 1000);
  EXPECT_DOUBLE_EQ(w.gpu_launches, 1);
  // 1000 iterations do not pay for a fork/join: the region runs on the
  // calling thread, its work is not parallel
  EXPECT_DOUBLE_EQ(w.cpu_regions, 0);
  EXPECT_DOUBLE_EQ(w.cpu_inline_regions, 1);
  EXPECT_DOUBLE_EQ(w.parallel_fraction, 0);
  EXPECT_EQ(w.size_label, "n");
  EXPECT_DOUBLE_EQ(w.size_value, 1000);
  Nest s = saxpy(100000);
  WorkProfile big = count_work(s.bound, s.plan);
  EXPECT_DOUBLE_EQ(big.cpu_regions, 1);
  EXPECT_DOUBLE_EQ(big.cpu_inline_regions, 0);
  EXPECT_DOUBLE_EQ(big.parallel_fraction, 1);
}

TEST(Work, GemmChainAndGrid) {
  Nest t = gemm(64);
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_TRUE(w.ok()) << w.uncounted->reason;
  const double n3 = 64.0 * 64 * 64;
  EXPECT_DOUBLE_EQ(w.ops.mul, n3);
  EXPECT_DOUBLE_EQ(w.ops.add, n3);
  EXPECT_DOUBLE_EQ(w.ops.load, 3 * n3);  // A, B and C (+=)
  EXPECT_DOUBLE_EQ(w.chain_ops, n3);     // C[i,j] does not move with k
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 0);
  EXPECT_EQ(w.gpu_grid_loops.size(), 2u);  // i and j; k stays inside each thread
  EXPECT_DOUBLE_EQ(w.gpu_threads, 64 * 64);
  for (auto& a : w.arrays) {
    // B[k, j] walks a column, but the next j reuses the same lines: one element per access.
    if (a.name == "B") {
      EXPECT_DOUBLE_EQ(a.cpu_traffic_bytes, 8 * n3);
    }
    if (a.name == "A") {
      EXPECT_DOUBLE_EQ(a.cpu_traffic_bytes, 8 * n3);
    }
    // Along the grid's x loop (j): A[i, k] is the same for a whole warp, B and C are unit stride.
    if (a.name == "A") {
      EXPECT_DOUBLE_EQ(a.gpu_coalescing, 1.0 / 32);
    }
    if (a.name != "A") {
      EXPECT_DOUBLE_EQ(a.gpu_coalescing, 1.0);
    }
    // C[i, j] stays put while a thread runs its k loop: a register, not memory.
    if (a.name == "C") {
      EXPECT_DOUBLE_EQ(a.gpu_accesses, 2 * 64.0 * 64);
    }
    if (a.name == "A") {
      EXPECT_DOUBLE_EQ(a.gpu_accesses, n3);
    }
  }
  // Scaling the size by 2 multiplies the work by 8.
  WorkProfile w2 = count_work(t.bound, t.plan, 2.0);
  EXPECT_DOUBLE_EQ(w2.ops.mul, 8 * n3);
  EXPECT_DOUBLE_EQ(w2.size_value, 128);
}

TEST(Work, TriangularTripCounts) {
  for (int64_t n : {10, 100, 1000}) {
    Nest t = triangle(n);
    WorkProfile w = count_work(t.bound, t.plan);
    ASSERT_TRUE(w.ok()) << w.uncounted->reason;
    double exact = n * (n - 1) / 2.0;
    EXPECT_NEAR(w.innermost_iterations, exact, 0.01 * exact) << n;
    ASSERT_EQ(w.loops.size(), 2u);
    EXPECT_TRUE(w.loops[1].triangular);
    EXPECT_FALSE(w.loops[0].triangular);
    EXPECT_DOUBLE_EQ(w.loops[1].entries, n);
    // The parallel j loop is launched once per i.
    EXPECT_DOUBLE_EQ(w.gpu_launches, n);
    EXPECT_NEAR(w.gpu_threads * w.gpu_launches, exact, 0.01 * exact);
  }
}

TEST(Work, TimeLoopAroundTwoKernels) {
  Nest t = jacobi(1002, 50);
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_TRUE(w.ok()) << w.uncounted->reason;
  EXPECT_DOUBLE_EQ(w.gpu_launches, 100);  // two kernels per time step
  // 1000 iterations are too short to pay for a fork/join: the CPU runs
  // each region on the calling thread (Model.ShortCpuRegionsRunOnTheCallingThread)
  EXPECT_DOUBLE_EQ(w.cpu_regions + w.cpu_inline_regions, 100);
  EXPECT_DOUBLE_EQ(w.gpu_threads, 1000);
  EXPECT_DOUBLE_EQ(w.ops.div, 50 * 1000);
  for (auto& a : w.arrays) {
    if (a.name == "A") {
      EXPECT_TRUE(a.read);
      EXPECT_TRUE(a.written);
      EXPECT_FALSE(a.fully_written);  // the ends are never written
      // A[i - 1], A[i] and A[i + 1] share their cache lines: one read stream
      // in the first loop, one write stream in the second.
      EXPECT_DOUBLE_EQ(a.cpu_traffic_bytes, 2 * 8.0 * 1000 * 50);
    }
    if (a.name == "B") {
      EXPECT_FALSE(a.fully_written);
    }
  }
  EXPECT_EQ(w.size_label, "n");
}

TEST(Work, RecurrenceThroughMemoryIsLatency) {
  // for i in range(1, n): A[i] = A[i - 1] * 0.5 + B[i]
  Nest t;
  Builder b;
  auto L = b.loop("i", I(1), N("n"), 0);
  auto S = b.assign(Sub1("A", {N("i")}), Add(Mul(Sub1("A", {Sub(N("i"), I(1))}), F(0.5)), Sub1("B", {N("i")})));
  L->body.push_back(S);
  t.nest.root = L;
  t.nest.arrays = {"A", "B"};
  t.bound.nest = &t.nest;
  t.bound.arrays["A"] = array(DType::Float64, {1000});
  t.bound.arrays["B"] = array(DType::Float64, {1000});
  t.bound.scalars["n"] = int_scalar(1000);
  t.plan.loops.push_back(loop_plan(*L, LoopVerdict::Sequential));
  DependenceEdge e;
  e.src = e.dst = S->id;
  e.kind = DepKind::Flow;
  e.variable = "A";
  e.loops = {"i"};
  e.direction = {Direction::Lt};
  e.distance = {1};
  e.carrier = 0;
  t.plan.edges.push_back(e);
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_TRUE(w.ok()) << w.uncounted->reason;
  // On the path from A[i - 1] to the store: the multiply and the add, then the store.
  EXPECT_DOUBLE_EQ(w.ops_recurrence.add, 2 * 999);
  EXPECT_DOUBLE_EQ(w.ops_recurrence.store, 999);
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 0);
  HostProfile h = fixed_host();
  CostEstimate est = price(w, h, profile("t4"), VariantFacts{});
  const VariantCost& cs = est.cost(Variant::CpuSerial);
  EXPECT_EQ(cs.bound_by, "latency");
  EXPECT_NEAR(cs.compute, 999 * (2 * 1.0 + 1.5) * 1e-9, 1e-12);
  // Without the edge the same loop is throughput bound.
  t.plan.edges.clear();
  WorkProfile w2 = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w2.ops_recurrence.add, 0);
}

TEST(Work, AssignmentToItselfIsAChain) {
  // for i in range(n): for j in range(n): x[i] = x[i] + A[i, j] * y[j]
  Nest t;
  Builder b;
  auto Li = b.loop("i", I(0), N("n"), 0);
  auto Lj = b.loop("j", I(0), N("n"), 1);
  Lj->body.push_back(
      b.assign(Sub1("x", {N("i")}), Add(Sub1("x", {N("i")}), Mul(Sub1("A", {N("i"), N("j")}), Sub1("y", {N("j")})))));
  Li->body.push_back(Lj);
  t.nest.root = Li;
  t.nest.arrays = {"A", "x", "y"};
  t.bound.nest = &t.nest;
  t.bound.arrays["A"] = array(DType::Float64, {100, 100});
  t.bound.arrays["x"] = array(DType::Float64, {100});
  t.bound.arrays["y"] = array(DType::Float64, {100});
  t.bound.scalars["n"] = int_scalar(100);
  t.plan.loops = {loop_plan(*Li, LoopVerdict::Parallel), loop_plan(*Lj, LoopVerdict::Reduction)};
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.chain_ops, 100 * 100);  // one add on the path from x[i] to x[i]
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 0);
  EXPECT_EQ(w.reference_dims, 5);  // x[i] twice, A[i, j], y[j]
}

TEST(Work, ReadingAnotherElementOfTheWrittenArrayBlocksVectorisation) {
  // for j in range(n): A[i0, j] -= A[k0, j] * 0.5   (A written and read at another row)
  Nest t;
  Builder b;
  auto L = b.loop("j", I(0), N("n"), 0);
  L->body.push_back(b.aug(Sub1("A", {I(1), N("j")}), BinOp::Sub, Mul(Sub1("A", {I(0), N("j")}), F(0.5))));
  t.nest.root = L;
  t.nest.arrays = {"A"};
  t.bound.nest = &t.nest;
  t.bound.arrays["A"] = array(DType::Float64, {2, 64});
  t.bound.scalars["n"] = int_scalar(64);
  t.plan.loops = {loop_plan(*L, LoopVerdict::Parallel)};
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 0);
  EXPECT_DOUBLE_EQ(w.ops.flops(), 2 * 64);
}

TEST(Work, IndirectReferenceIsARandomAccess) {
  // for i in range(n): y[i] = x[idx[i]]   (a gather: its element is data)
  Nest t;
  Builder b;
  auto L = b.loop("i", I(0), N("n"), 0);
  L->body.push_back(b.assign(Sub1("y", {N("i")}), Sub1("x", {Sub1("idx", {N("i")})})));
  t.nest.root = L;
  t.nest.arrays = {"idx", "x", "y"};
  t.bound.nest = &t.nest;
  t.bound.arrays["x"] = array(DType::Float64, {5000});
  t.bound.arrays["y"] = array(DType::Float64, {1000});
  t.bound.arrays["idx"] = array(DType::Int32, {1000});
  t.bound.scalars["n"] = int_scalar(1000);
  t.plan.loops = {loop_plan(*L, LoopVerdict::Parallel)};
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_TRUE(w.ok()) << w.uncounted->reason;
  EXPECT_DOUBLE_EQ(w.ops.load, 2000);  // idx[i] and x[idx[i]]
  EXPECT_DOUBLE_EQ(w.ops.store, 1000);
  for (auto& a : w.arrays) {
    if (a.name == "x") {
      EXPECT_DOUBLE_EQ(a.footprint_bytes, 40000);        // any element: the whole array
      EXPECT_DOUBLE_EQ(a.cpu_traffic_bytes, 64 * 1000);  // a cache line per access
      EXPECT_DOUBLE_EQ(a.gpu_coalescing, 32.0 / 8);      // scattered along the threads
    } else {
      EXPECT_DOUBLE_EQ(a.gpu_coalescing, 1) << a.name;  // unit stride
      EXPECT_DOUBLE_EQ(a.footprint_bytes, a.name == "idx" ? 4000 : 8000) << a.name;
    }
  }
  EXPECT_DOUBLE_EQ(w.ops_vector.flops(), 0);
}

TEST(Work, UnknownBoundIsReported) {
  Nest t = saxpy(100);
  t.bound.scalars.erase("n");
  WorkProfile w = count_work(t.bound, t.plan);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.uncounted->code, DeclineCode::UnsupportedOperation);
  EXPECT_NE(w.uncounted->reason.find("loop 'i'"), std::string::npos) << w.uncounted->reason;
}

TEST(Work, JsonRoundTrip) {
  Nest t = gemm(32);
  WorkProfile w = count_work(t.bound, t.plan);
  WorkProfile r = work_profile_from_json(to_json(w));
  EXPECT_EQ(to_json(r).dump(), to_json(w).dump());
}

// ------------------------------------------------------------------ model

TEST(Model, PythonCostIsTheSumOfCalibratedOps) {
  Nest t = saxpy(1000);
  HostProfile h = fixed_host();
  CostEstimate e = price(count_work(t.bound, t.plan), h, profile("h100_sxm"), VariantFacts{});
  const VariantCost& py = e.cost(Variant::Python);
  // 1000 iterations, 1 range() call, 2000 binops, 2000 loads, 1000 stores + nest entry.
  double ns = 1000 + 1000 * 30 + 1 * 50 + 2000 * 20 + 2000 * 50 + 1000 * 60;
  EXPECT_NEAR(py.total(), ns * 1e-9, 1e-12);
}

// The engine's hook (binding, recording) comes before the loop on every
// variant: Python's price carries it as scheduling, beside the loop (a
// measured Python time replaces the loop only: test_cost_prices.py).
TEST(Model, PythonPaysTheEnginesHook) {
  Nest t = saxpy(1000);
  HostProfile h = fixed_host();
  const double loop =
      price(count_work(t.bound, t.plan), h, profile("h100_sxm"), VariantFacts{}).cost(Variant::Python).total();
  h.py_dispatch_us = 7;
  const VariantCost py =
      price(count_work(t.bound, t.plan), h, profile("h100_sxm"), VariantFacts{}).cost(Variant::Python);
  EXPECT_NEAR(py.scheduling, 7e-6, 1e-15);
  EXPECT_NEAR(py.total(), loop + 7e-6, 1e-15);
}

// for i in range(n): y[i] = <value(i)>, with x and y of `dtype` and the
// scalars a, b (Python floats): the interpreter's prices by operand kind.
Nest elementwise(int64_t n, DType dtype, ExprPtr value) {
  Nest t;
  Builder b;
  auto L = b.loop("i", I(0), N("n"), 0);
  L->body.push_back(b.assign(Sub1("y", {N("i")}), value));
  t.nest.root = L;
  t.nest.arrays = {"x", "y"};
  t.bound.nest = &t.nest;
  t.bound.arrays["x"] = array(dtype, {n});
  t.bound.arrays["y"] = array(dtype, {n});
  t.bound.scalars["n"] = int_scalar(n);
  t.bound.scalars["a"] = float_scalar(2.0);
  t.bound.scalars["b"] = float_scalar(3.0);
  t.plan.loops.push_back(loop_plan(*L, LoopVerdict::Parallel));
  return t;
}

HostProfile host_with_numpy_prices() {
  HostProfile h = fixed_host();
  h.py_float_binop_ns = 5;
  h.py_mixed_ns = 600;
  h.py_np_call_ns = 400;
  return h;
}

double python_seconds(const Nest& t, const HostProfile& h) {
  return price(count_work(t.bound, t.plan), h, profile("h100_sxm"), VariantFacts{}).cost(Variant::Python).total();
}

// a * x[i] + x[i] on float64 elements: both ops on NumPy float64 scalars.
// On float32 elements, a * x[i] mixes a Python float with a float32 scalar
// (NumPy's slow path, one py_mixed_ns more); its float64 result plus a
// float32 scalar is an ordinary op.
TEST(Model, PythonPricesANarrowNumpyScalarMixedWithAPythonNumber) {
  HostProfile h = host_with_numpy_prices();
  auto value = [] { return Add(Mul(N("a"), Sub1("x", {N("i")})), Sub1("x", {N("i")})); };
  Nest f64 = elementwise(1000, DType::Float64, value());
  Nest f32 = elementwise(1000, DType::Float32, value());
  WorkProfile w64 = count_work(f64.bound, f64.plan), w32 = count_work(f32.bound, f32.plan);
  EXPECT_DOUBLE_EQ(w64.ops.py_mixed, 0);
  EXPECT_DOUBLE_EQ(w64.ops.py_float, 0);
  EXPECT_DOUBLE_EQ(w32.ops.py_mixed, 1000);
  // 1000 iterations, 1 range() call, 2000 binops, 2000 loads, 1000 stores + nest entry.
  double ns = 1000 + 1000 * 30 + 1 * 50 + 2000 * 20 + 2000 * 50 + 1000 * 60;
  EXPECT_NEAR(python_seconds(f64, h), ns * 1e-9, 1e-12);
  EXPECT_NEAR(python_seconds(f32, h), (ns + 1000 * 600) * 1e-9, 1e-12);
}

// 255 - img[i] on uint8 elements (a Python int with a uint8 scalar) takes
// the slow path; img[i] + img[i] (the same dtype) does not.
TEST(Model, PythonPricesIntegerOpsByTheirScalarTypes) {
  Nest mixed = elementwise(100, DType::UInt8, Sub(I(255), Sub1("x", {N("i")})));
  Nest same = elementwise(100, DType::UInt8, Add(Sub1("x", {N("i")}), Sub1("x", {N("i")})));
  Nest i64 = elementwise(100, DType::Int64, Sub(I(255), Sub1("x", {N("i")})));
  Nest i64f = elementwise(100, DType::Int64, Mul(F(0.5), Sub1("x", {N("i")})));
  EXPECT_DOUBLE_EQ(count_work(mixed.bound, mixed.plan).ops.py_mixed, 100);
  EXPECT_DOUBLE_EQ(count_work(same.bound, same.plan).ops.py_mixed, 0);
  EXPECT_DOUBLE_EQ(count_work(i64.bound, i64.plan).ops.py_mixed, 0);
  EXPECT_DOUBLE_EQ(count_work(i64f.bound, i64f.plan).ops.py_mixed, 100);  // int64 with a Python float
  // int64 with a narrow integer: NumPy's path for two integer types, not the slow one.
  Nest count = elementwise(100, DType::Int64, Add(Sub1("x", {N("i")}), Sub1("y", {N("i")})));
  count.bound.arrays["y"] = array(DType::UInt8, {100});
  EXPECT_DOUBLE_EQ(count_work(count.bound, count.plan).ops.py_mixed, 0);
}

// a * b + a on Python floats: each op at py_float_binop_ns, not py_binop_ns.
TEST(Model, PythonFloatArithmeticIsCheaperThanNumpyScalars) {
  HostProfile h = host_with_numpy_prices();
  Nest t = elementwise(1000, DType::Float64, Add(Mul(N("a"), N("b")), N("a")));
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.ops.py_float, 2000);
  // 1000 iterations, 1 range() call, 2000 binops on Python floats, 1000 stores + nest entry.
  double ns = 1000 + 1000 * 30 + 1 * 50 + 2000 * 5 + 1000 * 60;
  EXPECT_NEAR(python_seconds(t, h), ns * 1e-9, 1e-12);
}

// np.sqrt(x[i]) calls NumPy on one number: py_np_call_ns instead of
// py_call_ns; math's sqrt stays a plain call. np.clip costs about 13 of them.
TEST(Model, PythonPricesNumpyFunctionsOnNumbers) {
  HostProfile h = host_with_numpy_prices();
  Nest np_sqrt = elementwise(1000, DType::Float64, Call("np.sqrt", {Sub1("x", {N("i")})}));
  Nest math_sqrt = elementwise(1000, DType::Float64, Call("sqrt", {Sub1("x", {N("i")})}));
  Nest clip = elementwise(1000, DType::Float64, Call("np.clip", {Sub1("x", {N("i")}), F(0.0), F(1.0)}));
  EXPECT_DOUBLE_EQ(count_work(np_sqrt.bound, np_sqrt.plan).ops.np_call, 1000);
  EXPECT_DOUBLE_EQ(count_work(math_sqrt.bound, math_sqrt.plan).ops.np_call, 0);
  EXPECT_DOUBLE_EQ(count_work(clip.bound, clip.plan).ops.np_call, 13000);
  // 1000 iterations, 1 range() call, 1000 loads, 1000 calls, 1000 stores + nest entry.
  double base = 1000 + 1000 * 30 + 1 * 50 + 1000 * 50 + 1000 * 60;
  EXPECT_NEAR(python_seconds(math_sqrt, h), (base + 1000 * 50) * 1e-9, 1e-12);
  EXPECT_NEAR(python_seconds(np_sqrt, h), (base + 1000 * 400) * 1e-9, 1e-12);
}

TEST(Model, CpuSerialRoofline) {
  Nest t = saxpy(1 << 20);
  HostProfile h = fixed_host();
  WorkProfile w = count_work(t.bound, t.plan);
  VariantFacts f;
  f.cpu_compiled = true;
  CostEstimate e = price(w, h, profile("h100_sxm"), f);
  const VariantCost& cs = e.cost(Variant::CpuSerial);
  // Memory: 3 x 8 bytes per element from DRAM (arrays exceed half of L2) at 10 GB/s.
  double mem = 24.0 * (1 << 20) / 10e9;
  EXPECT_NEAR(cs.compute, mem, 1e-9);
  EXPECT_EQ(cs.bound_by, "memory");
  EXPECT_DOUBLE_EQ(cs.compile, 0);
  EXPECT_NEAR(cs.scheduling, 10e-6, 1e-12);
}

// Arrays past half of L2 whose working set fits in half of L3 are served
// by L3, whose bandwidth grows with the cores; a larger working set streams
// from memory.
TEST(Model, WorkingSetsWithinL3AreServedFromIt) {
  HostProfile h = fixed_host();
  VariantFacts f;
  f.cpu_compiled = true;
  f.cpu_needs_snapshot = false;
  Nest in_l3 = saxpy(1 << 17);  // three 1 MiB arrays: 3 MiB, within half of the 8 MiB L3
  CostEstimate e = price(count_work(in_l3.bound, in_l3.plan), h, profile("h100_sxm"), f);
  const double bytes = 24.0 * (1 << 17);
  EXPECT_DOUBLE_EQ(e.cost(Variant::CpuSerial).details["bytes_l3"], bytes);
  EXPECT_DOUBLE_EQ(e.cost(Variant::CpuSerial).details["bytes_dram"], 0);
  EXPECT_NEAR(e.cost(Variant::CpuSerial).compute, bytes / 30e9, 1e-12);
  // Four threads: 4 x 30 GB/s, capped at the 90 GB/s all of them reach.
  EXPECT_NEAR(e.cost(Variant::CpuParallel).compute, bytes / 90e9, 1e-12);
  Nest in_dram = saxpy(1 << 20);  // 24 MiB
  e = price(count_work(in_dram.bound, in_dram.plan), h, profile("h100_sxm"), f);
  EXPECT_DOUBLE_EQ(e.cost(Variant::CpuSerial).details["bytes_l3"], 0);
  EXPECT_NEAR(e.cost(Variant::CpuSerial).compute, 24.0 * (1 << 20) / 10e9, 1e-9);
  EXPECT_NEAR(e.cost(Variant::CpuParallel).compute, 24.0 * (1 << 20) / 20e9, 1e-9);
}

TEST(Model, CpuParallelPaysForkJoinPerRegion) {
  Nest t = jacobi(20002, 50);
  HostProfile h = fixed_host();
  CostEstimate e = price(count_work(t.bound, t.plan), h, profile("h100_sxm"), VariantFacts{});
  const VariantCost& cp = e.cost(Variant::CpuParallel);
  EXPECT_NEAR(cp.scheduling, 10e-6 + 100 * 10e-6, 1e-12);
  EXPECT_EQ(cp.details["threads"], 4);
}

// The first region of a run wakes sleeping workers; right after another
// parallel loop they still spin, and it costs what the following ones do.
TEST(Model, TheFirstRegionWakesTheWorkersUnlessTheyAreAwake) {
  Nest t = jacobi(20002, 50);
  HostProfile h = fixed_host();
  h.fork_join_cold_us = 40;
  WorkProfile w = count_work(t.bound, t.plan);
  VariantFacts asleep, awake;
  awake.workers_awake = true;
  const double base = price(w, h, profile("h100_sxm"), asleep).cost(Variant::CpuSerial).scheduling;
  EXPECT_NEAR(price(w, h, profile("h100_sxm"), asleep).cost(Variant::CpuParallel).scheduling,
              base + (40 + 99 * 10) * 1e-6, 1e-12);
  EXPECT_NEAR(price(w, h, profile("h100_sxm"), awake).cost(Variant::CpuParallel).scheduling, base + 100 * 10 * 1e-6,
              1e-12);
  // Other work holding the cores: every region waits for one, awake or not.
  awake.cores_free = 2;
  EXPECT_NEAR(price(w, h, profile("h100_sxm"), awake).cost(Variant::CpuParallel).scheduling,
              base + (40 + 99 * h.fork_join_busy_us) * 1e-6, 1e-12);
}

// A region too short to pay for the fork/join runs on the calling thread
// (analysis::parallel_region_pays): priced as serial work, no fork/join.
TEST(Model, ShortCpuRegionsRunOnTheCallingThread) {
  Nest t = jacobi(1002, 50);
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.cpu_regions, 0);
  EXPECT_DOUBLE_EQ(w.cpu_inline_regions, 100);
  EXPECT_DOUBLE_EQ(w.parallel_fraction, 0);
  HostProfile h = fixed_host();
  CostEstimate e = price(w, h, profile("h100_sxm"), VariantFacts{});
  const VariantCost& cp = e.cost(Variant::CpuParallel);
  const VariantCost& cs = e.cost(Variant::CpuSerial);
  EXPECT_TRUE(cp.available());
  EXPECT_NEAR(cp.scheduling, cs.scheduling + 100 * 0.02e-6, 1e-15);  // 20 ns a region run in place
  EXPECT_NEAR(cp.compute, cs.compute, 1e-15);
  EXPECT_EQ(cp.details["inline_regions"], 100);
  if (e.choice == Variant::CpuSerial) {
    EXPECT_NE(e.reason.find("too little work"), std::string::npos) << e.reason;
  }
  VariantFacts compiled;
  compiled.cpu_compiled = true;
  compiled.expected_runs = 1000;
  CostEstimate ec = price(w, h, profile("h100_sxm"), compiled);
  EXPECT_EQ(ec.choice, Variant::CpuSerial) << ec.reason;
  EXPECT_NE(ec.reason.find("too little work to be worth waking other threads"), std::string::npos) << ec.reason;
  // The region's work at its entry, as the CPU variant computes it there:
  // 1000 iterations of 1 + 13 operations, and 1000 of 1 + 3.
  EXPECT_DOUBLE_EQ(loopscope::analysis::statement_ops(*t.nest.root->body[0]->body[0]), 13);
  EXPECT_FALSE(loopscope::analysis::parallel_region_pays(1000 * 14));
  EXPECT_TRUE(loopscope::analysis::parallel_region_pays(20000 * 14));
}

TEST(Model, CompileTimeIsAmortised) {
  Nest t = saxpy(1000);
  HostProfile h = fixed_host();
  VariantFacts f;
  f.cpu_compile_s = 0.01;
  f.expected_runs = 10;
  CostEstimate e = price(count_work(t.bound, t.plan), h, profile("h100_sxm"), f);
  EXPECT_NEAR(e.cost(Variant::CpuSerial).compile, 0.001, 1e-12);
}

TEST(Model, CompileEstimateFollowsTheCodeGeneratorsTiers) {
  HostProfile h = fixed_host();
  // Brief run: quick code (1.5 ms + 0.5 ms a loop + 0.2 ms a subscript
  // dimension) plus eleven times the compute time (quick code is about 6
  // times slower on scalar loops, 12 times on a loop O3 vectorises).
  Nest small = saxpy(1 << 16);
  WorkProfile ws = count_work(small.bound, small.plan);
  CostEstimate es = price(ws, h, profile("h100_sxm"), VariantFacts{});
  const VariantCost& ss = es.cost(Variant::CpuSerial);
  EXPECT_NEAR(cpu_compute_seconds(ws, h, false, 1), ss.compute, 1e-15);
  CpuTierChoice ts = cpu_tier_choice(ws, h, ss.compute);
  ASSERT_TRUE(ts.quick);
  double dims = ws.reference_dims;
  EXPECT_NEAR(ts.quick_compile_s, 0.0015 + 0.0005 + 0.0002 * dims, 1e-12);
  EXPECT_NEAR(ts.quick_extra_s, 11 * ss.compute, 1e-12);  // saxpy calls no libm function
  EXPECT_NEAR(ss.compile, ts.quick_compile_s + ts.quick_extra_s, 1e-12);
  // Long run: optimised code at once (10 ms + 5 ms a loop + 1 ms a dimension).
  Nest big = saxpy(1 << 24);
  WorkProfile wb = count_work(big.bound, big.plan);
  CostEstimate eb = price(wb, h, profile("h100_sxm"), VariantFacts{});
  const VariantCost& sb = eb.cost(Variant::CpuSerial);
  CpuTierChoice tb = cpu_tier_choice(wb, h, sb.compute);
  ASSERT_FALSE(tb.quick);
  EXPECT_NEAR(sb.compile, 0.010 + 0.005 + 0.001 * wb.reference_dims, 1e-12);
  // The choice is the cheaper first run
  EXPECT_LE(ts.quick_compile_s + ts.quick_extra_s, ts.optimised_compile_s);
  EXPECT_GT(tb.quick_compile_s + tb.quick_extra_s, tb.optimised_compile_s);
}

TEST(Model, QuickCodeCostsMoreOnLoopsO3Vectorises) {
  HostProfile h = fixed_host();
  // saxpy over 10^6 doubles: 2.4 ms of O3 compute (memory bound), every
  // operation in a vectorisable loop, 4 doubles a vector (AVX2). Quick
  // code's 6 * (1 + 4 / 4) = 12 times (26.4 ms more)
  // costs more than waiting for O3 (10 + 5 + 3 ms against 1.5 + 0.5 + 0.6
  // ms): O3 at once. At 5 times (the old price, 9.6 ms more) it ran quick
  // code, whose second run was then 10 to 50 times slower than O3.
  Nest big = saxpy(1000000);
  WorkProfile w = count_work(big.bound, big.plan);
  ASSERT_EQ(w.reference_dims, 3);
  const double compute = 0.0024;
  CpuTierChoice vec = cpu_tier_choice(w, h, compute);
  EXPECT_FALSE(vec.quick);
  EXPECT_NEAR(vec.quick_extra_s, 11 * compute, 1e-12);
  EXPECT_GT(vec.quick_compile_s + vec.quick_extra_s, vec.optimised_compile_s);
  EXPECT_GT(vec.quick_extra_s, 4 * compute + 1e-6);
  // The same compute in loops O3 cannot vectorise: 6 times, 12 ms more,
  // still below the 15.4 ms O3 would add: quick code.
  WorkProfile scalar = w;
  scalar.ops_vector = OpCounts{};
  CpuTierChoice sc = cpu_tier_choice(scalar, h, compute);
  EXPECT_TRUE(sc.quick);
  EXPECT_NEAR(sc.quick_extra_s, 5 * compute, 1e-12);
  // Wider vectors, a wider gap: on AVX-512 (8 doubles) quick code is priced
  // 6 * (1 + 8 / 4) = 18 times slower.
  HostProfile wide = h;
  wide.simd_bits = 512;
  EXPECT_NEAR(cpu_tier_choice(w, wide, compute).quick_extra_s, 17 * compute, 1e-12);
  EXPECT_NEAR(cpu_tier_choice(scalar, wide, compute).quick_extra_s, 5 * compute, 1e-12);
  // A short vectorisable nest still runs quick code first.
  Nest small = saxpy(1 << 14);
  WorkProfile ws = count_work(small.bound, small.plan);
  CpuTierChoice brief = cpu_tier_choice(ws, h, 0.0001);
  EXPECT_TRUE(brief.quick);
  EXPECT_NEAR(brief.quick_extra_s, 11 * 0.0001, 1e-12);
}

TEST(Model, GpuWithoutDeviceIsPricedButNotChosen) {
  Nest t = gemm(512);
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_available = false;
  CostEstimate e = estimate(t.bound, t.plan, h, profile("h100_sxm"), f, false);
  const VariantCost& gp = e.cost(Variant::Gpu);
  EXPECT_FALSE(gp.available());
  EXPECT_GT(gp.total(), 0);
  EXPECT_LT(gp.total(), e.cost(Variant::CpuParallel).total());  // it would win
  EXPECT_EQ(e.choice, Variant::CpuParallel);
  EXPECT_NE(e.reason.find("no GPU"), std::string::npos) << e.reason;
  f.gpu_available = true;
  e = estimate(t.bound, t.plan, h, profile("h100_sxm"), f, false);
  EXPECT_EQ(e.choice, Variant::Gpu) << e.reason;
  EXPECT_EQ(e.reason.rfind("runs on the GPU", 0), 0u) << e.reason;
}

TEST(Model, SmallSaxpyStaysOffTheGpuBecauseOfTransfers) {
  Nest t = saxpy(1000);
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_available = true;
  CostEstimate e = estimate(t.bound, t.plan, h, profile("h100_sxm"), f, false);
  EXPECT_NE(e.choice, Variant::Gpu);
  const VariantCost& gp = e.cost(Variant::Gpu);
  // 16 KB in (x, y), 8 KB out (y): 3 copies.
  EXPECT_DOUBLE_EQ(gp.details["bytes_in"].get<double>(), 16000);
  EXPECT_DOUBLE_EQ(gp.details["bytes_out"].get<double>(), 8000);
  GpuProfile g = profile("h100_sxm");
  EXPECT_NEAR(gp.transfer, gpu_transfer_seconds(g, 16000, 2) + gpu_transfer_seconds(g, 8000, 1), 1e-12);
  EXPECT_NEAR(gp.scheduling, g.launch_overhead_us * 1e-6 + h.native_call_us * 1e-6, 1e-12);
}

TEST(Model, StarvationWithFewThreads) {
  // The same total work spread over fewer threads takes longer on the GPU.
  HostProfile h = fixed_host();
  GpuProfile g = profile("a100_sxm");
  VariantFacts f;
  f.gpu_available = true;
  Nest wide = gemm(256);
  CostEstimate e1 = estimate(wide.bound, wide.plan, h, g, f, false);
  double u1 = e1.cost(Variant::Gpu).details["alu_utilisation"].get<double>();
  Nest narrow = gemm(16);
  CostEstimate e2 = estimate(narrow.bound, narrow.plan, h, g, f, false);
  double u2 = e2.cost(Variant::Gpu).details["alu_utilisation"].get<double>();
  EXPECT_LT(u2, u1);
  EXPECT_NEAR(u2, 256.0 / (108 * 4 * 4 * 32), 1e-9);  // 256 threads on 108 SMs x 4 schedulers x 4 warps
}

TEST(Model, RegistersReduceOccupancyInTheEstimate) {
  Nest t = gemm(256);
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_registers_per_thread = 128;
  CostEstimate e = estimate(t.bound, t.plan, h, profile("h100_sxm"), f, false);
  EXPECT_DOUBLE_EQ(e.cost(Variant::Gpu).details["occupancy"].get<double>(), 0.25);
}

TEST(Model, SequentialNestOnlyRunsSerially) {
  Nest t = saxpy(100000);
  t.plan.loops[0].verdict = LoopVerdict::Sequential;
  t.plan.loops[0].reasons = {"y[i] depends on y[i-1]"};
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_available = true;
  CostEstimate e = estimate(t.bound, t.plan, h, profile("h100_sxm"), f, false);
  EXPECT_FALSE(e.cost(Variant::CpuParallel).available());
  EXPECT_FALSE(e.cost(Variant::Gpu).available());
  EXPECT_EQ(e.choice, Variant::CpuSerial);
  EXPECT_NE(e.reason.find("depends on"), std::string::npos) << e.reason;
}

TEST(Model, DeclinedPlanRunsInPython) {
  Nest t = saxpy(100000);
  t.plan.decline = Decline{DeclineCode::SubscriptRange, 3, "a subscript may be out of range"};
  CostEstimate e = estimate(t.bound, t.plan, fixed_host(), profile("h100_sxm"), VariantFacts{}, false);
  EXPECT_EQ(e.choice, Variant::Python);
  EXPECT_NE(e.reason.find("out of range"), std::string::npos);
}

TEST(Model, SweepFindsGpuCrossover) {
  Nest t = gemm(128);
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_available = true;
  CostEstimate e = estimate(t.bound, t.plan, h, profile("rtx_4090"), f, true);
  ASSERT_GE(e.sweep.size(), 5u);
  for (size_t k = 1; k < e.sweep.size(); ++k) {
    EXPECT_GT(e.sweep[k].size, e.sweep[k - 1].size);
    EXPECT_GT(e.sweep[k].python, e.sweep[k - 1].python);
  }
  ASSERT_TRUE(e.gpu_crossover.has_value());
  EXPECT_GT(*e.gpu_crossover, e.sweep.front().size);
  EXPECT_LT(*e.gpu_crossover, e.sweep.back().size);
  nlohmann::json j = to_json(e);
  EXPECT_EQ(j["variants"].size(), 4u);
  EXPECT_EQ(j["sweep"].size(), e.sweep.size());
  EXPECT_TRUE(j["gpu_crossover"].is_number());
  EXPECT_EQ(j["size_label"], "n");
}

// One count priced on every profile gives the estimates that counting for
// each profile gives: the same JSON, with and without the sweep, with and
// without a decline, for counts made with the sweep or given it later.
TEST(Model, OneCountPricesEveryProfileAsEstimateDoes) {
  HostProfile h = fixed_host();
  VariantFacts f;
  f.gpu_available = true;
  f.gpu_registers_per_thread = 48;
  std::vector<Nest> nests;
  nests.push_back(saxpy(100000));
  nests.push_back(gemm(96));
  nests.push_back(triangle(300));
  nests.push_back(jacobi(2000, 10));
  for (auto& t : nests) {
    t.bound.nest = &t.nest;
    for (bool declined : {false, true}) {
      ParallelPlan plan = t.plan;
      if (declined) plan.decline = Decline{DeclineCode::SubscriptRange, 1, "a subscript may be out of range"};
      NestWork swept = count_nest(t.bound, plan, true);
      NestWork later = count_nest(t.bound, plan, false);
      EXPECT_FALSE(later.swept);
      add_sweep(later, t.bound, plan);
      EXPECT_TRUE(later.swept);
      for (const auto& name : list_gpu_profiles(share())) {
        GpuProfile g = profile(name);
        for (bool sweep : {true, false}) {
          nlohmann::json want = to_json(estimate(t.bound, plan, h, g, f, sweep));
          EXPECT_EQ(to_json(price_nest(swept, plan.decline, h, g, f, sweep)), want) << name;
          EXPECT_EQ(to_json(price_nest(later, plan.decline, h, g, f, sweep)), want) << name;
        }
      }
    }
  }
}

TEST(Work, KeyNamesWhatTheCountReads) {
  Nest t = saxpy(1000);
  std::string k = work_key(t.bound);
  EXPECT_EQ(work_key(t.bound), k);
  Nest u = saxpy(1000);
  u.bound.nest = &t.nest;
  u.bound.scalars["a"] = float_scalar(-7.5);  // a float value is not counted
  u.bound.arrays["x"].data = &u;              // nor where an array is
  EXPECT_EQ(work_key(u.bound), k);
  EXPECT_EQ(to_json(count_work(u.bound, t.plan)), to_json(count_work(t.bound, t.plan)));
  auto changed = [&](auto change) {
    Nest v = saxpy(1000);
    v.bound.nest = &t.nest;
    change(v.bound);
    return work_key(v.bound) != k;
  };
  EXPECT_TRUE(changed([](BoundNest& b) { b.scalars["n"] = int_scalar(999); }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.scalars["a"] = int_scalar(2); }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.scalars["m"] = int_scalar(1); }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.arrays["x"] = array(DType::Float32, {1000}); }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.arrays["x"] = array(DType::Float64, {1001}); }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.arrays["x"].strides = {16}; }));
  EXPECT_TRUE(changed([](BoundNest& b) { b.nest = nullptr; }));
}

TEST(Format, Units) {
  EXPECT_EQ(format_bytes(24000), "24 KB");
  EXPECT_EQ(format_seconds(0.0012), "1.20 ms");  // as the report's tables (_report.fmt_seconds)
  EXPECT_EQ(format_seconds(1.5), "1.50 s");
  EXPECT_EQ(format_seconds(4e-8), "40 ns");
  EXPECT_EQ(format_seconds(3.4e-4), "340.0 \u00b5s");
  EXPECT_EQ(format_seconds(2.6e-3), "2.60 ms");
}

// ------------------------------------------------------------------- host

TEST(Host, DetectsThisMachine) {
  HostProfile h = detect_host();
  EXPECT_GE(h.cores, 1);
  EXPECT_GE(h.simd_bits, 128);
  EXPECT_GT(h.l1d_bytes, 0);
  EXPECT_GT(h.clock_ghz, 0.1);
}

TEST(Host, ResidentFractionSeesFreshPages) {
  // Mapped and never touched: no page in memory; written: all of them.
  const size_t bytes = 1 << 20;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(resident_fraction(p, bytes), 0.0);
  std::memset(p, 1, bytes / 2);
  EXPECT_NEAR(resident_fraction(p, bytes), 0.5, 0.01);
  std::memset(p, 1, bytes);
  EXPECT_EQ(resident_fraction(p, bytes), 1.0);
  munmap(p, bytes);
  EXPECT_EQ(resident_fraction(nullptr, 8), 1.0);  // nothing to ask: in memory
}

// How long a calibration takes is printed by
// bench/validate_costmodel_corpus.py --recalibrate, not checked here: a time
// limit fails on a loaded machine or under a sanitizer.
TEST(Host, CalibrationIsCached) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("loopscope-cm-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const char* old = std::getenv("XDG_CACHE_HOME");
  std::string saved = old ? old : "";
  setenv("XDG_CACHE_HOME", dir.c_str(), 1);
  EXPECT_EQ(cache_dir(), (dir / "loopscope").string());
  HostProfile h = host_profile(false);
  EXPECT_TRUE(h.calibrated);
  EXPECT_EQ(h.source, "calibrated");
  EXPECT_GT(h.dram_bandwidth_gbs, 0.5);
  EXPECT_GT(h.add_latency_ns, h.add_ns * 0.9);  // a dependent chain is not faster than independent adds
  EXPECT_GT(h.exp_ns, h.add_ns);
  EXPECT_GT(h.fork_join_us, 0);
  EXPECT_TRUE(fs::exists(host_cache_path()));
  HostProfile again = host_profile(false);
  EXPECT_EQ(again.source.rfind("cache:", 0), 0u);
  EXPECT_DOUBLE_EQ(again.dram_bandwidth_gbs, h.dram_bandwidth_gbs);
  EXPECT_TRUE(again.l3_calibrated);
  EXPECT_DOUBLE_EQ(again.l3_bandwidth_all_gbs, h.l3_bandwidth_all_gbs);
  // A profile cached before the L3 figures is completed (and saved again)
  // at the next start, its other figures kept.
  {
    nlohmann::json j = to_json(h);
    j.erase("l3_bandwidth_gbs");
    j.erase("l3_bandwidth_all_gbs");
    j["l3_calibrated"] = false;
    j["format"] = 1;
    std::ofstream(host_cache_path()) << j.dump();
  }
  HostProfile completed = host_profile(false);
  EXPECT_TRUE(completed.l3_calibrated);
  EXPECT_GE(completed.l3_bandwidth_gbs, completed.dram_bandwidth_gbs);
  EXPECT_DOUBLE_EQ(completed.add_ns, h.add_ns);
  EXPECT_TRUE(host_profile(false).l3_calibrated);
  HostProfile re = host_profile(true);
  EXPECT_EQ(re.source, "calibrated");
  fs::remove_all(dir);
  if (old)
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
}

TEST(Model, CpuRunsWithChecksPayTheirSnapshot) {
  // The CPU variant saves what the nest can write before a run with checks:
  // priced as the CPU variants' copies (transfer), proportional to the write
  // extent, not to the array.
  Nest t = saxpy(1 << 20);
  t.plan.write_extents["y"] = ByteExtent{0, 3 * 8};  // three elements of 8 MB
  HostProfile h = fixed_host();
  VariantFacts f;
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.snapshot_bytes, 24);
  CostEstimate e = price(w, h, profile("h100_sxm"), f);
  EXPECT_NEAR(e.cost(Variant::CpuSerial).transfer, 2 * 24 / (h.cache_bandwidth_gbs * 1e9), 1e-15);
  t.plan.write_extents["y"] = ByteExtent{0, 8 << 20};  // all of it
  w = count_work(t.bound, t.plan);
  e = price(w, h, profile("h100_sxm"), f);
  EXPECT_NEAR(e.cost(Variant::CpuParallel).transfer, 2.0 * (8 << 20) / (h.dram_bandwidth_all_gbs * 1e9), 1e-12);
  f.cpu_needs_snapshot = false;  // a variant without checks copies nothing
  e = price(w, h, profile("h100_sxm"), f);
  EXPECT_EQ(e.cost(Variant::CpuSerial).transfer, 0);
  EXPECT_EQ(e.cost(Variant::CpuParallel).transfer, 0);
}

TEST(Model, RegionsWaitForBusyCores) {
  // A time-stepped loop of many short parallel regions: idle cores make the
  // parallel variant cheaper; when other work holds the cores (fewer free
  // than threads) each region waits about a scheduler time slice, and the
  // serial variant wins.
  Nest t = jacobi(100002, 200);
  HostProfile h = fixed_host();
  VariantFacts idle;
  idle.cpu_compiled = true;
  idle.cores_free = 4;
  WorkProfile w = count_work(t.bound, t.plan);
  CostEstimate e = price(w, h, profile("h100_sxm"), idle);
  EXPECT_EQ(e.choice, Variant::CpuParallel);
  EXPECT_FALSE(e.cost(Variant::CpuParallel).details["contended"].get<bool>());
  // A tenth of a core busy on average (work in bursts): the regions do not
  // wait for it.
  VariantFacts bursts = idle;
  bursts.cores_free = 3.9;
  e = price(w, h, profile("h100_sxm"), bursts);
  EXPECT_FALSE(e.cost(Variant::CpuParallel).details["contended"].get<bool>());
  EXPECT_EQ(e.choice, Variant::CpuParallel);
  VariantFacts busy = idle;
  busy.cores_free = 1.5;
  e = price(w, h, profile("h100_sxm"), busy);
  const VariantCost& cp = e.cost(Variant::CpuParallel);
  EXPECT_TRUE(cp.details["contended"].get<bool>());
  EXPECT_NEAR(cp.scheduling - e.cost(Variant::CpuSerial).scheduling,
              (h.fork_join_cold_us + (w.cpu_regions - 1) * h.fork_join_busy_us) * 1e-6, 1e-9);
  EXPECT_EQ(e.choice, Variant::CpuSerial);
}

// ---- integer divides, data branches, NumPy scalar inputs, draws (docs/costmodel.md) ----

StmtPtr if_stmt(Builder& b, ExprPtr cond, std::vector<StmtPtr> body, bool is_while = false) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::If;
  s->id = b.next_id++;
  s->cond = cond;
  s->body = std::move(body);
  s->is_while = is_while;
  return s;
}

// for i in range(n): <body(b)>, over x (float64) and k (int64) of n elements.
template <class F>
Nest one_loop(int64_t n, F body) {
  Nest t;
  Builder b;
  auto L = b.loop("i", I(0), N("n"), 0);
  for (auto& s : body(b)) L->body.push_back(s);
  t.nest.root = L;
  t.nest.arrays = {"x", "k"};
  t.bound.nest = &t.nest;
  t.bound.arrays["x"] = array(DType::Float64, {n});
  t.bound.arrays["k"] = array(DType::Int64, {n});
  t.bound.scalars["n"] = int_scalar(n);
  t.bound.scalars["m"] = int_scalar(7);
  t.plan.loops.push_back(loop_plan(*L, LoopVerdict::Sequential));
  return t;
}

HostProfile host_with_divides() {
  HostProfile h = fixed_host();
  h.idiv_ns = 8;
  h.idiv_latency_ns = 12;
  h.idiv_const_ns = 1;
  h.idiv_const_latency_ns = 4;
  h.branch_miss_ns = 6;
  return h;
}

TEST(Work, IntegerFloorDivisionAndModuloAreDivides) {
  // for i in range(n): s = (s + k[i]) % m; t = k[i] // 10: a modulo by a
  // run-time divisor on a loop-carried chain, a division by a constant.
  Nest t = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{b.assign(N("s"), B(BinOp::Mod, Add(N("s"), Sub1("k", {N("i")})), N("m"))),
                                b.assign(N("t"), B(BinOp::FloorDiv, Sub1("k", {N("i")}), I(10)))};
  });
  t.bound.scalars["s"] = int_scalar(0);
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.ops.idiv, 2000);
  EXPECT_DOUBLE_EQ(w.ops.idiv_const, 1000);
  EXPECT_DOUBLE_EQ(w.ops.intop, 1000);  // s + k[i]
  // The chain through s waits for each modulo.
  EXPECT_DOUBLE_EQ(w.ops_recurrence.idiv, 1000);
  EXPECT_DOUBLE_EQ(w.ops_recurrence.idiv_const, 0);
  HostProfile h = host_with_divides();
  VariantFacts f;
  f.cpu_compiled = true;
  CostEstimate e = price(w, h, profile("h100_sxm"), f);
  const auto& cs = e.cost(Variant::CpuSerial);
  EXPECT_EQ(cs.bound_by, "latency");
  EXPECT_GE(cs.compute, 1000 * 12e-9);  // at least the modulo chain's latency
  // The interpreter prices // and % as integer operations.
  WorkProfile json_round = work_profile_from_json(to_json(w));
  EXPECT_DOUBLE_EQ(json_round.ops.idiv, 2000);
  EXPECT_DOUBLE_EQ(json_round.ops.idiv_const, 1000);
}

TEST(Work, WhileLoopBodyIsARecurrence) {
  // for i in range(n): x = k[i]; y = m; while y: x, y = y, x % y  (gcd)
  Nest t = one_loop(100, [](Builder& b) {
    auto w = if_stmt(
        b, N("y"),
        {b.assign(N("t"), N("y")), b.assign(N("y"), B(BinOp::Mod, N("x"), N("y"))), b.assign(N("x"), N("t"))}, true);
    return std::vector<StmtPtr>{b.assign(N("x"), Sub1("k", {N("i")})), b.assign(N("y"), N("m")), w};
  });
  WorkProfile w = count_work(t.bound, t.plan);
  // 16 passes (the while guess) of one modulo on the chain, for 100 i.
  EXPECT_DOUBLE_EQ(w.ops.idiv, 1600);
  EXPECT_DOUBLE_EQ(w.ops_recurrence.idiv, 1600);
  // The loop's exit is mispredicted once per run.
  EXPECT_DOUBLE_EQ(w.ops.branch_miss, 100);
}

TEST(Work, BranchOnDataIsMispredictedHalfTheTime) {
  // if x[i] > 0: c = c + 1        -> a branch (integer add: overflow check)
  Nest counted = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{
        if_stmt(b, Cmp({CmpOp::Gt}, {Sub1("x", {N("i")}), F(0)}), {b.assign(N("c"), Add(N("c"), I(1)))})};
  });
  counted.bound.scalars["c"] = int_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(counted.bound, counted.plan).ops.branch_miss, 500);
  // if x[i] < lo: lo = x[i]       -> a running minimum: predicted
  Nest running = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{
        if_stmt(b, Cmp({CmpOp::Lt}, {Sub1("x", {N("i")}), N("lo")}), {b.assign(N("lo"), Sub1("x", {N("i")}))})};
  });
  running.bound.scalars["lo"] = float_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(running.bound, running.plan).ops.branch_miss, 0);
  // if x[i] > 0: s = s + x[i]     -> a select (float add of an element the condition read)
  Nest select = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{if_stmt(b, Cmp({CmpOp::Gt}, {Sub1("x", {N("i")}), F(0)}),
                                        {b.assign(N("s"), Add(N("s"), Sub1("x", {N("i")})))})};
  });
  select.bound.scalars["s"] = float_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(select.bound, select.plan).ops.branch_miss, 0);
  // if i % 2 == 0: ...            -> the counter knows the condition: no miss
  Nest known = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{
        if_stmt(b, Cmp({CmpOp::Eq}, {B(BinOp::Mod, N("i"), I(2)), I(0)}), {b.assign(N("c"), Add(N("c"), I(1)))})};
  });
  known.bound.scalars["c"] = int_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(known.bound, known.plan).ops.branch_miss, 0);
  // if x[i] < 0: x[i] = 0.0      -> a select of what is stored (relu)
  Nest relu = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{
        if_stmt(b, Cmp({CmpOp::Lt}, {Sub1("x", {N("i")}), F(0)}), {b.assign(Sub1("x", {N("i")}), F(0))})};
  });
  EXPECT_DOUBLE_EQ(count_work(relu.bound, relu.plan).ops.branch_miss, 0);
  // l = i * 7 % m; if l > 3: c = c + 1   -> reads no array: a pattern, not data
  Nest pattern = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{b.assign(N("l"), B(BinOp::Mod, Mul(N("i"), I(7)), N("m"))),
                                if_stmt(b, Cmp({CmpOp::Gt}, {N("l"), I(3)}), {b.assign(N("c"), Add(N("c"), I(1)))})};
  });
  pattern.bound.scalars["c"] = int_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(pattern.bound, pattern.plan).ops.branch_miss, 0);
  // v = k[i] * 2; if v > 3: c = c + 1    -> reads an element through a name
  Nest through = one_loop(1000, [](Builder& b) {
    return std::vector<StmtPtr>{b.assign(N("v"), Mul(Sub1("k", {N("i")}), I(2))),
                                if_stmt(b, Cmp({CmpOp::Gt}, {N("v"), I(3)}), {b.assign(N("c"), Add(N("c"), I(1)))})};
  });
  through.bound.scalars["c"] = int_scalar(0);
  EXPECT_DOUBLE_EQ(count_work(through.bound, through.plan).ops.branch_miss, 500);
  // Each miss costs branch_miss_ns on one core.
  HostProfile h = host_with_divides();
  VariantFacts f;
  f.cpu_compiled = true;
  WorkProfile w = count_work(counted.bound, counted.plan);
  WorkProfile w0 = w;
  w0.ops.branch_miss = 0;
  double with = price(w, h, profile("h100_sxm"), f).cost(Variant::CpuSerial).details["arith_s"].get<double>();
  double without = price(w0, h, profile("h100_sxm"), f).cost(Variant::CpuSerial).details["arith_s"].get<double>();
  EXPECT_NEAR(with - without, 500 * 6e-9, 1e-12);
}

TEST(Model, NumpyScalarInputIsPricedByItsType) {
  // for i in range(n): y[i] = x[i] * a, float32 elements: `a` a Python float
  // (NumPy's slow path) or an np.float32 (its own dtype: the fast path).
  Nest t = elementwise(1000, DType::Float32, Mul(Sub1("x", {N("i")}), N("a")));
  EXPECT_DOUBLE_EQ(count_work(t.bound, t.plan).ops.py_mixed, 1000);
  t.bound.scalars["a"].numpy = true;
  t.bound.scalars["a"].numpy_dtype = DType::Float32;
  EXPECT_DOUBLE_EQ(count_work(t.bound, t.plan).ops.py_mixed, 0);
  // The count's key tells them apart.
  Nest p = elementwise(1000, DType::Float32, Mul(Sub1("x", {N("i")}), N("a")));
  EXPECT_NE(work_key(t.bound), work_key(p.bound));
}

TEST(Model, DrawsAreAComponentOfNativeVariants) {
  // One draw site of 1000 numbers: the hidden array $draws_0.
  Nest t = elementwise(1000, DType::Float64, Sub1("$draws_0", {N("i")}));
  t.nest.arrays.push_back("$draws_0");
  t.bound.arrays["$draws_0"] = array(DType::Float64, {1000});
  WorkProfile w = count_work(t.bound, t.plan);
  EXPECT_DOUBLE_EQ(w.draws, 1000);
  EXPECT_DOUBLE_EQ(count_work(t.bound, t.plan, 2.0).draws, 2000);  // scaled with the sizes
  VariantFacts f;
  f.cpu_compiled = true;
  f.draw_ns = 5;
  f.draw_setup_us = 20;
  CostEstimate e = price(w, fixed_host(), profile("h100_sxm"), f);
  EXPECT_NEAR(e.cost(Variant::CpuSerial).draws, 1000 * 5e-9 + 20e-6, 1e-15);
  EXPECT_NEAR(e.cost(Variant::Gpu).draws, 1000 * 5e-9 + 20e-6, 1e-15);
  EXPECT_DOUBLE_EQ(e.cost(Variant::Python).draws, 0);
  const auto& cs = e.cost(Variant::CpuSerial);
  EXPECT_NEAR(cs.total(), cs.scheduling + cs.transfer + cs.compute + cs.compile + cs.draws, 1e-15);
  EXPECT_NEAR(to_json(e)["variants"][1]["draws"].get<double>(), cs.draws, 1e-15);
}
