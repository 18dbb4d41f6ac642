// CPU variant: code generation from hand-built loop-nest IR, checked against
// values computed here with Python's rules.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "loopscope/jit/cpu.hpp"
#include "../../../jit/src/cpu_runtime.hpp"  // parallel_copy: the thread pool without generated code

using namespace loopscope::analysis;
using namespace loopscope::jit;

namespace {
// ---- IR builders ------------------------------------------------------------
ExprPtr I(int64_t v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::IntConst;
  e->ival = v;
  return e;
}
ExprPtr F(double v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::FloatConst;
  e->fval = v;
  return e;
}
ExprPtr N(const std::string& n) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Name;
  e->name = n;
  return e;
}
ExprPtr Sub(const std::string& a, std::vector<ExprPtr> ix) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Subscript;
  e->name = a;
  e->args = std::move(ix);
  return e;
}
ExprPtr Bin(BinOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Binary;
  e->bin_op = op;
  e->args = {a, b};
  return e;
}
[[maybe_unused]] ExprPtr Cmp(CmpOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Compare;
  e->cmp_ops = {op};
  e->args = {a, b};
  return e;
}
ExprPtr Call(const std::string& f, std::vector<ExprPtr> args) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Call;
  e->name = f;
  e->args = std::move(args);
  return e;
}
int g_id = 0;
StmtPtr Assign(ExprPtr t, ExprPtr v) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::Assign;
  s->id = ++g_id;
  s->target = t;
  s->value = v;
  return s;
}
StmtPtr Aug(BinOp op, ExprPtr t, ExprPtr v) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::AugAssign;
  s->id = ++g_id;
  s->aug_op = op;
  s->target = t;
  s->value = v;
  return s;
}
[[maybe_unused]] StmtPtr IfS(ExprPtr c, std::vector<StmtPtr> body, std::vector<StmtPtr> orelse = {}) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::If;
  s->id = ++g_id;
  s->cond = c;
  s->body = std::move(body);
  s->orelse = std::move(orelse);
  return s;
}
StmtPtr For(const std::string& v, ExprPtr start, ExprPtr stop, ExprPtr step, std::vector<StmtPtr> body) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::For;
  s->id = ++g_id;
  s->var = v;
  s->start = start;
  s->stop = stop;
  s->step = step;
  s->body = std::move(body);
  return s;
}

struct Case {
  LoopNest nest;
  ParallelPlan plan;
  BoundNest bound;
  std::vector<std::vector<char>> storage;
};

// A nest with its source text (the cache key) and every loop verdict.
void make(Case& c, StmtPtr root, const std::string& src, std::vector<std::string> outputs,
          LoopVerdict verdict = LoopVerdict::Sequential, std::vector<Reduction> reds = {}) {
  c.nest.root = root;
  c.nest.source = src;
  c.nest.outputs = std::move(outputs);
  for (auto* l : c.nest.loops()) {
    LoopPlan lp;
    lp.loop = l->id;
    lp.var = l->var;
    lp.verdict = l == root.get() ? verdict : LoopVerdict::Sequential;
    if (l == root.get()) lp.reductions = reds;
    c.plan.loops.push_back(lp);
  }
  c.bound.nest = &c.nest;
}

template <class T>
T* add_array(Case& c, const std::string& name, DType dt, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  c.storage.emplace_back(static_cast<size_t>(n * sizeof(T)) + 8);
  ArrayBinding a;
  a.dtype = dt;
  a.data = c.storage.back().data();
  a.shape = shape;
  a.strides.resize(shape.size());
  int64_t st = sizeof(T);
  for (int k = static_cast<int>(shape.size()) - 1; k >= 0; --k) {
    a.strides[k] = st;
    st *= shape[k];
  }
  a.mem_lo = reinterpret_cast<uintptr_t>(a.data);
  a.mem_hi = a.mem_lo + n * sizeof(T);
  a.c_contiguous = true;
  c.bound.arrays[name] = a;
  c.nest.arrays.push_back(name);
  return static_cast<T*>(a.data);
}

void scalar_int(Case& c, const std::string& n, int64_t v) {
  ScalarBinding s;
  s.kind = ScalarKind::Int;
  s.ival = v;
  c.bound.scalars[n] = s;
}
void scalar_float(Case& c, const std::string& n, double v) {
  ScalarBinding s;
  s.kind = ScalarKind::Float;
  s.fval = v;
  c.bound.scalars[n] = s;
}

// LOOPSCOPE_TEST_CPU_TIER=quick runs every compile_and_run case with quick
// code (ctest registers the suite a second time that way).
CpuTier test_tier() {
  const char* e = std::getenv("LOOPSCOPE_TEST_CPU_TIER");
  return e && std::string(e) == "quick" ? CpuTier::Quick : CpuTier::Optimised;
}

CpuRunResult compile_and_run(Case& c, CpuOptions o = {}) {
  if (o.tier == CpuTier::Auto) o.tier = test_tier();
  auto r = compile_cpu(c.bound, c.plan, o);
  if (r.variant) {
    EXPECT_EQ(cpu_variant_tier(*r.variant), o.tier);
  }
  EXPECT_FALSE(r.decline) << (r.decline ? r.decline->reason : "");
  if (!r.variant) return {};
  return run_cpu(*r.variant, c.bound);
}

const ScalarOutput* out(const CpuRunResult& r, const std::string& n) {
  for (auto& o : r.outputs)
    if (o.name == n) return &o;
  return nullptr;
}

int64_t py_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
// Without the product floordiv * b, which can overflow where the result does not.
int64_t py_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
}  // namespace

// ---------------------------------------------------------------------------
TEST(CpuCodegen, SaxpyParallelBitIdentical) {
  for (bool par : {false, true}) {
    Case c;
    // for i in range(n): y[i] = a * x[i] + y[i]
    make(c,
         For("i", I(0), N("n"), nullptr,
             {Assign(Sub("y", {N("i")}),
                     Bin(BinOp::Add, Bin(BinOp::Mul, N("a"), Sub("x", {N("i")})), Sub("y", {N("i")})))}),
         "saxpy", {"i"}, LoopVerdict::Parallel);
    const int n = 100003;
    double* x = add_array<double>(c, "x", DType::Float64, {n});
    double* y = add_array<double>(c, "y", DType::Float64, {n});
    for (int k = 0; k < n; ++k) {
      x[k] = std::sin(k) * 1e3;
      y[k] = std::cos(k) / 7.0;
    }
    std::vector<double> expect(n);
    for (int k = 0; k < n; ++k) expect[k] = 2.5 * x[k] + y[k];
    scalar_int(c, "n", n);
    scalar_float(c, "a", 2.5);
    CpuOptions o;
    o.parallel = par;
    auto r = compile_and_run(c, o);
    ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
    EXPECT_EQ(0, std::memcmp(expect.data(), y, n * sizeof(double)));
    auto* i = out(r, "i");
    ASSERT_TRUE(i && i->assigned);
    EXPECT_EQ(i->kind, ValueKind::PyInt);
    EXPECT_EQ(i->ival, n - 1);
  }
}

