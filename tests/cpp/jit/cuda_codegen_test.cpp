// CUDA generation, NVRTC and the emulator on hand-built nests. Every program
// runs in the emulator and is compared with a reference computed here with
// the same floating-point operations in the same order.
#include <gtest/gtest.h>

#include <iostream>

#include <cctype>
#include <cmath>
#include <cstring>

#include "cuda_test_util.hpp"
#include <chrono>
#include <thread>

#include "loopscope/jit/cpu.hpp"
#include "loopscope/jit/cuda_codegen.hpp"
#include "loopscope/jit/cuda_driver.hpp"
#include "loopscope/jit/cuda_nvrtc.hpp"
#include "loopscope/jit/cuda_runtime.hpp"
#include "loopscope/analysis/exactness.hpp"

using namespace cudatest;
using namespace loopscope::jit;

namespace {

LoopNest nest_of(StmtPtr root, std::string source = "", int first_line = 1) {
  LoopNest n;
  n.root = root;
  n.source = source;
  n.first_line = first_line;
  return n;
}

// NVRTC is loaded at run time; where none is installed the checks that need
// it are skipped (the test is marked so), the rest of the test goes on.
bool have_nvrtc() {
  if (nvrtc_library().available) return true;
  std::cerr << "NVRTC not found: " << nvrtc_library().error << "\n";
  return false;
}

void expect_nvrtc_ok(const CudaProgram& p) {
  if (!have_nvrtc()) GTEST_SKIP() << "no NVRTC";
  for (const char* arch : {"sm_80", "sm_90"}) {
    NvrtcOutput ptx = nvrtc_compile(p.source, arch, false);
    ASSERT_TRUE(ptx.ok) << ptx.error;
    EXPECT_NE(ptx.ptx.find(".entry"), std::string::npos);
    NvrtcOutput bin = nvrtc_compile(p.source, arch, true);
    ASSERT_TRUE(bin.ok) << bin.error;
    EXPECT_GT(bin.cubin.size(), 100u);
    for (auto& k : p.kernels) {
      ASSERT_TRUE(bin.resources.count(k.name)) << k.name;
      EXPECT_GT(bin.resources.at(k.name).registers, 0) << k.name;
    }
  }
}

}  // namespace

TEST(CudaCodegen, SaxpyOnGridAndEmulator) {
  use_test_cache();
  // for i in range(n): y[i] = a * x[i] + y[i]
  auto body =
      Assign(2, At("y", {N("i")}), B(BinOp::Add, B(BinOp::Mul, N("a"), At("x", {N("i")})), At("y", {N("i")})), 2);
  auto root = For(1, "i", I(0), N("n"), {body}, 1);
  LoopNest nest = nest_of(root, "for i in range(n):\n    y[i] = a * x[i] + y[i]\n");
  const int n = 1000;
  std::vector<double> x(n), y(n), ref(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.1 * i - 3.7;
    y[i] = std::sin(i * 0.3);
  }
  double a = 1.0 / 3.0;
  for (int i = 0; i < n; ++i) ref[i] = a * x[i] + y[i];
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {n}, DType::Float64);
  bn.arrays["y"] = Arr(y, {n}, DType::Float64);
  bn.scalars["a"] = FloatS(a);
  bn.scalars["n"] = IntS(n);
  ParallelPlan plan;
  plan.loops.push_back(LP(1, "i", LoopVerdict::Parallel));
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  ASSERT_EQ(p.kernels.size(), 1u);
  EXPECT_NE(p.source.find("// line 2: y[i] = a * x[i] + y[i]"), std::string::npos) << p.source;
  EXPECT_NE(p.source.find("threadIdx.x"), std::string::npos);
  EXPECT_EQ(p.arrays_written, std::vector<std::string>{"y"});
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << "\n" << p.source;
  for (int i = 0; i < n; ++i) ASSERT_EQ(std::memcmp(&y[i], &ref[i], 8), 0) << i;
  ASSERT_TRUE(r.scalars.count("i"));
  EXPECT_EQ(r.scalars["i"].ival, n - 1);
}

