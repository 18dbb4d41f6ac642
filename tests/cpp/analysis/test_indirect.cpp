// Indirect subscripts (an index that reads an array: x[idx[i]], h[int(v[i] *
// 10)]): accepted by the front end, their element unknown to the analysis,
// so a write through one conflicts with every access to its array (and to
// arrays sharing its memory) in every iteration, while reads of arrays the
// nest never writes create no dependence.
#include <algorithm>

#include "common.hpp"

using namespace loopscope::analysis;

namespace {

using Case = BoundCase;

// Lets float sums run in parallel for the life of the object.
struct Reassociation {
  Reassociation() { set_float_reassociation(true); }
  ~Reassociation() { set_float_reassociation(false); }
};

ArrayBinding ints(double* data, std::vector<int64_t> shape) {
  ArrayBinding a = view(data, std::move(shape));
  a.dtype = DType::Int64;
  return a;
}

bool any_reason_has(const LoopPlan& l, const std::string& needle) {
  return std::any_of(l.reasons.begin(), l.reasons.end(),
                     [&](const std::string& r) { return r.find(needle) != std::string::npos; });
}

}  // namespace

TEST(Indirect, FrontEndAcceptsIndexArraysAndIntOfElements) {
  for (const char* src : {"for i in range(n):\n    A[idx[i]] = 1\n", "for i in range(n):\n    h[int(x[i] * 10)] += 1\n",
                          "for i in range(n):\n    y[i] = x[idx[idx[i]] - 1]\n",
                          "for i in range(n):\n    for k in range(m):\n        b[i, col[k]] = 1.0\n"}) {
    auto r = nest_from_source(src);
    EXPECT_FALSE(r.decline) << src << (r.decline ? r.decline->reason : "");
  }
  auto r = nest_from_source("for i in range(n):\n    h[int(x[i] * 10)] += 1\n");
  ASSERT_TRUE(r.nest);
  EXPECT_EQ(r.nest->arrays, (std::vector<std::string>{"h", "x"}));
  EXPECT_EQ(
      arrays_read(
          *nest_from_source("for i in range(n):\n    A[idx[i] + J[i]] = 1\n").nest->root->body[0]->target->args[0]),
      (std::vector<std::string>{"idx", "J"}));
}

TEST(Indirect, GatherFromAnArrayNeverWrittenStaysParallel) {
  Case c("for i in range(n):\n    y[i] = x[idx[i]]\n");
  c.b.arrays["y"] = view(c.buf.make(8), {8});
  c.b.arrays["x"] = view(c.buf.make(5), {5});
  c.b.arrays["idx"] = ints(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  // Never claimed in range; checked by native code as it runs.
  EXPECT_FALSE(p.subscripts_in_range);
  ASSERT_TRUE(p.subscript_problem);
  EXPECT_NE(p.subscript_problem->reason.find("x[idx[i]] reads idx"), std::string::npos) << p.subscript_problem->reason;
  EXPECT_TRUE(p.subscripts_only_indirect);
  EXPECT_FALSE(check_subscripts(*c.sa, c.b));
}

TEST(Indirect, IntegerHistogramIsAReduction) {
  // Integer sums give the same elements in any order (modulo 2**64).
  for (const char* src :
       {"for i in range(n):\n    hist[idx[i]] += 1\n", "for i in range(n):\n    hist[idx[i]] -= w[i]\n",
        "for i in range(n):\n    hist[idx[i]] = hist[idx[i]] + w[i] * 2\n",
        "for i in range(n):\n    k = idx[i]\n    if w[i] > 0:\n        hist[k] += i\n"}) {
    Case c(src);
    c.b.arrays["hist"] = ints(c.buf.make(5), {5});
    c.b.arrays["idx"] = ints(c.buf.make(8), {8});
    c.b.arrays["w"] = ints(c.buf.make(8), {8});
    c.b.scalars["n"] = int_scalar(8);
    auto p = c.plan();
    ASSERT_FALSE(p.decline) << src;
    const LoopPlan& i = loop(p, "i");
    EXPECT_EQ(i.verdict, LoopVerdict::Reduction) << src;
    ASSERT_EQ(i.reductions.size(), 1u) << src;
    EXPECT_EQ(i.reductions[0].variable, "hist");
    EXPECT_TRUE(any_reason_has(i, "accumulates into hist[")) << src;
  }
  // Not with a term that may be a float (truncated at every store), a bool
  // array (True + -1 is False), a product, or another read of hist.
  struct Other {
    const char* src;
    DType hist, w;
  };
  for (auto o : {Other{"for i in range(n):\n    hist[idx[i]] += w[i]\n", DType::Int64, DType::Float64},
                 Other{"for i in range(n):\n    hist[idx[i]] += 1\n", DType::Bool, DType::Int64},
                 Other{"for i in range(n):\n    hist[idx[i]] *= 2\n", DType::Int64, DType::Int64},
                 Other{"for i in range(n):\n    hist[idx[i]] += 1\n    w[i] = hist[i]\n", DType::Int64, DType::Int64},
                 Other{"for i in range(n):\n    hist[idx[i]] += hist[i]\n", DType::Int64, DType::Int64}}) {
    Case c(o.src);
    c.b.arrays["hist"] = ints(c.buf.make(8), {8});
    c.b.arrays["hist"].dtype = o.hist;
    c.b.arrays["idx"] = ints(c.buf.make(8), {8});
    c.b.arrays["w"] = ints(c.buf.make(8), {8});
    c.b.arrays["w"].dtype = o.w;
    c.b.scalars["n"] = int_scalar(8);
    auto p = c.plan();
    ASSERT_FALSE(p.decline) << o.src;
    EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential) << o.src;
  }
}

