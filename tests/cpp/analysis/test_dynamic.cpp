// Dynamic phase on hand-bound instances: plans, reasons, aliasing,
// wrap-around, subscript ranges and the cache.
#include "common.hpp"

using namespace loopscope::analysis;

namespace {

using Case = BoundCase;

// Lets float sums run in parallel for the life of the object.
struct Reassociation {
  Reassociation() { set_float_reassociation(true); }
  ~Reassociation() { set_float_reassociation(false); }
};

}  // namespace

TEST(Dynamic, StencilReasonNamesTheDependence) {
  Case c("for i in range(n):\n    for j in range(1, m):\n        A[i][j] = A[i][j - 1] + 1.0\n");
  c.b.arrays["A"] = view(c.buf.make(40), {4, 10});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(10);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  const LoopPlan& j = loop(p, "j");
  EXPECT_EQ(j.verdict, LoopVerdict::Sequential);
  ASSERT_FALSE(j.reasons.empty());
  EXPECT_EQ(j.reasons[0],
            "j carries a flow dependence S1 -> S1 on A: A[i, j] written at iteration j is read as A[i, j - 1] at "
            "j+1 (distance (0,1))");
  EXPECT_TRUE(p.subscripts_in_range);
}

TEST(Dynamic, GemmPlan) {
  Case c(
      "for i in range(n):\n    for j in range(n):\n        for k in range(n):\n"
      "            C[i, j] += A[i, k] * B[k, j]\n");
  for (auto name : {"A", "B", "C"}) c.b.arrays[name] = view(c.buf.make(64), {8, 8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  EXPECT_EQ(loop(p, "j").verdict, LoopVerdict::Parallel);
  // By default a float sum keeps Python's order: k is sequential, and says why.
  const LoopPlan& k = loop(p, "k");
  EXPECT_EQ(k.verdict, LoopVerdict::Sequential);
  ASSERT_EQ(k.reasons.size(), 1u);
  EXPECT_EQ(k.reasons[0].rfind("k accumulates floating-point values into C[i, j] (line 4) with +", 0), 0u)
      << k.reasons[0];
  EXPECT_TRUE(k.reductions.empty());
  EXPECT_TRUE(p.notes.empty());

  Reassociation allowed;
  auto q = c.plan();
  const LoopPlan& kr = loop(q, "k");
  EXPECT_EQ(kr.verdict, LoopVerdict::Reduction);
  ASSERT_EQ(kr.reductions.size(), 1u);
  EXPECT_EQ(kr.reductions[0].variable, "C");
  EXPECT_EQ(kr.reductions[0].op, BinOp::Add);
  EXPECT_FALSE(q.notes.empty());
}

// Which reductions are exact in any order, and so stay parallel by default.
TEST(Dynamic, ExactReductionsStayParallel) {
  auto verdict = [](const std::string& src, DType a_type, std::optional<ScalarKind> s_kind) {
    Case c(src);
    c.b.arrays["A"] = view(c.buf.make(64), {8, 8});
    c.b.arrays["A"].dtype = a_type;
    c.b.scalars["n"] = int_scalar(8);
    if (s_kind) {
      lsa::ScalarBinding s;
      s.kind = *s_kind;
      c.b.scalars["s"] = s;
    }
    return c.plan().loops.back().verdict;
  };
  const std::string sum = "for i in range(n):\n    for j in range(n):\n        s += A[i, j]\n";
  EXPECT_EQ(verdict(sum, DType::Int64, ScalarKind::Int), LoopVerdict::Reduction);
  EXPECT_EQ(verdict(sum, DType::Int32, ScalarKind::Int), LoopVerdict::Reduction);
  EXPECT_EQ(verdict(sum, DType::Float64, ScalarKind::Int), LoopVerdict::Sequential);  // s becomes a float
  EXPECT_EQ(verdict(sum, DType::Int64, ScalarKind::Float), LoopVerdict::Sequential);
  // A counter assigned in the nest, with ints only.
  const std::string count =
      "for i in range(n):\n    c = 0\n    for j in range(n):\n"
      "        if A[i, j] > 0:\n            c += 1\n    A[i, 0] = c\n";
  EXPECT_EQ(verdict(count, DType::Float64, std::nullopt), LoopVerdict::Reduction);
  const std::string fcount =
      "for i in range(n):\n    c = 0.0\n    for j in range(n):\n"
      "        c += 1\n    A[i, 0] = c\n";
  EXPECT_EQ(verdict(fcount, DType::Float64, std::nullopt), LoopVerdict::Sequential);
  const std::string div =
      "for i in range(n):\n    c = 0\n    for j in range(n):\n"
      "        c += j / 2\n    A[i, 0] = c\n";
  EXPECT_EQ(verdict(div, DType::Float64, std::nullopt), LoopVerdict::Sequential);
  // max and min give the same value in any order.
  const std::string mx = "for i in range(n):\n    for j in range(n):\n        s = max(s, A[i, j])\n";
  EXPECT_EQ(verdict(mx, DType::Float64, ScalarKind::Float), LoopVerdict::Reduction);
}

TEST(Dynamic, AliasingByMemory) {
  Case c("for i in range(n):\n    A[i] = B[i] + 1.0\n");
  double* base = c.buf.make(20);
  c.b.scalars["n"] = int_scalar(10);
  // B is A shifted by one element: B[i] = A[i+1], read before written: anti, carried.
  c.b.arrays["A"] = view(base, {10});
  c.b.arrays["B"] = view(base + 1, {10});
  auto p = c.plan();
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential);
  // Disjoint halves: parallel.
  c.b.arrays["B"] = view(base + 10, {10});
  EXPECT_EQ(c.plan().loops[0].verdict, LoopVerdict::Parallel);
  // B is A reversed: B[i] = A[9 - i]: both directions.
  c.b.arrays["B"] = view(base + 9, {10}, {-1});
  EXPECT_EQ(c.plan().loops[0].verdict, LoopVerdict::Sequential);
  // Same array twice: A[i] = A[i] + 1 is parallel.
  c.b.arrays["B"] = c.b.arrays["A"];
  EXPECT_EQ(c.plan().loops[0].verdict, LoopVerdict::Parallel);
}

TEST(Dynamic, NegativeIndexWrapAround) {
  Case c("for i in range(n):\n    A[i] = A[i - 1] * 2.0\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  // i - 1 is -1 at i == 0 (A[7]): a dependence either way, and sequential.
  auto p = c.plan();
  EXPECT_EQ(p.loops[0].verdict, LoopVerdict::Sequential);
  Case d("for i in range(n):\n    A[i] = A[i - 8] * 2.0\n");
  d.b.arrays["A"] = view(d.buf.make(8), {8});
  d.b.scalars["n"] = int_scalar(8);
  // A[i - 8] is always negative and wraps to A[i]: the same element, parallel.
  EXPECT_EQ(d.plan().loops[0].verdict, LoopVerdict::Parallel);
}

TEST(Dynamic, NegativeStepCountsIterationsInExecutionOrder) {
  Case c("for i in range(n - 1, 0, -1):\n    A[i - 1] = A[i] + 1.0\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  EXPECT_EQ(p.loops[0].verdict, LoopVerdict::Sequential);
  bool flow = false;
  for (auto& e : p.edges)
    if (e.kind == DepKind::Flow && e.carrier == 0) {
      flow = true;
      EXPECT_EQ(e.direction[0], Direction::Lt);
      EXPECT_EQ(e.distance[0].value_or(0), 1);
    }
  EXPECT_TRUE(flow);
  EXPECT_NE(p.loops[0].reasons[0].find("i-1"), std::string::npos) << p.loops[0].reasons[0];
}

TEST(Dynamic, ScalarsPrivateReductionAndRecurrence) {
  Case c("for i in range(n):\n    t = A[i] * 2.0\n    s += t\n    B[i] = t\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.arrays["B"] = view(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  lsa::ScalarBinding s;
  s.kind = ScalarKind::Float;
  c.b.scalars["s"] = s;
  Reassociation allowed;
  auto p = c.plan();
  const LoopPlan& l = p.loops[0];
  EXPECT_EQ(l.verdict, LoopVerdict::Reduction);
  ASSERT_EQ(l.reductions.size(), 1u);
  EXPECT_EQ(l.reductions[0].variable, "s");
  EXPECT_EQ(l.privates, (std::vector<std::string>{"t"}));
  EXPECT_EQ(l.last_private, (std::vector<std::string>{"t"}));

  Case d("for i in range(n):\n    s = s * 0.5 + A[i]\n");
  d.b.arrays["A"] = view(d.buf.make(8), {8});
  d.b.scalars["n"] = int_scalar(8);
  d.b.scalars["s"] = s;
  auto q = d.plan();
  EXPECT_EQ(q.loops[0].verdict, LoopVerdict::Sequential);
  EXPECT_NE(q.loops[0].reasons[0].find("scalar s"), std::string::npos);
}

TEST(Dynamic, ZeroAndOneTripLoops) {
  Case c("for i in range(n):\n    A[i + 1] = A[i]\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  for (int64_t n : {0, 1}) {
    c.b.scalars["n"] = int_scalar(n);
    auto p = c.plan();
    EXPECT_EQ(p.loops[0].verdict, LoopVerdict::Parallel) << n;
    EXPECT_TRUE(p.subscripts_in_range) << n;
  }
  c.b.scalars["n"] = int_scalar(3);
  EXPECT_EQ(c.plan().loops[0].verdict, LoopVerdict::Sequential);
}

TEST(Dynamic, SubscriptRangeCheck) {
  Case c("for i in range(n):\n    for j in range(i):\n        A[i, j] = A[j, i + 1]\n");
  c.b.arrays["A"] = view(c.buf.make(64), {8, 8});
  c.b.scalars["n"] = int_scalar(7);
  EXPECT_FALSE(check_subscripts(*c.sa, c.b).has_value());
  c.b.scalars["n"] = int_scalar(8);
  auto d = check_subscripts(*c.sa, c.b);
  ASSERT_TRUE(d.has_value());
  EXPECT_NE(d->reason.find("A[j, i + 1]"), std::string::npos) << d->reason;
  EXPECT_EQ(d->line, 3);
}

TEST(Dynamic, ExactTestSettlesCoupledSubscripts) {
  // cov[i, j] vs cov[j, i] over j >= i: no two iterations of i meet.
  Case c(
      "for i in range(m):\n    for j in range(i, m):\n        C[i, j] = C[i, j] + 1.0\n"
      "        C[j, i] = C[i, j]\n");
  c.b.arrays["C"] = view(c.buf.make(100), {10, 10});
  c.b.scalars["m"] = int_scalar(10);
  auto p = c.plan();
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
}

TEST(Dynamic, NonIntegerBoundDeclines) {
  Case c("for i in range(n):\n    A[i] = 1.0\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  lsa::ScalarBinding f;
  f.kind = ScalarKind::Float;
  f.fval = 3.0;
  c.b.scalars["n"] = f;
  auto p = c.plan();
  ASSERT_TRUE(p.decline.has_value());
  EXPECT_EQ(p.loops[0].verdict, LoopVerdict::Sequential);
}

TEST(Dynamic, CacheHitsOnSameFactsAndMissesOnNewValues) {
  Case c("for i in range(n):\n    A[i + k] = A[i]\n");
  c.b.arrays["A"] = view(c.buf.make(32), {32});
  c.b.scalars["n"] = int_scalar(8);
  c.b.scalars["k"] = int_scalar(0);
  bool hit = true;
  auto p1 = analyze_dynamic_cached(*c.sa, c.b, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(p1->loops[0].verdict, LoopVerdict::Parallel);
  auto p2 = analyze_dynamic_cached(*c.sa, c.b, &hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(p1.get(), p2.get());
  c.b.scalars["k"] = int_scalar(2);
  auto p3 = analyze_dynamic_cached(*c.sa, c.b, &hit);
  EXPECT_FALSE(hit);
  EXPECT_EQ(p3->loops[0].verdict, LoopVerdict::Sequential);
  // A different address with the same shape is the same fact.
  c.b.arrays["A"] = view(c.buf.make(32), {32});
  analyze_dynamic_cached(*c.sa, c.b, &hit);
  EXPECT_TRUE(hit);
}

TEST(Dynamic, FourierMotzkinSettlesCoupledSubscriptsOnLargeInstances) {
  // Too large for the exact test: the coupled system and the triangular
  // bound decide.
  Case c("for i in range(m):\n    for j in range(i):\n        C[i, j] = C[j, i]\n");
  c.b.arrays["C"] = view(c.buf.make(500 * 500), {500, 500});
  c.b.scalars["m"] = int_scalar(500);
  auto p = c.plan();
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  EXPECT_EQ(loop(p, "j").verdict, LoopVerdict::Parallel);
  Case d("for i in range(1, m):\n    for j in range(i):\n        C[i, j] = C[i - 1, j]\n");
  d.b.arrays["C"] = view(d.buf.make(500 * 500), {500, 500});
  d.b.scalars["m"] = int_scalar(500);
  auto q = d.plan();
  EXPECT_EQ(loop(q, "i").verdict, LoopVerdict::Sequential);
  EXPECT_EQ(loop(q, "j").verdict, LoopVerdict::Parallel);
}