TEST(CpuCodegen, ZeroTripLoopLeavesVariableUnassigned) {
  Case c;
  make(c, For("i", I(5), I(3), nullptr, {Assign(N("s"), N("i"))}), "zero", {"i", "s"});
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  EXPECT_FALSE(out(r, "i")->assigned);
  EXPECT_FALSE(out(r, "s")->assigned);
}

TEST(CpuCodegen, NegativeStepAndInnerLoopFinalValue) {
  Case c;
  // for i in range(10, 0, -3): for j in range(i): t += j   (t int input)
  make(c, For("i", I(10), I(0), I(-3), {For("j", I(0), N("i"), nullptr, {Aug(BinOp::Add, N("t"), N("j"))})}), "negstep",
       {"i", "j", "t"});
  scalar_int(c, "t", 0);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
  int64_t t = 0, jl = -1, il = -1;
  for (int64_t i = 10; i > 0; i -= 3) {
    il = i;
    for (int64_t j = 0; j < i; ++j) t += j, jl = j;
  }
  EXPECT_EQ(out(r, "i")->ival, il);
  EXPECT_EQ(out(r, "j")->ival, jl);
  EXPECT_EQ(out(r, "t")->ival, t);
  EXPECT_EQ(out(r, "t")->kind, ValueKind::PyInt);
}

TEST(CpuCodegen, PythonFloorDivAndModOnInts) {
  // for i in range(n): q[i] = a[i] // b[i]; m[i] = a[i] % b[i]  (np.int64)
  auto run = [](std::vector<int64_t> av, std::vector<int64_t> bv, std::vector<int64_t>* q, std::vector<int64_t>* m) {
    Case c;
    make(c,
         For("i", I(0), N("n"), nullptr,
             {Assign(Sub("q", {N("i")}), Bin(BinOp::FloorDiv, Sub("a", {N("i")}), Sub("b", {N("i")}))),
              Assign(Sub("m", {N("i")}), Bin(BinOp::Mod, Sub("a", {N("i")}), Sub("b", {N("i")})))}),
         "divmod", {"i"}, LoopVerdict::Parallel);
    const int n = static_cast<int>(av.size());
    auto* a = add_array<int64_t>(c, "a", DType::Int64, {n});
    auto* b = add_array<int64_t>(c, "b", DType::Int64, {n});
    auto* qp = add_array<int64_t>(c, "q", DType::Int64, {n});
    auto* mp = add_array<int64_t>(c, "m", DType::Int64, {n});
    std::memcpy(a, av.data(), n * sizeof(int64_t));
    std::memcpy(b, bv.data(), n * sizeof(int64_t));
    scalar_int(c, "n", n);
    auto r = compile_and_run(c);
    q->assign(qp, qp + n);
    m->assign(mp, mp + n);
    return r;
  };
  std::vector<int64_t> av = {7, -7, 7, -7, 0, INT64_MIN, 3, INT64_MAX};
  std::vector<int64_t> bv = {2, 2, -2, -2, 3, 7, -5, -1};
  std::vector<int64_t> q, m;
  auto r = run(av, bv, &q, &m);
  ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
  for (size_t k = 0; k < av.size(); ++k) {
    EXPECT_EQ(q[k], py_floordiv(av[k], bv[k])) << k;
    EXPECT_EQ(m[k], py_mod(av[k], bv[k])) << k;
  }
  // NumPy gives 0 for x // 0 and x % 0 and wraps MIN // -1, each with a
  // RuntimeWarning: Python runs the loop (from the untouched arrays) to print it.
  for (auto [x, y] : {std::pair<int64_t, int64_t>{5, 0}, {INT64_MIN, -1}}) {
    r = run({1, x}, {1, y}, &q, &m);
    EXPECT_EQ(r.status, RunStatus::Fallback);
    ASSERT_TRUE(r.decline);
    EXPECT_EQ(r.decline->code, DeclineCode::Trap);
    EXPECT_NE(r.decline->reason.find("RuntimeWarning"), std::string::npos) << r.decline->reason;
    EXPECT_EQ(q, (std::vector<int64_t>{0, 0}));
  }
}

TEST(CpuCodegen, PythonIntDivisionByZeroFallsBackAndRestores) {
  Case c;
  // for i in range(n): y[i] = 1.0; t = t + 10 // (i - 3)     (Python ints)
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("y", {N("i")}), F(1.0)),
            Assign(N("t"), Bin(BinOp::Add, N("t"), Bin(BinOp::FloorDiv, I(10), Bin(BinOp::Sub, N("i"), I(3)))))}),
       "zdiv", {"i", "t"});
  double* y = add_array<double>(c, "y", DType::Float64, {6});
  for (int k = 0; k < 6; ++k) y[k] = -5.0;
  scalar_int(c, "n", 6);
  scalar_int(c, "t", 0);
  auto r = compile_and_run(c);
  EXPECT_EQ(r.status, RunStatus::Fallback);
  for (int k = 0; k < 6; ++k) EXPECT_EQ(y[k], -5.0);  // restored
}

TEST(CpuCodegen, IntOverflowFallsBack) {
  Case c;
  // for i in range(n): t = t * 3
  make(c, For("i", I(0), N("n"), nullptr, {Assign(N("t"), Bin(BinOp::Mul, N("t"), I(3)))}), "ovf", {"i", "t"});
  scalar_int(c, "n", 60);
  scalar_int(c, "t", 1);
  auto r = compile_and_run(c);
  EXPECT_EQ(r.status, RunStatus::Fallback);
  Case d;
  make(d, For("i", I(0), N("n"), nullptr, {Assign(N("t"), Bin(BinOp::Mul, N("t"), I(3)))}), "ovf", {"i", "t"});
  scalar_int(d, "n", 30);
  scalar_int(d, "t", 1);
  auto r2 = compile_and_run(d);
  ASSERT_EQ(r2.status, RunStatus::Ok);
  int64_t t = 1;
  for (int k = 0; k < 30; ++k) t *= 3;
  EXPECT_EQ(out(r2, "t")->ival, t);
}