TEST(Indirect, FloatHistogramIsSequentialAndSaysWhy) {
  Case c("for i in range(n):\n    hist[idx[i]] += 1.0\n");
  c.b.arrays["hist"] = view(c.buf.make(5), {5});
  c.b.arrays["idx"] = ints(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  const LoopPlan& i = loop(p, "i");
  EXPECT_EQ(i.verdict, LoopVerdict::Sequential);
  EXPECT_TRUE(any_reason_has(i,
                             "i carries an output dependence S1 -> S1 on hist: hist[idx[i]] is written at a subscript "
                             "the analysis cannot read (it depends on idx), so i may write the same element in two "
                             "iterations"));
  // The write may land anywhere in hist: a run that may stop saves all of it.
  ASSERT_TRUE(p.write_extents.count("hist"));
  EXPECT_EQ(p.write_extents.at("hist").lo, 0);
  EXPECT_EQ(p.write_extents.at("hist").hi, 40);
}

TEST(Indirect, ScatterAndIntOfAFloatAreSequential) {
  for (const char* src :
       {"for i in range(n):\n    out[perm[i]] = v[i]\n", "for i in range(n):\n    out[int(v[i] * 10)] = 1.0\n"}) {
    Case c(src);
    c.b.arrays["out"] = view(c.buf.make(8), {8});
    c.b.arrays["v"] = view(c.buf.make(8), {8});
    c.b.arrays["perm"] = ints(c.buf.make(8), {8});
    c.b.scalars["n"] = int_scalar(8);
    auto p = c.plan();
    ASSERT_FALSE(p.decline) << src;
    EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential) << src;
    EXPECT_TRUE(p.subscripts_only_indirect) << src;
  }
}

TEST(Indirect, AnUnknownColumnKeepsRowsParallel) {
  Case c("for i in range(n):\n    for k in range(m):\n        b[i, col[k]] = a[i, k]\n");
  c.b.arrays["b"] = view(c.buf.make(20), {4, 5});
  c.b.arrays["a"] = view(c.buf.make(12), {4, 3});
  c.b.arrays["col"] = ints(c.buf.make(3), {3});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(3);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  const LoopPlan& k = loop(p, "k");
  EXPECT_EQ(k.verdict, LoopVerdict::Sequential);
  EXPECT_TRUE(any_reason_has(k, "(it depends on col), so k may write the same element in two iterations"));
}