TEST(CudaCodegen, HostLoopAroundTwoDimensionalKernel) {
  use_test_cache();
  // for t in range(T):
  //   for i in range(1, n - 1):
  //     for j in range(1, n - 1):
  //       B[i, j] = 0.25 * (A[i-1, j] + A[i+1, j] + A[i, j-1] + A[i, j+1])
  //   for i in range(1, n - 1):
  //     for j in range(1, n - 1):
  //       A[i, j] = B[i, j]
  auto Aij = [](ExprPtr i, ExprPtr j) { return At("A", {i, j}); };
  auto sum =
      B(BinOp::Add,
        B(BinOp::Add, B(BinOp::Add, Aij(B(BinOp::Sub, N("i"), I(1)), N("j")), Aij(B(BinOp::Add, N("i"), I(1)), N("j"))),
          Aij(N("i"), B(BinOp::Sub, N("j"), I(1)))),
        Aij(N("i"), B(BinOp::Add, N("j"), I(1))));
  auto s1 = Assign(10, At("B", {N("i"), N("j")}), B(BinOp::Mul, F(0.25), sum), 5);
  auto lj1 = For(3, "j", I(1), B(BinOp::Sub, N("n"), I(1)), {s1}, 4);
  auto li1 = For(2, "i", I(1), B(BinOp::Sub, N("n"), I(1)), {lj1}, 3);
  auto s2 = Assign(11, At("A", {N("i"), N("j")}), At("B", {N("i"), N("j")}), 8);
  auto lj2 = For(5, "j", I(1), B(BinOp::Sub, N("n"), I(1)), {s2}, 7);
  auto li2 = For(4, "i", I(1), B(BinOp::Sub, N("n"), I(1)), {lj2}, 6);
  auto root = For(1, "t", I(0), N("T"), {li1, li2}, 2);
  LoopNest nest = nest_of(root);
  const int n = 40, T = 5;
  std::vector<double> A(n * n), Bv(n * n, 0.0);
  for (int k = 0; k < n * n; ++k) A[k] = std::cos(k * 0.01) * 10;
  std::vector<double> RA = A, RB = Bv;
  for (int t = 0; t < T; ++t) {
    for (int i = 1; i < n - 1; ++i)
      for (int j = 1; j < n - 1; ++j)
        RB[i * n + j] = 0.25 * (RA[(i - 1) * n + j] + RA[(i + 1) * n + j] + RA[i * n + j - 1] + RA[i * n + j + 1]);
    for (int i = 1; i < n - 1; ++i)
      for (int j = 1; j < n - 1; ++j) RA[i * n + j] = RB[i * n + j];
  }
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["A"] = Arr(A, {n, n}, DType::Float64);
  bn.arrays["B"] = Arr(Bv, {n, n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  bn.scalars["T"] = IntS(T);
  ParallelPlan plan;
  plan.loops = {LP(1, "t", LoopVerdict::Sequential), LP(2, "i", LoopVerdict::Parallel),
                LP(3, "j", LoopVerdict::Parallel), LP(4, "i", LoopVerdict::Parallel),
                LP(5, "j", LoopVerdict::Parallel)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  ASSERT_EQ(p.schedule.size(), 1u);
  EXPECT_EQ(p.schedule[0].kind, CudaHostNode::Loop);
  ASSERT_EQ(p.kernels.size(), 2u);
  EXPECT_EQ(p.kernels[0].grid_loops.size(), 2u);
  // j walks contiguous memory: it goes on x.
  EXPECT_EQ(p.kernels[0].grid_axis[1], 0);
  EXPECT_EQ(p.kernels[0].grid_axis[0], 1);
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << "\n" << p.source;
  EXPECT_EQ(r.launches, 2 * T);
  EXPECT_EQ(0, std::memcmp(A.data(), RA.data(), A.size() * 8));
  EXPECT_EQ(0, std::memcmp(Bv.data(), RB.data(), Bv.size() * 8));
  EXPECT_EQ(r.scalars["t"].ival, T - 1);
  EXPECT_EQ(r.scalars["i"].ival, n - 2);
}

TEST(CudaCodegen, ScalarSumReductionWithAtomics) {
  use_test_cache();
  // for i in range(n): s += i % 101 - 50   (Python ints: a sum of np.int64
  // elements stays in one thread, for NumPy's overflow warning)
  auto root =
      For(1, "i", I(0), N("n"), {Aug(2, BinOp::Add, N("s"), B(BinOp::Sub, B(BinOp::Mod, N("i"), I(101)), I(50)))});
  LoopNest nest = nest_of(root);
  const int n = 5000;
  int64_t ref = 7;
  for (int i = 0; i < n; ++i) ref += i % 101 - 50;
  BoundNest bn;
  bn.nest = &nest;
  bn.scalars["n"] = IntS(n);
  bn.scalars["s"] = IntS(7);
  ParallelPlan plan;
  Reduction red;
  red.variable = "s";
  red.op = BinOp::Add;
  red.stmt = 2;
  plan.loops = {LP(1, "i", LoopVerdict::Reduction, {red})};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_NE(p.source.find("ls_atomic_add_i64"), std::string::npos);
  EXPECT_NE(p.source.find("ls_warp_sum_i64"), std::string::npos);  // shuffles, emulated with fibers
  EXPECT_TRUE(p.kernels[0].uses_warp_shuffles);
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason;
  ASSERT_TRUE(r.scalars.count("s"));
  EXPECT_FALSE(r.scalars["s"].is_float);
  EXPECT_EQ(r.scalars["s"].ival, ref);
}

TEST(CudaCodegen, PythonFloorDivModAndNegativeIndex) {
  use_test_cache();
  // for i in range(n):
  //   q[i] = a[i] // d ; r[i] = a[i] % d ; w[i] = a[i - 1] ; f[i] = b[i] // 0.75 ; g[i] = b[i] % -0.75
  auto root = For(1, "i", I(0), N("n"),
                  {Assign(2, At("q", {N("i")}), B(BinOp::FloorDiv, At("a", {N("i")}), N("d"))),
                   Assign(3, At("r", {N("i")}), B(BinOp::Mod, At("a", {N("i")}), N("d"))),
                   Assign(4, At("w", {N("i")}), At("a", {B(BinOp::Sub, N("i"), I(1))})),
                   Assign(5, At("f", {N("i")}), B(BinOp::FloorDiv, At("b", {N("i")}), F(0.75))),
                   Assign(6, At("g", {N("i")}), B(BinOp::Mod, At("b", {N("i")}), F(-0.75)))});
  LoopNest nest = nest_of(root);
  const int n = 21;
  std::vector<int64_t> a(n), q(n), r(n), w(n);
  std::vector<double> b(n), f(n), g(n);
  for (int i = 0; i < n; ++i) {
    a[i] = i - 10;
    b[i] = (i - 10) * 0.3;
  }
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["a"] = Arr(a, {n}, DType::Int64);
  bn.arrays["q"] = Arr(q, {n}, DType::Int64);
  bn.arrays["r"] = Arr(r, {n}, DType::Int64);
  bn.arrays["w"] = Arr(w, {n}, DType::Int64);
  bn.arrays["b"] = Arr(b, {n}, DType::Float64);
  bn.arrays["f"] = Arr(f, {n}, DType::Float64);
  bn.arrays["g"] = Arr(g, {n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  bn.scalars["d"] = IntS(-3);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Parallel)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  expect_nvrtc_ok(p);
  CudaRunOutcome out = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(out.decline) << out.decline->reason;
  for (int i = 0; i < n; ++i) {
    int64_t av = i - 10;
    int64_t pq = av / -3;
    if (av % -3 != 0 && ((av < 0) != true)) pq -= 1;  // Python: floor
    EXPECT_EQ(q[i], pq) << i;
    EXPECT_EQ(r[i], av - pq * -3) << i;
    EXPECT_EQ(w[i], a[(i - 1 + n) % n]) << i;
    // Python: (-3.0) // 0.75 == -4.0 ; 0.3 % -0.75 == -0.45
    double bf = std::floor(b[i] / 0.75);
    EXPECT_NEAR(f[i], bf, 1.0) << i;
    EXPECT_LE(g[i], 0.0) << i;
    EXPECT_GT(g[i], -0.75) << i;
  }
  // Spot values CPython gives.
  EXPECT_EQ(f[0], -4.0);                // -3.0 // 0.75
  EXPECT_DOUBLE_EQ(g[11], 0.3 - 0.75);  // 0.3 % -0.75
}

TEST(CudaCodegen, OutOfRangeIndexLeavesArraysUntouched) {
  use_test_cache();
  // for i in range(n): y[i] = x[i + 1]   (x has n elements: the last read is out of range)
  auto root = For(1, "i", I(0), N("n"), {Assign(2, At("y", {N("i")}), At("x", {B(BinOp::Add, N("i"), I(1))}))});
  LoopNest nest = nest_of(root);
  const int n = 100;
  std::vector<double> x(n, 1.5), y(n, -1.0);
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {n}, DType::Float64);
  bn.arrays["y"] = Arr(y, {n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Parallel)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_TRUE(r.decline);
  EXPECT_EQ(r.decline->code, DeclineCode::SubscriptRange);
  EXPECT_NE(r.decline->reason.find("IndexError"), std::string::npos) << r.decline->reason;
  for (double v : y) ASSERT_EQ(v, -1.0);
}

TEST(CudaCodegen, SequentialNestRunsOnOneThread) {
  use_test_cache();
  // for i in range(1, n): A[i] = A[i - 1] * 0.5 + A[i] ; last = A[i]
  auto root =
      For(1, "i", I(1), N("n"),
          {Assign(2, At("A", {N("i")}),
                  B(BinOp::Add, B(BinOp::Mul, At("A", {B(BinOp::Sub, N("i"), I(1))}), F(0.5)), At("A", {N("i")}))),
           Assign(3, N("last"), At("A", {N("i")}))});
  LoopNest nest = nest_of(root);
  const int n = 300;
  std::vector<double> A(n);
  for (int i = 0; i < n; ++i) A[i] = std::sqrt(i + 1.0);
  std::vector<double> R = A;
  double last = 0;
  for (int i = 1; i < n; ++i) last = R[i] = R[i - 1] * 0.5 + R[i];
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["A"] = Arr(A, {n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Sequential)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_TRUE(p.kernels[0].grid_loops.empty());
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << p.source;
  EXPECT_EQ(0, std::memcmp(A.data(), R.data(), n * 8));
  ASSERT_TRUE(r.scalars.count("last"));
  EXPECT_EQ(r.scalars["last"].fval, last);
}

TEST(CudaCodegen, TriangularHostLoopLikeLu) {
  use_test_cache();
  // for k in range(n):
  //   for i in range(k + 1, n):
  //     for j in range(k + 1, n):
  //       A[i, j] -= A[i, k] * A[k, j]
  auto s = Aug(4, BinOp::Sub, At("A", {N("i"), N("j")}),
               B(BinOp::Mul, At("A", {N("i"), N("k")}), At("A", {N("k"), N("j")})));
  auto lj = For(3, "j", B(BinOp::Add, N("k"), I(1)), N("n"), {s});
  auto li = For(2, "i", B(BinOp::Add, N("k"), I(1)), N("n"), {lj});
  auto root = For(1, "k", I(0), N("n"), {li});
  LoopNest nest = nest_of(root);
  const int n = 24;
  std::vector<double> A(n * n);
  for (int i = 0; i < n * n; ++i) A[i] = 1.0 / (1 + (i * 7) % 13);
  std::vector<double> R = A;
  for (int k = 0; k < n; ++k)
    for (int i = k + 1; i < n; ++i)
      for (int j = k + 1; j < n; ++j) R[i * n + j] = R[i * n + j] - R[i * n + k] * R[k * n + j];
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["A"] = Arr(A, {n, n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  ParallelPlan plan;
  plan.loops = {LP(1, "k", LoopVerdict::Sequential), LP(2, "i", LoopVerdict::Parallel),
                LP(3, "j", LoopVerdict::Parallel)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason;
  EXPECT_EQ(0, std::memcmp(A.data(), R.data(), A.size() * 8));
  // Python leaves k = n-1; i and j last ran at k = n-2: both n-1.
  EXPECT_EQ(r.scalars["k"].ival, n - 1);
  EXPECT_EQ(r.scalars["i"].ival, n - 1);
  EXPECT_EQ(r.scalars["j"].ival, n - 1);
}

TEST(CudaCodegen, LoopFinalsOfTriangularNest) {
  // for i in range(4): for j in range(i): pass-like body -> j ends at 2 (from i = 3)
  auto lj = For(2, "j", I(0), N("i"), {Assign(3, N("t"), N("j"))});
  auto root = For(1, "i", I(0), I(4), {lj});
  LoopNest nest = nest_of(root);
  BoundNest bn;
  bn.nest = &nest;
  LoopFinals f = loop_variable_finals(bn);
  ASSERT_FALSE(f.decline);
  EXPECT_EQ(f.values["i"], 3);
  EXPECT_EQ(f.values["j"], 2);
  // range(1): the inner loop never runs, j stays unassigned.
  auto root1 = For(1, "i", I(0), I(1), {lj});
  LoopNest nest1 = nest_of(root1);
  bn.nest = &nest1;
  f = loop_variable_finals(bn);
  EXPECT_EQ(f.values.count("j"), 0u);
  EXPECT_EQ(f.values["i"], 0);
}

TEST(CudaCodegen, AliasedViewsShareOneDeviceBuffer) {
  use_test_cache();
  // y is x shifted by one element: for i in range(n): y[i] = x[i] * 2.0
  // carries a dependence through memory, so the loop is sequential.
  auto root = For(1, "i", I(0), N("n"), {Assign(2, At("y", {N("i")}), B(BinOp::Mul, At("x", {N("i")}), F(2.0)))});
  LoopNest nest = nest_of(root);
  std::vector<double> buf(11, 1.5);
  std::vector<double> ref = buf;
  for (int i = 0; i < 10; ++i) ref[i + 1] = ref[i] * 2.0;
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(buf, {10}, DType::Float64);
  bn.arrays["x"].mem_hi -= 8;
  bn.arrays["y"] = Arr(buf, {10}, DType::Float64);
  bn.arrays["y"].data = buf.data() + 1;
  bn.arrays["y"].mem_lo += 8;
  bn.scalars["n"] = IntS(10);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Sequential)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_EQ(p.source.find("__restrict__ y"), std::string::npos);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason;
  EXPECT_EQ(buf, ref);
}

TEST(CudaNvrtc, ReportsErrorsWithTheSource) {
  use_test_cache();
  if (!have_nvrtc()) GTEST_SKIP() << "no NVRTC";
  NvrtcOutput o = nvrtc_compile(
      "#include \"loopscope_cuda.h\"\nextern \"C\" __global__ void k() { undefined_thing(); }\n", "sm_80", false);
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.error.find("undefined_thing"), std::string::npos);
  EXPECT_NE(o.error.find("   2 | "), std::string::npos);
}

TEST(CudaNvrtc, SharedMemoryAndRegistersFromCubin) {
  use_test_cache();
  if (!have_nvrtc()) GTEST_SKIP() << "no NVRTC";
  const char* src =
      "#include \"loopscope_cuda.h\"\n"
      "extern \"C\" __global__ void k(double* a) { __shared__ double buf[128];\n"
      "  buf[threadIdx.x] = a[threadIdx.x]; __syncthreads(); a[threadIdx.x] = buf[127 - threadIdx.x]; }\n";
  NvrtcOutput o = nvrtc_compile(src, "sm_90", true);
  ASSERT_TRUE(o.ok) << o.error;
  ASSERT_TRUE(o.resources.count("k"));
  EXPECT_EQ(o.resources["k"].shared_bytes, 128 * 8);
  EXPECT_GT(o.resources["k"].registers, 0);
  EXPECT_LT(o.resources["k"].registers, 64);
  // The ELF attributes agree with ptxas on the register count.
  auto elf = cubin_resources(o.cubin);
  ASSERT_TRUE(elf.count("k"));
  EXPECT_EQ(elf["k"].registers, o.resources["k"].registers);
}

TEST(CudaDriverTest, LoadsAtRunTimeOrSaysWhy) {
  CudaDriver& d = CudaDriver::instance();
  if (d.available()) {
    EXPECT_GT(d.compute_capability(), 0);
  } else {
    EXPECT_EQ(d.status().rfind("no CUDA driver", 0), 0u) << d.status();
    void* m = nullptr;
    EXPECT_FALSE(d.load_module("", &m).empty());
  }
}

TEST(CudaCodegen, InterruptStopsEmulatedRunWithoutWrites) {
  use_test_cache();
  // A long sequential nest: for i in range(n): for j in range(n): A[j % 8] = A[j % 8] * 0.5 + 1.0
  auto s = Assign(3, At("A", {B(BinOp::Mod, N("j"), I(8))}),
                  B(BinOp::Add, B(BinOp::Mul, At("A", {B(BinOp::Mod, N("j"), I(8))}), F(0.5)), F(1.0)));
  auto root = For(1, "i", I(0), N("n"), {For(2, "j", I(0), N("n"), {s})});
  LoopNest nest = nest_of(root);
  std::vector<double> A(8, 3.0);
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["A"] = Arr(A, {8}, DType::Float64);
  bn.scalars["n"] = IntS(2000000);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Sequential), LP(2, "j", LoopVerdict::Sequential)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  std::string err;
  ASSERT_TRUE(emulator_load(p, &err)) << err;  // compile first: time only the run
  request_cancel(false);
  std::thread t([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    request_cancel(true);
  });
  auto t0 = std::chrono::steady_clock::now();
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  double s_el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.join();
  request_cancel(false);
  ASSERT_TRUE(r.decline);
  EXPECT_EQ(r.decline->code, DeclineCode::Interrupted);
  EXPECT_EQ(r.decline->reason, "interrupted");
  EXPECT_LT(s_el, 2.0);
  for (double v : A) EXPECT_EQ(v, 3.0);
}

TEST(CudaEmulator, BlockBarriersAndSharedMemoryRunAsFibers) {
  use_test_cache();
  // A hand-written block reduction with __shared__ memory and __syncthreads:
  // the emulator must stop every thread at each barrier, as a GPU does.
  CudaProgram p;
  p.source =
      "#include \"loopscope_cuda.h\"\n"
      "extern \"C\" __global__ void k(const double* x, double* out, ls_i64 n) {\n"
      "  __shared__ double buf[256];\n"
      "  unsigned t = threadIdx.x;\n"
      "  ls_i64 i = (ls_i64)blockIdx.x * 256 + t;\n"
      "  buf[t] = i < n ? x[i] : 0.0;\n"
      "  __syncthreads();\n"
      "  for (unsigned s = 128; s > 0; s >>= 1) {\n"
      "    if (t < s) buf[t] += buf[t + s];\n"
      "    __syncthreads();\n"
      "  }\n"
      "  double w = ls_warp_sum_f64(x[i < n ? i : 0]);\n"
      "  if (t == 0) out[blockIdx.x] = buf[0];\n"
      "  if (ls_lane() == 0) out[4 + blockIdx.x * 8 + t / 32] = w;\n"
      "}\n";
  p.emulator_entry =
      "extern \"C\" int ls_emu_k(const unsigned* g, const unsigned* b, void** a) {\n"
      "  return ls_emu::launch(g, b, true, [&] { k(*(const double**)a[0], *(double**)a[1], *(ls_i64*)a[2]); });\n"
      "}\n";
  CudaKernel k;
  k.name = "k";
  p.kernels.push_back(k);
  std::string err;
  auto mod = emulator_load(p, &err);
  ASSERT_TRUE(mod) << err;
  const int n = 1000;
  std::vector<double> x(n), out(4 + 32, 0.0);
  for (int i = 0; i < n; ++i) x[i] = std::sin(i) * 100.0;
  const double* xp = x.data();
  double* op = out.data();
  int64_t nn = n;
  void* args[] = {&xp, &op, &nn};
  unsigned grid[3] = {4, 1, 1}, block[3] = {256, 1, 1};
  ASSERT_EQ(mod->entries.at("k")(grid, block, args), 0);
  for (int b = 0; b < 4; ++b) {
    // The same tree, in the same order.
    std::vector<double> buf(256);
    for (int t = 0; t < 256; ++t) buf[t] = b * 256 + t < n ? x[b * 256 + t] : 0.0;
    for (int s = 128; s > 0; s >>= 1)
      for (int t = 0; t < s; ++t) buf[t] += buf[t + s];
    EXPECT_EQ(out[b], buf[0]) << b;
    for (int w = 0; w < 8; ++w) {
      // Shuffle-down tree over 32 lanes (lanes past the end keep their value).
      std::vector<double> v(32);
      for (int l = 0; l < 32; ++l) {
        int i = b * 256 + w * 32 + l;
        v[l] = x[i < n ? i : 0];
      }
      for (int o = 16; o > 0; o >>= 1) {
        std::vector<double> nv = v;
        for (int l = 0; l < 32; ++l) nv[l] = v[l] + (l + o < 32 ? v[l + o] : v[l]);
        v = nv;
      }
      EXPECT_EQ(out[4 + b * 8 + w], v[0]) << b << " " << w;
    }
  }
}

// ---- one exactness policy for every device ----------------------------------

TEST(CudaEscape, CommentsStayOneSafeLine) {
  const std::string nasty[] = {"y[i] = x[i] + \\",
                               "a */ b /* c",
                               "?\?/",
                               "\"\"\" <script>x</script>",
                               "t\u00e9st \u4e2d \u03b1",
                               "two\nlines\r\tand tab  \\  ",
                               std::string("bad \xff byte")};
  for (const std::string& s : nasty) {
    std::string c = cuda_escape(s, CudaTextUse::Comment);
    EXPECT_EQ(c.find('\n'), std::string::npos) << c;
    EXPECT_EQ(c.find('\r'), std::string::npos) << c;
    EXPECT_EQ(c.find("*/"), std::string::npos) << c;
    EXPECT_EQ(c.find("/*"), std::string::npos) << c;
    EXPECT_EQ(c.find("??"), std::string::npos) << c;
    for (char ch : c) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << c;
    ASSERT_FALSE(c.empty());
    EXPECT_NE(c.back(), '\\') << c;
    EXPECT_NE(c.back(), ' ') << c;
  }
  EXPECT_EQ(cuda_escape("y[i] = x[i] + \\", CudaTextUse::Comment), "y[i] = x[i] + \\ (continued)");
  EXPECT_EQ(cuda_escape("t\u00e9", CudaTextUse::Comment), "tU+00E9");
}

TEST(CudaEscape, IdentifiersAreCIdentifiers) {
  EXPECT_EQ(cuda_escape("x.shape[0]", CudaTextUse::Identifier), "x_shape_0");
  EXPECT_EQ(cuda_escape("len(x)", CudaTextUse::Identifier), "len_x");
  EXPECT_EQ(cuda_escape("\u03b1", CudaTextUse::Identifier), "u03B1");
  EXPECT_EQ(cuda_escape("plain_name2", CudaTextUse::Identifier), "plain_name2");
}

TEST(CudaCodegen, ErrorCodesAreTheSharedTraps) {
  use_test_cache();
  std::string h = cuda_helper_header();
  const std::pair<const char*, Trap> codes[] = {
      {"LS_ERR_OVERFLOW", Trap::Overflow},    {"LS_ERR_ZERODIV", Trap::ZeroDivision},
      {"LS_ERR_INDEX", Trap::Index},          {"LS_ERR_DOMAIN", Trap::Domain},
      {"LS_ERR_MATHOVF", Trap::MathOverflow}, {"LS_ERR_UNBOUND", Trap::Unbound},
      {"LS_ERR_BIGINT", Trap::BigInt},        {"LS_ERR_INT32", Trap::Int32},
      {"LS_ERR_FLOAT2INT", Trap::FloatToInt}, {"LS_ERR_LAST", Trap::LastValue},
      {"LS_ERR_NPWARN", Trap::NumpyWarning}};
  for (auto& [name, trap] : codes) {
    std::string def = std::string("#define ") + name + " " + std::to_string(1 + static_cast<int>(trap)) + " ";
    EXPECT_NE(h.find(def), std::string::npos) << def;
  }
}

TEST(CudaCodegen, ShapeAndLenNamesBecomeIdentifiers) {
  use_test_cache();
  // for i in range(x.shape[0]): y[i] = x[i] * len(x)
  auto root = For(1, "i", I(0), N("x.shape[0]"),
                  {Assign(2, At("y", {N("i")}), B(BinOp::Mul, At("x", {N("i")}), N("len(x)")), 2)}, 1);
  LoopNest nest = nest_of(root, "for i in range(x.shape[0]):\n    y[i] = x[i] * len(x)\n");
  std::vector<double> x = {1.0, 2.0, 3.0}, y(3, 0.0);
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {3}, DType::Float64);
  bn.arrays["y"] = Arr(y, {3}, DType::Float64);
  bn.scalars["x.shape[0]"] = IntS(3);
  bn.scalars["len(x)"] = IntS(3);
  ParallelPlan plan;
  plan.loops.push_back(LP(1, "i", LoopVerdict::Parallel));
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  for (auto& k : p.kernels)
    for (auto& prm : k.params)
      for (char c : prm.name) EXPECT_TRUE(std::isalnum((unsigned char)c) || c == '_') << prm.name;
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << p.source;
  EXPECT_EQ(y, (std::vector<double>{3.0, 6.0, 9.0}));
}

TEST(CudaCodegen, DeclinesWhatTheCpuVariantDeclinesWithItsReason) {
  // for i in range(n): y[i] = np.exp(x[i])   (no NumPy loops supplied)   and
  // for i in range(n): y[i] = math.lgamma(x[i])
  auto r1 = For(1, "i", I(0), N("n"), {Assign(2, At("y", {N("i")}), Call("np.exp", {At("x", {N("i")})}))});
  auto r2 = For(1, "i", I(0), N("n"), {Assign(2, At("y", {N("i")}), Call("lgamma", {At("x", {N("i")})}))});
  std::vector<double> x(4, 1.0), y(4, 0.0);
  for (auto root : {r1, r2}) {
    LoopNest nest = nest_of(root);
    BoundNest bn;
    bn.nest = &nest;
    bn.arrays["x"] = Arr(x, {4}, DType::Float64);
    bn.arrays["y"] = Arr(y, {4}, DType::Float64);
    bn.scalars["n"] = IntS(4);
    bn.scalars["s"] = IntS(0);
    ParallelPlan plan;
    plan.loops.push_back(LP(1, "i", LoopVerdict::Parallel));
    CpuCompileResult cpu = compile_cpu(bn, plan);
    ASSERT_TRUE(cpu.decline);
    CudaProgram p = generate_cuda(bn, plan);
    ASSERT_TRUE(p.decline);
    EXPECT_EQ(p.decline->reason, cpu.decline->reason);
  }
}

TEST(CudaCodegen, DeclinesAnIntThatBecomesAFloatWhichTheCpuFollows) {
  // s = 0; for i in range(n): s += x[i] * 0.5
  auto root = For(1, "i", I(0), N("n"), {Aug(2, BinOp::Add, N("s"), B(BinOp::Mul, At("x", {N("i")}), F(0.5)))});
  std::vector<double> x(4, 1.0);
  LoopNest nest = nest_of(root);
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {4}, DType::Float64);
  bn.scalars["n"] = IntS(4);
  bn.scalars["s"] = IntS(0);
  ParallelPlan plan;
  plan.loops.push_back(LP(1, "i", LoopVerdict::Sequential));
  EXPECT_FALSE(compile_cpu(bn, plan).decline);
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_TRUE(p.decline);
  EXPECT_NE(p.decline->reason.find("'s' holds an int and then a float"), std::string::npos) << p.decline->reason;
}

TEST(CudaCodegen, PythonIntOverflowStopsTheRun) {
  use_test_cache();
  // for i in range(n): s = s * 3
  auto root = For(1, "i", I(0), N("n"), {Assign(2, N("s"), B(BinOp::Mul, N("s"), I(3)))});
  LoopNest nest = nest_of(root);
  for (int64_t n : {30, 100}) {
    BoundNest bn;
    bn.nest = &nest;
    bn.scalars["n"] = IntS(n);
    bn.scalars["s"] = IntS(1);
    ParallelPlan plan;
    plan.loops.push_back(LP(1, "i", LoopVerdict::Sequential));
    CudaProgram p = generate_cuda(bn, plan);
    ASSERT_FALSE(p.decline) << p.decline->reason;
    CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
    if (n == 30) {
      ASSERT_FALSE(r.decline) << r.decline->reason;
      int64_t want = 1;
      for (int k = 0; k < 30; ++k) want *= 3;
      EXPECT_EQ(r.scalars["s"].ival, want);
      EXPECT_EQ(r.scalars["s"].kind, ValueKind::PyInt);
    } else {
      ASSERT_TRUE(r.decline);
      EXPECT_EQ(r.decline->code, DeclineCode::Trap);
      EXPECT_EQ(r.decline->reason, trap_reason(Trap::Overflow));
    }
  }
}

TEST(CudaCodegen, ScalarsComeBackWithPythonsTypes) {
  use_test_cache();
  // s (an np.float64 before the loop) += x[i]; t = x[i] * 2.0; k = k + v[i]
  // (k a Python int, v an int64 array: k becomes an np.int64)
  auto root =
      For(1, "i", I(0), N("n"),
          {Aug(2, BinOp::Add, N("s"), At("x", {N("i")})), Assign(3, N("t"), B(BinOp::Mul, At("x", {N("i")}), F(2.0))),
           Assign(4, N("k"), B(BinOp::Add, N("k"), At("v", {N("i")})))});
  LoopNest nest = nest_of(root);
  std::vector<double> x = {0.5, 1.0, 1.5, 2.0};
  std::vector<int64_t> v = {1, 2, 3, 4};
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {4}, DType::Float64);
  bn.arrays["v"] = Arr(v, {4}, DType::Int64);
  bn.scalars["n"] = IntS(4);
  bn.scalars["s"] = FloatS(0.25);
  bn.scalars["k"] = IntS(10);
  Reduction rs, rk;
  rs.variable = "s";
  rs.stmt = 2;
  rk.variable = "k";
  rk.stmt = 4;
  ParallelPlan plan;
  plan.loops.push_back(LP(1, "i", LoopVerdict::Reduction, {rs, rk}));
  CudaOptions opts;
  opts.numpy_scalars = {"s"};
  CudaProgram p = generate_cuda(bn, plan, opts);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << p.source;
  EXPECT_EQ(r.scalars["s"].kind, ValueKind::NpFloat64);
  EXPECT_EQ(r.scalars["s"].fval, 5.25);
  EXPECT_EQ(r.scalars["t"].kind, ValueKind::NpFloat64);
  EXPECT_EQ(r.scalars["t"].fval, 4.0);
  EXPECT_EQ(r.scalars["k"].kind, ValueKind::NpInt64);
  EXPECT_EQ(r.scalars["k"].ival, 20);
  EXPECT_EQ(r.scalars["i"].kind, ValueKind::PyInt);
  EXPECT_EQ(r.scalars["i"].ival, 3);
}

TEST(CudaCodegen, MaxReductionKeepsPythonsNanAndZeroRules) {
  use_test_cache();
  // for i in range(n): s = max(s, x[i])
  auto root = For(1, "i", I(0), N("n"), {Assign(2, N("s"), Call("max", {N("s"), At("x", {N("i")})}))});
  LoopNest nest = nest_of(root);
  const double nan = std::nan("");
  struct Case {
    std::vector<double> x;
    double s0;
    bool ran;
    double want;
  } cases[] = {
      {{1.0, nan, 3.0, 2.0}, -1.0, true, 3.0},  // a NaN term never wins
      {{1.0, 5.0}, nan, true, nan},             // a NaN start stays
      {{-0.0, 0.0, -2.0}, -1.0, false, 0.0},    // both zeros: Python keeps the first, so Python decides
      {{0.0, 0.0, -2.0}, -1.0, true, 0.0},
  };
  for (auto& c : cases) {
    BoundNest bn;
    bn.nest = &nest;
    bn.arrays["x"] = Arr(c.x, {(int64_t)c.x.size()}, DType::Float64);
    bn.scalars["n"] = IntS((int64_t)c.x.size());
    bn.scalars["s"] = FloatS(c.s0);
    Reduction red;
    red.variable = "s";
    red.fn = "max";
    red.stmt = 2;
    ParallelPlan plan;
    plan.loops.push_back(LP(1, "i", LoopVerdict::Reduction, {red}));
    CudaProgram p = generate_cuda(bn, plan);
    ASSERT_FALSE(p.decline) << p.decline->reason;
    ASSERT_FALSE(p.kernels[0].grid_loops.empty());
    CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
    ASSERT_EQ(!r.decline, c.ran) << (r.decline ? r.decline->reason : "");
    if (r.decline) {
      EXPECT_EQ(r.decline->reason, trap_reason(Trap::ReductionOrder));
      continue;
    }
    double got = r.scalars["s"].fval;
    if (std::isnan(c.want)) {
      EXPECT_TRUE(std::isnan(got));
      EXPECT_EQ(r.scalars["s"].kind, ValueKind::PyFloat);  // still the float it was
    } else {
      EXPECT_EQ(got, c.want);
      EXPECT_EQ(std::signbit(got), std::signbit(c.want));
      EXPECT_EQ(r.scalars["s"].kind, ValueKind::NpFloat64);
    }
  }
}

TEST(CudaCodegen, InKernelLoopVariableFinalsComeFromTheKernel) {
  use_test_cache();
  // for i in range(n):      (sequential: m is assigned in the nest)
  //   for j in range(m): A[i] += j
  //   m = i
  auto lj = For(2, "j", I(0), N("m"), {Aug(3, BinOp::Add, At("A", {N("i")}), N("j"))});
  auto root = For(1, "i", I(0), N("n"), {lj, Assign(4, N("m"), N("i"))});
  LoopNest nest = nest_of(root);
  std::vector<double> A(5, 0.0);
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["A"] = Arr(A, {5}, DType::Float64);
  bn.scalars["n"] = IntS(5);
  bn.scalars["m"] = IntS(3);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Sequential), LP(2, "j", LoopVerdict::Sequential)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason;
  // Python: m = 3, 0, 1, 2, 3 at i = 0..4; the last j loop (i = 4, m = 3) ends at 2.
  EXPECT_EQ(r.scalars["j"].ival, 2);
  EXPECT_EQ(r.scalars["m"].ival, 4);
  EXPECT_EQ(r.scalars["i"].ival, 4);
}

TEST(CudaCodegen, LastValuesOfScalarsAssignedInSomeIterations) {
  use_test_cache();
  // for i in range(n):              (parallel; n = 600: three blocks)
  //   for j in range(i + 1, n):     (empty at i = n - 1: j comes from i = n - 2)
  //     y[i] += x[j]
  //   if x[i] > 0.5: last = i       (last comes from the latest such i)
  auto lj =
      For(2, "j", B(BinOp::Add, N("i"), I(1)), N("n"), {Aug(3, BinOp::Add, At("y", {N("i")}), At("x", {N("j")}))});
  auto root =
      For(1, "i", I(0), N("n"), {lj, If(4, Cmp(CmpOp::Gt, At("x", {N("i")}), F(0.5)), {Assign(5, N("last"), N("i"))})});
  LoopNest nest = nest_of(root);
  const int64_t n = 600;
  std::vector<double> x(n), y(n, 0.0);
  for (int64_t i = 0; i < n; ++i) x[i] = i % 7 == 3 && i < 500 ? 1.0 : 0.0;
  BoundNest bn;
  bn.nest = &nest;
  bn.arrays["x"] = Arr(x, {n}, DType::Float64);
  bn.arrays["y"] = Arr(y, {n}, DType::Float64);
  bn.scalars["n"] = IntS(n);
  ParallelPlan plan;
  plan.loops = {LP(1, "i", LoopVerdict::Parallel), LP(2, "j", LoopVerdict::Sequential)};
  CudaProgram p = generate_cuda(bn, plan);
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_NE(p.source.find("ls_keep_last(j, "), std::string::npos) << p.source;
  EXPECT_NE(p.source.find("ls_keep_last(last, "), std::string::npos) << p.source;
  expect_nvrtc_ok(p);
  CudaRunOutcome r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason << p.source;
  EXPECT_EQ(r.scalars["j"].ival, n - 1);
  EXPECT_EQ(r.scalars["last"].ival, 493);  // the last i < 500 with i % 7 == 3
  EXPECT_EQ(r.scalars["last"].kind, ValueKind::PyInt);
  EXPECT_EQ(r.scalars["i"].ival, n - 1);
  // No iteration assigns last: it keeps no value (Python: unbound, or its old value).
  std::fill(x.begin(), x.end(), 0.0);
  std::fill(y.begin(), y.end(), 0.0);
  r = run_cuda_program(p, bn, CudaTarget::Emulator);
  ASSERT_FALSE(r.decline) << r.decline->reason;
  EXPECT_EQ(r.scalars.count("last"), 0u);
  EXPECT_EQ(r.scalars["j"].ival, n - 1);
}