TEST(CpuCodegen, NegativeIndexWrapAndOutOfRange) {
  Case c;
  // for i in range(n): y[i] = x[i - 1]     (x[-1] at i == 0)
  make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Sub("x", {Bin(BinOp::Sub, N("i"), I(1))}))}),
       "wrap", {"i"}, LoopVerdict::Parallel);
  double* x = add_array<double>(c, "x", DType::Float64, {5});
  double* y = add_array<double>(c, "y", DType::Float64, {5});
  for (int k = 0; k < 5; ++k) x[k] = k + 0.5, y[k] = 0;
  scalar_int(c, "n", 5);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  EXPECT_EQ(y[0], 4.5);
  EXPECT_EQ(y[3], 2.5);
  // n = 7 reads past the end: x[5] raises IndexError in Python
  Case d;
  make(d, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Sub("x", {Bin(BinOp::Sub, N("i"), I(1))}))}),
       "wrap", {"i"}, LoopVerdict::Parallel);
  double* x2 = add_array<double>(d, "x", DType::Float64, {5});
  double* y2 = add_array<double>(d, "y", DType::Float64, {9});
  for (int k = 0; k < 5; ++k) x2[k] = k;
  for (int k = 0; k < 9; ++k) y2[k] = -1;
  scalar_int(d, "n", 7);
  auto r2 = compile_and_run(d);
  EXPECT_EQ(r2.status, RunStatus::Fallback);
  ASSERT_TRUE(r2.decline);
  EXPECT_EQ(r2.decline->code, DeclineCode::SubscriptRange);
  EXPECT_EQ(r2.decline->reason, "a subscript is out of range (Python raises IndexError)");
  for (int k = 0; k < 9; ++k) EXPECT_EQ(y2[k], -1);
}

TEST(CpuCodegen, Float32ArithmeticAsNumPy) {
  Case c;
  // for i in range(n): z[i] = x[i] * y[i] + x[i]   (float32: each op rounds to float)
  //                    w[i] = x[i] * 0.1           (np.float32 * float -> float64 -> stored float32)
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("z", {N("i")}),
                   Bin(BinOp::Add, Bin(BinOp::Mul, Sub("x", {N("i")}), Sub("y", {N("i")})), Sub("x", {N("i")}))),
            Assign(Sub("w", {N("i")}), Bin(BinOp::Mul, Sub("x", {N("i")}), F(0.1)))}),
       "f32", {"i"}, LoopVerdict::Parallel);
  const int n = 1000;
  float* x = add_array<float>(c, "x", DType::Float32, {n});
  float* y = add_array<float>(c, "y", DType::Float32, {n});
  float* z = add_array<float>(c, "z", DType::Float32, {n});
  float* w = add_array<float>(c, "w", DType::Float32, {n});
  for (int k = 0; k < n; ++k) x[k] = std::sin(k) * 3.3f, y[k] = std::cos(k) * 1.7f;
  scalar_int(c, "n", n);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  for (int k = 0; k < n; ++k) {
    volatile float p = x[k] * y[k];
    volatile float e = p + x[k];
    EXPECT_EQ(z[k], e);
    EXPECT_EQ(w[k], static_cast<float>(static_cast<double>(x[k]) * 0.1));
  }
}

TEST(CpuCodegen, FloatFloorDivModAndPythonDivByZero) {
  Case c;
  // for i in range(n): q[i] = a[i] // b[i]; m[i] = a[i] % b[i]  (np.float64)
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("q", {N("i")}), Bin(BinOp::FloorDiv, Sub("a", {N("i")}), Sub("b", {N("i")}))),
            Assign(Sub("m", {N("i")}), Bin(BinOp::Mod, Sub("a", {N("i")}), Sub("b", {N("i")})))}),
       "fdivmod", {"i"});
  const int n = 6;
  double av[n] = {7.5, -7.5, 7.5, -7.5, 0.0, -0.0};
  double bv[n] = {2.0, 2.0, -2.0, -2.0, -3.0, 3.0};
  double eq[n] = {3.0, -4.0, -4.0, 3.0, -0.0, -0.0};
  double em[n] = {1.5, 0.5, -0.5, -1.5, -0.0, 0.0};
  auto* a = add_array<double>(c, "a", DType::Float64, {n});
  auto* b = add_array<double>(c, "b", DType::Float64, {n});
  auto* q = add_array<double>(c, "q", DType::Float64, {n});
  auto* m = add_array<double>(c, "m", DType::Float64, {n});
  std::memcpy(a, av, sizeof av);
  std::memcpy(b, bv, sizeof bv);
  scalar_int(c, "n", n);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  for (int k = 0; k < n; ++k) {
    EXPECT_EQ(q[k], eq[k]) << k;
    EXPECT_EQ(std::signbit(q[k]), std::signbit(eq[k])) << k;
    EXPECT_EQ(m[k], em[k]) << k;
    EXPECT_EQ(std::signbit(m[k]), std::signbit(em[k])) << k;
  }
}

TEST(CpuCodegen, ParallelReductionAndLastPrivate) {
  Case c;
  // for i in range(n): t = x[i] * 2.0; s += t
  Reduction red;
  red.variable = "s";
  red.op = BinOp::Add;
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(N("t"), Bin(BinOp::Mul, Sub("x", {N("i")}), F(2.0))), Aug(BinOp::Add, N("s"), N("t"))}),
       "red", {"i", "t", "s"}, LoopVerdict::Reduction, {red});
  const int n = 50000;
  double* x = add_array<double>(c, "x", DType::Float64, {n});
  for (int k = 0; k < n; ++k) x[k] = k % 17;  // exact sums
  scalar_int(c, "n", n);
  scalar_float(c, "s", 0.0);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
  double s = 0;
  for (int k = 0; k < n; ++k) s += x[k] * 2.0;
  EXPECT_EQ(out(r, "s")->fval, s);
  EXPECT_EQ(out(r, "s")->kind, ValueKind::NpFloat64);
  EXPECT_EQ(out(r, "t")->fval, x[n - 1] * 2.0);
  EXPECT_EQ(out(r, "i")->ival, n - 1);
}