TEST(Indirect, GatherFromTheWrittenArrayIsSequential) {
  Case c("for i in range(n):\n    y[i] = x[idx[i]]\n");
  double* y = c.buf.make(8);
  c.b.arrays["y"] = view(y, {8});
  c.b.arrays["x"] = view(y, {8});  // the same array
  c.b.arrays["idx"] = ints(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  const LoopPlan& i = loop(p, "i");
  EXPECT_EQ(i.verdict, LoopVerdict::Sequential);
  EXPECT_TRUE(any_reason_has(i, "x[idx[i]] is read at a subscript the analysis cannot read (it depends on idx)"));

  // x overlapping y (a view one element further): the same.
  Case d("for i in range(n):\n    y[i] = x[idx[i]]\n");
  double* buf = d.buf.make(9);
  d.b.arrays["y"] = view(buf, {8});
  d.b.arrays["x"] = view(buf + 1, {8});
  d.b.arrays["idx"] = ints(d.buf.make(8), {8});
  d.b.scalars["n"] = int_scalar(8);
  EXPECT_EQ(loop(d.plan(), "i").verdict, LoopVerdict::Sequential);
}

TEST(Indirect, IndexArraySharingMemoryWithTheWrittenArray) {
  // a[a[i]] += 1: the index array is the histogram.
  Case c("for i in range(n):\n    a[a[i]] += 1\n");
  c.b.arrays["a"] = ints(c.buf.make(6), {6});
  c.b.scalars["n"] = int_scalar(6);
  EXPECT_EQ(loop(c.plan(), "i").verdict, LoopVerdict::Sequential);

  // y[i] = x[b[i]] with b a view of y shifted by one: iteration i reads
  // y[i + 1] as b[i], which iteration i + 1 overwrites.
  Case d("for i in range(n):\n    y[i] = x[b[i]]\n");
  double* buf = d.buf.make(9);
  d.b.arrays["y"] = ints(buf, {8});
  d.b.arrays["b"] = ints(buf + 1, {8});
  d.b.arrays["x"] = view(d.buf.make(8), {8});
  d.b.scalars["n"] = int_scalar(8);
  auto p = d.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential);

  // An index array written in the nest: idx[i + 1] = 0 then x[idx[i]].
  Case e("for i in range(n):\n    idx[i + 1] = 0\n    y[i] = x[idx[i]]\n");
  e.b.arrays["idx"] = ints(e.buf.make(9), {9});
  e.b.arrays["y"] = view(e.buf.make(8), {8});
  e.b.arrays["x"] = view(e.buf.make(8), {8});
  e.b.scalars["n"] = int_scalar(8);
  EXPECT_EQ(loop(e.plan(), "i").verdict, LoopVerdict::Sequential);
}

TEST(Indirect, InnerLoopOfAParallelOuterLoop) {
  // Rows gathered through col in the inner loop: the outer loop writes its
  // own y[r] and only reads val, col and x.
  Case c(
      "for r in range(n):\n    s = 0.0\n    for k in range(m):\n        s += val[r, k] * x[col[r, k]]\n"
      "    y[r] = s\n");
  c.b.arrays["val"] = view(c.buf.make(12), {4, 3});
  c.b.arrays["col"] = ints(c.buf.make(12), {4, 3});
  c.b.arrays["x"] = view(c.buf.make(5), {5});
  c.b.arrays["y"] = view(c.buf.make(4), {4});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(3);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "r").verdict, LoopVerdict::Parallel);
  EXPECT_EQ(loop(p, "k").verdict, LoopVerdict::Sequential);  // a float sum, Python's order
}

TEST(Indirect, InvariantIndirectAccumulatorInAnInnerLoop) {
  // hist[idx[i]] does not change inside j: an array reduction there (floats
  // with reassociation, integers always); i writes hist at an unknown
  // element in every iteration.
  Reassociation allowed;
  Case c("for i in range(n):\n    for j in range(m):\n        hist[idx[i]] += w[j]\n");
  c.b.arrays["hist"] = view(c.buf.make(5), {5});
  c.b.arrays["idx"] = ints(c.buf.make(4), {4});
  c.b.arrays["w"] = view(c.buf.make(3), {3});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(3);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential);
  EXPECT_EQ(loop(p, "j").verdict, LoopVerdict::Reduction);

  // ... unless the index array changes inside j.
  Case d("for i in range(n):\n    for j in range(m):\n        hist[idx[i]] += w[j]\n        idx[i] = j\n");
  d.b.arrays["hist"] = ints(d.buf.make(5), {5});
  d.b.arrays["idx"] = ints(d.buf.make(4), {4});
  d.b.arrays["w"] = ints(d.buf.make(3), {3});
  d.b.scalars["n"] = int_scalar(4);
  d.b.scalars["m"] = int_scalar(3);
  EXPECT_EQ(loop(d.plan(), "j").verdict, LoopVerdict::Sequential);
}