TEST(CpuCodegen, MathFunctionsMatchLibmAndTrapOnDomain) {
  Case c;
  // for i in range(n): y[i] = math.exp(x[i]) + math.sqrt(x[i])
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("y", {N("i")}),
                   Bin(BinOp::Add, Call("exp", {Sub("x", {N("i")})}), Call("sqrt", {Sub("x", {N("i")})})))}),
       "mathf", {"i"}, LoopVerdict::Parallel);
  const int n = 4000;
  double* x = add_array<double>(c, "x", DType::Float64, {n});
  double* y = add_array<double>(c, "y", DType::Float64, {n});
  for (int k = 0; k < n; ++k) x[k] = k * 0.173;
  scalar_int(c, "n", n);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  for (int k = 0; k < n; ++k) {
    volatile double e = std::exp(x[k]);
    volatile double s = std::sqrt(x[k]);
    EXPECT_EQ(y[k], e + s);
  }
  x[17] = -1.0;  // math.sqrt(-1) raises ValueError
  auto r2 = compile_and_run(c);
  EXPECT_EQ(r2.status, RunStatus::Fallback);
}

TEST(CpuCodegen, CacheHitAndSpecialisationKey) {
  clear_cpu_cache();
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), F(1.0))}), "cachetest", {"i"},
       LoopVerdict::Parallel);
  add_array<double>(c, "y", DType::Float64, {100});
  scalar_int(c, "n", 100);
  auto a = compile_cpu(c.bound, c.plan);
  auto b = compile_cpu(c.bound, c.plan);
  EXPECT_FALSE(a.cache_hit);
  EXPECT_TRUE(b.cache_hit);
  EXPECT_EQ(a.variant.get(), b.variant.get());
  // n beyond the shape: the subscript can no longer be proven in range
  scalar_int(c, "n", 101);
  auto d = compile_cpu(c.bound, c.plan);
  EXPECT_FALSE(d.cache_hit);
  EXPECT_TRUE(cpu_variant_needs_snapshot(*d.variant));
  EXPECT_FALSE(cpu_variant_needs_snapshot(*a.variant));
  // dispatch cost on a hit: specialisation only
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < 1000; ++k) compile_cpu(c.bound, c.plan);
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 1000;
  EXPECT_LT(us, 200.0);
}

TEST(CpuCodegen, CancelStopsLongLoop) {
  Case c;
  // a long 2-deep loop: for i in range(n): for j in range(n): s += 1.0
  make(c, For("i", I(0), N("n"), nullptr, {For("j", I(0), N("n"), nullptr, {Aug(BinOp::Add, N("s"), F(1.0))})}),
       "cancel", {"i", "j", "s"});
  scalar_int(c, "n", 2000000);
  scalar_float(c, "s", 0.0);
  auto cr = compile_cpu(c.bound, c.plan);
  ASSERT_TRUE(cr.variant);
  request_cancel(false);
  std::thread t([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    request_cancel(true);
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_cpu(*cr.variant, c.bound);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t.join();
  request_cancel(false);
  EXPECT_EQ(r.status, RunStatus::Cancelled);
  ASSERT_TRUE(r.decline);
  EXPECT_EQ(r.decline->code, DeclineCode::Interrupted);
  EXPECT_LT(ms, 1000.0);
}

TEST(CpuCodegen, DeclinesWhatItCannotRunExactly) {
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Call("np.exp", {Sub("y", {N("i")})}))}), "declnp",
       {"i"});
  add_array<double>(c, "y", DType::Float64, {10});
  scalar_int(c, "n", 10);
  auto r = compile_cpu(c.bound, c.plan);
  ASSERT_TRUE(r.decline);
  EXPECT_EQ(r.decline->code, DeclineCode::Exactness);
  EXPECT_NE(r.decline->reason.find("np.exp"), std::string::npos);
}

TEST(CpuCodegen, FollowsAFloatThatBecomesAnIntOnlyWhileTheIntIsExact) {
  // for i in range(n): s = 0.5; s = i   (a float, then an int within 2**53: compiled)
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(N("s"), F(0.5)), Assign(N("s"), N("i"))}), "floatint", {"i", "s"});
  scalar_int(c, "n", 4);
  auto r = compile_cpu(c.bound, c.plan);
  EXPECT_FALSE(r.decline) << r.decline->reason;
  // ... s = int(y[i]): an int of any size, which a double would not hold exactly.
  Case d;
  make(d, For("i", I(0), N("n"), nullptr, {Assign(N("s"), F(0.5)), Assign(N("s"), Call("int", {Sub("y", {N("i")})}))}),
       "floatbigint", {"i", "s"});
  add_array<double>(d, "y", DType::Float64, {4});
  scalar_int(d, "n", 4);
  auto q = compile_cpu(d.bound, d.plan);
  ASSERT_TRUE(q.decline);
  EXPECT_EQ(q.decline->code, DeclineCode::Typing) << q.decline->reason;
  EXPECT_NE(q.decline->reason.find("one type per variable"), std::string::npos) << q.decline->reason;
}

TEST(CpuCodegen, FollowsAnIntThatBecomesAFloatOnlyWhereBothAgree) {
  // for i in range(n): s = i; s = 0.5   (an int, then a float: compiled)
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(N("s"), N("i")), Assign(N("s"), F(0.5))}), "intfloat", {"i", "s"});
  scalar_int(c, "n", 4);
  auto r = compile_cpu(c.bound, c.plan);
  EXPECT_FALSE(r.decline) << r.decline->reason;
  // ... t = s: t would be the int or the float depending on the iteration.
  Case d;
  make(d, For("i", I(0), N("n"), nullptr, {Assign(N("s"), N("i")), Assign(N("t"), N("s")), Assign(N("s"), F(0.5))}),
       "intfloatcopy", {"i", "s", "t"});
  scalar_int(d, "n", 4);
  auto q = compile_cpu(d.bound, d.plan);
  ASSERT_TRUE(q.decline);
  EXPECT_EQ(q.decline->code, DeclineCode::Typing) << q.decline->reason;
  // ... and with a float operand instead, s * 2.0 is the same either way.
  Case e;
  make(e,
       For("i", I(0), N("n"), nullptr,
           {Assign(N("s"), N("i")), Assign(N("t"), Bin(BinOp::Mul, N("s"), F(2.0))), Assign(N("s"), F(0.5))}),
       "intfloatmul", {"i", "s", "t"});
  scalar_int(e, "n", 4);
  auto m = compile_cpu(e.bound, e.plan);
  EXPECT_FALSE(m.decline) << m.decline->reason;
}

TEST(CpuCodegen, PowerCallsTheCLibraryPowUnchanged) {
  // for i in range(n): y[i] = x[i] ** 2.0   (np.float64 ** float: NumPy's
  // scalar code calls pow(); so does CPython's float ** float). The C
  // library's pow(x, 2.0) is not always x * x, which LLVM would substitute.
  for (CpuTier tier : {CpuTier::Quick, CpuTier::Optimised}) {
    Case c;
    make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Bin(BinOp::Pow, Sub("x", {N("i")}), F(2.0)))}),
         "pow2", {"i"}, LoopVerdict::Parallel);
    const int n = 20000;
    double* x = add_array<double>(c, "x", DType::Float64, {n});
    double* y = add_array<double>(c, "y", DType::Float64, {n});
    for (int k = 0; k < n; ++k) x[k] = std::ldexp(1.0 + std::fmod(k * 0.6180339887498949, 1.0), k % 40 - 20);
    scalar_int(c, "n", n);
    CpuOptions o;
    o.tier = tier;
    auto r = compile_and_run(c, o);
    ASSERT_EQ(r.status, RunStatus::Ok);
    double (*volatile libm_pow)(double, double) = &std::pow;
    int not_square = 0;
    for (int k = 0; k < n; ++k) {
      double want = libm_pow(x[k], 2.0);
      volatile double sq = x[k] * x[k];
      not_square += want != sq;
      ASSERT_EQ(std::memcmp(&y[k], &want, sizeof want), 0) << "x = " << x[k];
    }
    EXPECT_GT(not_square, 0);  // the values tell the two apart
  }
}

TEST(CpuCodegen, DeclinesPowerThatNumPyComputesInItsUfunc) {
  // np.float32 ** float is computed by NumPy's np.power loop (vectorised),
  // not by pow(): declined, with the reason.
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Bin(BinOp::Pow, Sub("x", {N("i")}), F(3.0)))}),
       "pow32", {"i"});
  add_array<float>(c, "x", DType::Float32, {10});
  add_array<double>(c, "y", DType::Float64, {10});
  scalar_int(c, "n", 10);
  auto r = compile_cpu(c.bound, c.plan);
  ASSERT_TRUE(r.decline);
  EXPECT_EQ(r.decline->code, DeclineCode::Exactness);
  EXPECT_NE(r.decline->reason.find("np.power"), std::string::npos) << r.decline->reason;
}

TEST(CpuCodegen, TruncAndFloorOfNumPyScalarsAsPython) {
  {
    // math.trunc(np.float32) raises TypeError in Python: declined
    Case c;
    make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Call("trunc", {Sub("x", {N("i")})}))}),
         "trunc32", {"i"});
    add_array<float>(c, "x", DType::Float32, {4});
    add_array<double>(c, "y", DType::Float64, {4});
    scalar_int(c, "n", 4);
    auto r = compile_cpu(c.bound, c.plan);
    ASSERT_TRUE(r.decline);
    EXPECT_EQ(r.decline->code, DeclineCode::Exactness);
    EXPECT_NE(r.decline->reason.find("__trunc__"), std::string::npos) << r.decline->reason;
  }
  // math.floor(np.int64) goes through float: 2**53 + 1 floors to 2**53
  Case c;
  make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), Call("floor", {Sub("x", {N("i")})}))}), "floor64",
       {"i"});
  int64_t* x = add_array<int64_t>(c, "x", DType::Int64, {3});
  int64_t* y = add_array<int64_t>(c, "y", DType::Int64, {3});
  x[0] = (int64_t(1) << 53) + 1;
  x[1] = -((int64_t(1) << 53) + 1);
  x[2] = 12345;
  scalar_int(c, "n", 3);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  EXPECT_EQ(y[0], int64_t(1) << 53);
  EXPECT_EQ(y[1], -(int64_t(1) << 53));
  EXPECT_EQ(y[2], 12345);
}

// ---- small integer arrays ------------------------------------------------------
// NumPy 1.24: np.uint8 with a Python int computes in int64 (255 - x[i] and
// x[i] - 255 do not wrap); the np.int64 stored into a uint8 element wraps
// silently; a Python int out of range, or a float, out of range stops the run.
TEST(CpuCodegen, SmallIntegerLoadsAndStores) {
  Case c;
  // for i in range(n): y[i] = x[i] - 255; z[i] = 255 - x[i]; w[i] = s[i] * 0.5 + x[i]
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("y", {N("i")}), Bin(BinOp::Sub, Sub("x", {N("i")}), I(255))),
            Assign(Sub("z", {N("i")}), Bin(BinOp::Sub, I(255), Sub("x", {N("i")}))),
            Assign(Sub("w", {N("i")}),
                   Bin(BinOp::Add, Bin(BinOp::Mul, Sub("s", {N("i")}), F(0.5)), Sub("x", {N("i")})))}),
       "small_ints", {"i"});
  auto* x = add_array<uint8_t>(c, "x", DType::UInt8, {4});
  auto* y = add_array<uint8_t>(c, "y", DType::UInt8, {4});
  auto* z = add_array<int64_t>(c, "z", DType::Int64, {4});
  auto* s = add_array<int8_t>(c, "s", DType::Int8, {4});
  auto* w = add_array<double>(c, "w", DType::Float64, {4});
  const uint8_t xs[4] = {0, 1, 200, 255};
  const int8_t ss[4] = {-128, -1, 0, 127};
  for (int k = 0; k < 4; ++k) x[k] = xs[k], s[k] = ss[k];
  scalar_int(c, "n", 4);
  auto r = compile_and_run(c);
  ASSERT_EQ(r.status, RunStatus::Ok);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(y[k], static_cast<uint8_t>(xs[k] - 255));  // np.int64(-255) -> 1 in the uint8 array
    EXPECT_EQ(z[k], 255 - xs[k]);
    EXPECT_EQ(w[k], ss[k] * 0.5 + xs[k]);
  }
}