TEST(Indirect, ABoundedProblemComesFirst) {
  // y[i + 1] is out of range for i = n - 1 whatever the data: that problem is
  // the plan's, and the cost model is told.
  Case c("for i in range(n):\n    y[i + 1] = x[idx[i]]\n");
  c.b.arrays["y"] = view(c.buf.make(8), {8});
  c.b.arrays["x"] = view(c.buf.make(8), {8});
  c.b.arrays["idx"] = ints(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  ASSERT_TRUE(p.subscript_problem);
  EXPECT_FALSE(p.subscripts_only_indirect);
  EXPECT_NE(p.subscript_problem->reason.find("y[i + 1] may be out of range"), std::string::npos)
      << p.subscript_problem->reason;
  EXPECT_TRUE(check_subscripts(*c.sa, c.b));
}

TEST(Indirect, LoopBoundsThatReadAnArrayRunInOrderAndTheRowsInParallel) {
  Case c(
      "for r in range(n):\n    s = 0.0\n    for k in range(ptr[r], ptr[r + 1]):\n        s += val[k] * x[col[k]]\n"
      "    y[r] = s\n");
  c.b.arrays["ptr"] = ints(c.buf.make(5), {5});
  c.b.arrays["col"] = ints(c.buf.make(9), {9});
  c.b.arrays["val"] = view(c.buf.make(9), {9});
  c.b.arrays["x"] = view(c.buf.make(6), {6});
  c.b.arrays["y"] = view(c.buf.make(4), {4});
  c.b.scalars["n"] = int_scalar(4);
  auto p = c.plan();
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_EQ(loop(p, "r").verdict, LoopVerdict::Parallel);
  EXPECT_EQ(loop(p, "k").verdict, LoopVerdict::Sequential);
  EXPECT_TRUE(any_reason_has(loop(p, "k"), "reads the array ptr")) << loop(p, "k").reasons[0];
  // val[k]: native code checks it, as an indirect subscript.
  EXPECT_TRUE(p.subscripts_only_indirect);
  EXPECT_FALSE(check_subscripts(*c.sa, c.b));
}

TEST(Indirect, BoundsThatReadAnArrayTheNestWritesCarryTheDependence) {
  Case c("for i in range(n):\n    for k in range(cnt[i]):\n        cnt[i + 1] += 1\n");
  c.b.arrays["cnt"] = ints(c.buf.make(6), {6});
  c.b.scalars["n"] = int_scalar(5);
  auto p = c.plan();
  ASSERT_FALSE(p.decline) << p.decline->reason;
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential);
}

TEST(Indirect, AScalarReadFromAnArrayIsAnIndirectSubscript) {
  // k = idx[i]; hist[k] += 1.0 is hist[idx[i]] += 1.0 spelled in two lines.
  Case c("for i in range(n):\n    k = idx[i]\n    hist[k] += 1.0\n");
  c.b.arrays["hist"] = view(c.buf.make(5), {5});
  c.b.arrays["idx"] = ints(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  const LoopPlan& i = loop(p, "i");
  EXPECT_EQ(i.verdict, LoopVerdict::Sequential);
  EXPECT_TRUE(any_reason_has(i, "hist[k] is written at a subscript the analysis cannot read (it depends on idx)"));
  ASSERT_TRUE(p.subscript_problem);
  EXPECT_EQ(p.subscript_problem->reason,
            "the subscript k of hist[k] holds a value read from idx, so whether it is in range is known only while "
            "the loop runs (native code checks it)");
  EXPECT_TRUE(p.subscripts_only_indirect);

  // A scalar also assigned otherwise (a counter) is not: its range is a
  // question for the analysis, not for the data.
  Case d("for i in range(n):\n    k = idx[i]\n    if k > 2:\n        k = k - 1\n    hist[k] += 1\n");
  d.b.arrays["hist"] = ints(d.buf.make(5), {5});
  d.b.arrays["idx"] = ints(d.buf.make(8), {8});
  d.b.scalars["n"] = int_scalar(8);
  auto q = d.plan();
  ASSERT_TRUE(q.subscript_problem);
  EXPECT_FALSE(q.subscripts_only_indirect);
}