TEST(CpuCodegen, SmallIntegerStoresOutOfRangeStop) {
  for (double v : {255.9, -0.9, 256.0, -1.0, std::nan("")}) {
    Case c;
    // for i in range(n): y[i] = v
    make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), N("v"))}), "small_float_store", {"i"});
    auto* y = add_array<uint8_t>(c, "y", DType::UInt8, {2});
    scalar_int(c, "n", 2);
    scalar_float(c, "v", v);
    auto r = compile_and_run(c);
    bool in_range = v > -1.0 && v < 256.0;
    ASSERT_EQ(r.status, in_range ? RunStatus::Ok : RunStatus::Fallback) << v;
    if (in_range) {
      EXPECT_EQ(y[1], static_cast<uint8_t>(static_cast<int64_t>(v)));
    }
  }
  for (int64_t v : {int64_t{127}, int64_t{-128}, int64_t{128}, int64_t{-129}}) {
    Case c;
    make(c, For("i", I(0), N("n"), nullptr, {Assign(Sub("y", {N("i")}), N("v"))}), "small_int_store", {"i"});
    auto* y = add_array<int8_t>(c, "y", DType::Int8, {2});
    scalar_int(c, "n", 2);
    scalar_int(c, "v", v);
    auto r = compile_and_run(c);
    bool in_range = v >= -128 && v <= 127;  // NumPy 1.24 warns (DeprecationWarning) outside
    ASSERT_EQ(r.status, in_range ? RunStatus::Ok : RunStatus::Fallback) << v;
    if (in_range) {
      EXPECT_EQ(y[0], v);
    }
  }
}

TEST(CpuCodegen, SmallIntegerArithmeticDeclines) {
  Case c;
  // for i in range(n): y[i] = x[i] + z[i]   (np.uint16 + np.int8 is an np.int32)
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Assign(Sub("y", {N("i")}), Bin(BinOp::Add, Sub("x", {N("i")}), Sub("z", {N("i")})))}),
       "small_add", {"i"});
  add_array<uint16_t>(c, "x", DType::UInt16, {2});
  add_array<uint8_t>(c, "y", DType::UInt8, {2});
  add_array<int8_t>(c, "z", DType::Int8, {2});
  scalar_int(c, "n", 2);
  auto r = compile_cpu(c.bound, c.plan);
  ASSERT_TRUE(r.decline);
  EXPECT_NE(r.decline->reason.find("np.uint16 and np.int8"), std::string::npos) << r.decline->reason;
}

// ---- compile tiers ------------------------------------------------------------
namespace {
// A Case owned by a shared_ptr, and a reference to its nest that keeps it alive
// (what the kernel passes as CpuOptions::nest_owner).
struct OwnedCase {
  std::shared_ptr<Case> c = std::make_shared<Case>();
  std::shared_ptr<const LoopNest> owner() const { return std::shared_ptr<const LoopNest>(c, &c->nest); }
};

// for i in range(n): s += x[i] * y[i]; y[i] = s / (i + 1)   (a sequential chain)
OwnedCase chain_case(int n, const std::string& src) {
  OwnedCase oc;
  Case& c = *oc.c;
  make(c,
       For("i", I(0), N("n"), nullptr,
           {Aug(BinOp::Add, N("s"), Bin(BinOp::Mul, Sub("x", {N("i")}), Sub("y", {N("i")}))),
            Assign(Sub("y", {N("i")}), Bin(BinOp::Div, N("s"), Bin(BinOp::Add, N("i"), I(1))))}),
       src, {"i", "s"});
  double* x = add_array<double>(c, "x", DType::Float64, {n});
  double* y = add_array<double>(c, "y", DType::Float64, {n});
  for (int k = 0; k < n; ++k) {
    x[k] = std::sin(0.37 * k) * 3.1;
    y[k] = std::cos(1.3 * k) / 7.0;
  }
  scalar_int(c, "n", n);
  scalar_float(c, "s", 0.25);
  return oc;
}

std::vector<double> y_of(Case& c, int n) {
  const double* y = static_cast<const double*>(c.bound.arrays.at("y").data);
  return std::vector<double>(y, y + n);
}
}  // namespace

TEST(CpuTiers, QuickAndOptimisedGiveIdenticalResults) {
  const int n = 4099;
  std::vector<double> ys[2];
  double s[2];
  CpuTier tiers[2] = {CpuTier::Quick, CpuTier::Optimised};
  for (int t = 0; t < 2; ++t) {
    clear_cpu_cache();
    OwnedCase oc = chain_case(n, "chain-identical");
    CpuOptions o;
    o.tier = tiers[t];
    auto r = compile_and_run(*oc.c, o);
    ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
    ys[t] = y_of(*oc.c, n);
    s[t] = out(r, "s")->fval;
  }
  EXPECT_EQ(0, std::memcmp(ys[0].data(), ys[1].data(), n * sizeof(double)));
  EXPECT_EQ(0, std::memcmp(&s[0], &s[1], sizeof(double)));
  // and both equal the plain C++ evaluation in Python's order
  OwnedCase ref = chain_case(n, "chain-reference");
  double* x = static_cast<double*>(ref.c->bound.arrays.at("x").data);
  double* y = static_cast<double*>(ref.c->bound.arrays.at("y").data);
  double acc = 0.25;
  for (int k = 0; k < n; ++k) {
    acc += x[k] * y[k];
    y[k] = acc / static_cast<double>(k + 1);
  }
  EXPECT_EQ(0, std::memcmp(ys[0].data(), y, n * sizeof(double)));
  EXPECT_EQ(acc, s[0]);
}

TEST(CpuTiers, AutoRunsQuickThenSwapsInOptimisedCode) {
  clear_cpu_cache();
  const int n = 1000;
  OwnedCase oc = chain_case(n, "chain-auto");
  CpuOptions o;
  o.tier = CpuTier::Auto;
  o.nest_owner = oc.owner();
  int asked = 0;
  o.prefer_quick = [&asked] {
    ++asked;
    return true;
  };
  auto a = compile_cpu(oc.c->bound, oc.c->plan, o);
  ASSERT_TRUE(a.variant);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(a.tier, CpuTier::Quick);
  EXPECT_EQ(cpu_variant_tier(*a.variant), CpuTier::Quick);
  auto r1 = run_cpu(*a.variant, oc.c->bound);
  ASSERT_EQ(r1.status, RunStatus::Ok);
  auto y1 = y_of(*oc.c, n);
  wait_cpu_compiles();
  auto b = compile_cpu(oc.c->bound, oc.c->plan, o);
  EXPECT_TRUE(b.cache_hit);
  EXPECT_FALSE(b.upgrade_pending);
  EXPECT_EQ(asked, 1);  // only asked on a miss
  EXPECT_EQ(b.tier, CpuTier::Optimised);
  EXPECT_EQ(cpu_cache_stats().upgrades, 1u);
  EXPECT_EQ(cpu_cache_stats().entries, 1u);
  // the same inputs again through the optimised code
  OwnedCase again = chain_case(n, "chain-auto");
  auto r2 = run_cpu(*b.variant, again.c->bound);
  ASSERT_EQ(r2.status, RunStatus::Ok);
  EXPECT_EQ(0, std::memcmp(y1.data(), y_of(*again.c, n).data(), n * sizeof(double)));
  EXPECT_EQ(out(r1, "s")->fval, out(r2, "s")->fval);
  // the quick variant handed out earlier stays valid after the swap
  OwnedCase third = chain_case(n, "chain-auto");
  auto r3 = run_cpu(*a.variant, third.c->bound);
  ASSERT_EQ(r3.status, RunStatus::Ok);
  EXPECT_EQ(0, std::memcmp(y1.data(), y_of(*third.c, n).data(), n * sizeof(double)));
}

TEST(CpuTiers, AutoCompilesOptimisedForLongRunsReportsAndUnownedNests) {
  clear_cpu_cache();
  OwnedCase oc = chain_case(100, "chain-long");
  CpuOptions o;
  o.tier = CpuTier::Auto;
  o.nest_owner = oc.owner();
  o.prefer_quick = [] { return false; };
  auto a = compile_cpu(oc.c->bound, oc.c->plan, o);
  EXPECT_EQ(a.tier, CpuTier::Optimised);
  EXPECT_FALSE(a.upgrade_pending);
  // no owner: the nest may not outlive the call
  clear_cpu_cache();
  CpuOptions u;
  u.tier = CpuTier::Auto;
  u.prefer_quick = [] { return true; };
  EXPECT_EQ(compile_cpu(oc.c->bound, oc.c->plan, u).tier, CpuTier::Optimised);
  // a report asks for the IR: always the optimised code
  clear_cpu_cache();
  CpuOptions k = o;
  k.prefer_quick = [] { return true; };
  k.keep_ir = true;
  auto ki = compile_cpu(oc.c->bound, oc.c->plan, k);
  EXPECT_EQ(ki.tier, CpuTier::Optimised);
  EXPECT_NE(cpu_variant_ir(*ki.variant).find("define"), std::string::npos);
  wait_cpu_compiles();
  EXPECT_EQ(cpu_cache_stats().upgrades, 0u);
}

TEST(CpuTiers, ClearingTheCacheDropsPendingUpgrades) {
  for (int round = 0; round < 5; ++round) {
    clear_cpu_cache();
    OwnedCase oc = chain_case(200, "chain-clear-" + std::to_string(round));
    CpuOptions o;
    o.tier = CpuTier::Auto;
    o.nest_owner = oc.owner();
    o.prefer_quick = [] { return true; };
    auto a = compile_cpu(oc.c->bound, oc.c->plan, o);
    EXPECT_EQ(a.tier, CpuTier::Quick);
    EXPECT_TRUE(a.upgrade_pending);
    clear_cpu_cache();  // while the upgrade is queued or under way
    wait_cpu_compiles();
    auto s = cpu_cache_stats();
    EXPECT_EQ(s.entries, 0u);
    EXPECT_EQ(s.upgrades, 0u);
    auto b = compile_cpu(oc.c->bound, oc.c->plan, o);
    EXPECT_FALSE(b.cache_hit);
    EXPECT_EQ(b.tier, CpuTier::Quick);
  }
  wait_cpu_compiles();
}

TEST(CpuTiers, ALongQuickRunGetsTheOptimisedCodeAtTheNextCall) {
  clear_cpu_cache();
  const int n = 1 << 22;
  OwnedCase oc = chain_case(n, "chain-wait");
  CpuOptions o;
  o.tier = CpuTier::Auto;
  o.nest_owner = oc.owner();
  o.prefer_quick = [] { return true; };
  auto a = compile_cpu(oc.c->bound, oc.c->plan, o);
  ASSERT_TRUE(a.variant);
  ASSERT_EQ(a.tier, CpuTier::Quick);
  auto r = run_cpu(*a.variant, oc.c->bound);
  ASSERT_EQ(r.status, RunStatus::Ok);
  if (r.run_ms < 5.0) GTEST_SKIP() << "the quick run took " << r.run_ms << " ms: too short to wait for";
  // The next call compiles the queued optimised code itself, or waits for the
  // background thread (at most half the quick run) while it builds it.
  auto t0 = std::chrono::steady_clock::now();
  auto b = compile_cpu(oc.c->bound, oc.c->plan, o);
  const double waited_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(b.variant);
  EXPECT_TRUE(b.cache_hit);
  if (b.tier == CpuTier::Quick) {
    EXPECT_TRUE(b.upgrade_pending);
    EXPECT_GE(waited_ms, 0.45 * r.run_ms);
  } else {
    EXPECT_FALSE(b.upgrade_pending);
  }
  wait_cpu_compiles();
  // Either way the values are those of the quick code's run.
  OwnedCase again = chain_case(n, "chain-wait");
  auto c2 = compile_cpu(oc.c->bound, oc.c->plan, o);
  EXPECT_EQ(c2.tier, CpuTier::Optimised);
  ASSERT_EQ(run_cpu(*c2.variant, again.c->bound).status, RunStatus::Ok);
  OwnedCase first = chain_case(n, "chain-wait");
  ASSERT_EQ(run_cpu(*a.variant, first.c->bound).status, RunStatus::Ok);
  EXPECT_EQ(0, std::memcmp(y_of(*first.c, n).data(), y_of(*again.c, n).data(), n * sizeof(double)));
  // A short quick run is not waited for.
  clear_cpu_cache();
  OwnedCase small = chain_case(64, "chain-nowait");
  CpuOptions s = o;
  s.nest_owner = small.owner();
  auto q = compile_cpu(small.c->bound, small.c->plan, s);
  ASSERT_EQ(q.tier, CpuTier::Quick);
  ASSERT_EQ(run_cpu(*q.variant, small.c->bound).status, RunStatus::Ok);
  auto q2 = compile_cpu(small.c->bound, small.c->plan, s);
  EXPECT_TRUE(q2.cache_hit);
  wait_cpu_compiles();
}

TEST(CpuTiers, BackgroundCompileInstallsOptimisedCodeForLaterRuns) {
  clear_cpu_cache();
  const int n = 300;
  OwnedCase oc = chain_case(n, "chain-ahead");
  oc.c->plan.identity = loopscope::analysis::PlanIdentity::fresh();  // as the analysis' cached plans have
  CpuOptions o;
  o.tier = CpuTier::Auto;
  o.nest_owner = oc.owner();
  EXPECT_FALSE(cpu_variant_cached(oc.c->bound, oc.c->plan, o));
  EXPECT_FALSE(check_cpu(oc.c->bound, oc.c->plan, o).compiled);
  EXPECT_TRUE(compile_cpu_in_background(oc.c->bound, oc.c->plan, o));
  EXPECT_FALSE(compile_cpu_in_background(oc.c->bound, oc.c->plan, o));  // queued or built already
  wait_cpu_compiles();
  EXPECT_TRUE(cpu_variant_cached(oc.c->bound, oc.c->plan, o));
  EXPECT_TRUE(check_cpu(oc.c->bound, oc.c->plan, o).compiled);
  EXPECT_FALSE(compile_cpu_in_background(oc.c->bound, oc.c->plan, o));
  // The run finds it: no compile, optimised code, the results of a plain compile.
  auto a = compile_cpu(oc.c->bound, oc.c->plan, o);
  ASSERT_TRUE(a.variant);
  EXPECT_TRUE(a.cache_hit);
  EXPECT_EQ(a.tier, CpuTier::Optimised);
  ASSERT_EQ(run_cpu(*a.variant, oc.c->bound).status, RunStatus::Ok);
  OwnedCase plain = chain_case(n, "chain-ahead-plain");
  CpuOptions q;
  q.tier = CpuTier::Quick;
  auto b = compile_cpu(plain.c->bound, plain.c->plan, q);
  ASSERT_TRUE(b.variant);
  ASSERT_EQ(run_cpu(*b.variant, plain.c->bound).status, RunStatus::Ok);
  EXPECT_EQ(0, std::memcmp(y_of(*oc.c, n).data(), y_of(*plain.c, n).data(), n * sizeof(double)));
  // Without an owner the job could outlive the nest's IR: nothing is queued.
  clear_cpu_cache();
  CpuOptions u;
  EXPECT_FALSE(compile_cpu_in_background(oc.c->bound, oc.c->plan, u));
  // Cleared while queued: the job installs nothing.
  EXPECT_TRUE(compile_cpu_in_background(oc.c->bound, oc.c->plan, o));
  clear_cpu_cache();
  wait_cpu_compiles();
  EXPECT_FALSE(cpu_variant_cached(oc.c->bound, oc.c->plan, o));
  EXPECT_EQ(cpu_cache_stats().entries, 0u);
}

// A region of a parallel loop too short to pay for waking the pool runs on
// the calling thread (analysis::parallel_region_pays of the work at its
// entry); a long one on the pool. The results are the same.
TEST(CpuCodegen, ShortParallelRegionsRunOnTheCallingThread) {
  set_cpu_thread_count(4);  // whatever this machine's CPUs
  for (int n : {100, 100000}) {
    Case c;
    // for t in range(steps): for i in range(n): y[i] = y[i] + x[i] * t
    StmtPtr inner = For(
        "i", I(0), N("n"), nullptr,
        {Assign(Sub("y", {N("i")}), Bin(BinOp::Add, Sub("y", {N("i")}), Bin(BinOp::Mul, Sub("x", {N("i")}), N("t"))))});
    make(c, For("t", I(0), N("steps"), nullptr, {inner}), "short_regions", {"t", "i"});
    for (auto& lp : c.plan.loops)
      if (lp.loop == inner->id) lp.verdict = LoopVerdict::Parallel;
    const int steps = 7;
    double* x = add_array<double>(c, "x", DType::Float64, {n});
    double* y = add_array<double>(c, "y", DType::Float64, {n});
    std::vector<double> expect(n);
    for (int k = 0; k < n; ++k) {
      x[k] = std::sin(k) * 1e3;
      expect[k] = y[k] = std::cos(k) / 7.0;
    }
    for (int t = 0; t < steps; ++t)
      for (int k = 0; k < n; ++k) expect[k] = expect[k] + x[k] * t;
    scalar_int(c, "n", n);
    scalar_int(c, "steps", steps);
    auto r = compile_and_run(c);
    ASSERT_EQ(r.status, RunStatus::Ok) << (r.decline ? r.decline->reason : "");
    EXPECT_EQ(0, std::memcmp(expect.data(), y, n * sizeof(double)));
    EXPECT_EQ(out(r, "i")->ival, n - 1);
    EXPECT_EQ(out(r, "t")->ival, steps - 1);
    // 100 iterations of 1 + 7 operations do not pay; 100000 do
    EXPECT_EQ(r.regions_inline, n == 100 ? steps : 0) << n;
    EXPECT_EQ(r.regions_parallel, n == 100 ? 0 : steps) << n;
  }
  set_cpu_thread_count(0);  // back to the default
}

// The thread pool's join: the caller waits only for workers inside a loop,
// never for one still asleep (it runs the chunks nobody took itself). Loops
// started right after one another (workers spinning), after a pause longer
// than the workers' spin (workers blocked) and mixed: every piece is copied
// exactly once, every time, and the pool is still whole afterwards.
TEST(CpuCodegen, ThreadPoolJoinsWithoutWaitingForSleepingWorkers) {
  constexpr size_t kBytes = size_t(9) << 20;  // nine 1 MiB pieces: on the pool
  std::vector<unsigned char> src(kBytes), dst(kBytes);
  for (int threads : {2, 4}) {
    for (int round = 0; round < 60; ++round) {
      const unsigned char tag = static_cast<unsigned char>(round * 7 + threads);
      std::memset(src.data(), tag, kBytes);
      std::memset(dst.data(), 0, kBytes);
      if (round % 3 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the 2 ms spin
      loopscope::jit::rt::parallel_copy({{dst.data(), src.data(), kBytes}}, threads);
      ASSERT_EQ(std::memcmp(dst.data(), src.data(), kBytes), 0) << "threads " << threads << ", round " << round;
    }
  }
}
