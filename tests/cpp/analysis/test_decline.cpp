// The one decline type: every stage gives its declines a code.
#include "common.hpp"
#include "loopscope/analysis/exactness.hpp"

using namespace loopscope::analysis;

TEST(Decline, CodesHaveStableNames) {
  EXPECT_STREQ(to_string(DeclineCode::UnsupportedSyntax), "unsupported_syntax");
  EXPECT_STREQ(to_string(DeclineCode::UnsupportedValue), "unsupported_value");
  EXPECT_STREQ(to_string(DeclineCode::UnsupportedOperation), "unsupported_operation");
  EXPECT_STREQ(to_string(DeclineCode::Typing), "typing");
  EXPECT_STREQ(to_string(DeclineCode::Dependence), "dependence");
  EXPECT_STREQ(to_string(DeclineCode::SubscriptRange), "subscript_range");
  EXPECT_STREQ(to_string(DeclineCode::Exactness), "exactness");
  EXPECT_STREQ(to_string(DeclineCode::Trap), "trap");
  EXPECT_STREQ(to_string(DeclineCode::NoDevice), "no_device");
  EXPECT_STREQ(to_string(DeclineCode::Interrupted), "interrupted");
  EXPECT_STREQ(to_string(DeclineCode::Internal), "internal");
}

TEST(Decline, FrontEndDeclinesAreUnsupportedSyntax) {
  for (const char* src : {"for i in range(n):\n    with x:\n        x -= 1\n", "for i in range(n):\n    A[i] = f(i)\n",
                          "for i in range(n):\n    A[i:] = 1\n", "while x:\n    x -= 1\n"}) {
    auto r = nest_from_source(src);
    ASSERT_TRUE(r.decline) << src;
    EXPECT_EQ(r.decline->code, DeclineCode::UnsupportedSyntax) << r.decline->reason;
    EXPECT_TRUE(r.decline->detail.empty());
  }
}

TEST(Decline, BoundsTheStaticPhaseCannotReadMakeOpaqueLoops) {
  // A product of loop variables, an array element, a step that changes:
  // the loop runs in order (LoopInfo::opaque) instead of declining the nest.
  for (const char* src : {"for i in range(n):\n    for j in range(i * i):\n        A[j] = 1\n",
                          "for i in range(n):\n    for j in range(A[i]):\n        B[j] = 1\n",
                          "for i in range(1, n):\n    for j in range(0, n, i):\n        A[j] = 1\n"}) {
    auto n = parse_ok(src);
    EXPECT_FALSE(static_decline(*analyze_static(n))) << src;
  }
  auto n = parse_ok("for i in range(n):\n    for j in range(A[i]):\n        B[j] = 1\n");
  EXPECT_EQ(to_source(*n->root->step), "1");
}

TEST(Decline, NumPyScalarInputsAreExactness) {
  EXPECT_FALSE(numpy_scalar_input("x", "float64", 1));
  EXPECT_FALSE(numpy_scalar_input("x", "float32", 1));
  EXPECT_FALSE(numpy_scalar_input("x", "int32", 1));
  EXPECT_FALSE(numpy_scalar_input("x", "uint8", 1));
  auto d = numpy_scalar_input("x", "longlong", 4);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, DeclineCode::Exactness);
  EXPECT_EQ(d->line, 4);
  EXPECT_EQ(d->reason,
            "x is a NumPy longlong scalar; native code supports np.float64, np.float32, np.float16, np.int64, "
            "np.uint64, np.int32, np.int16, np.int8, np.uint32, np.uint16, np.uint8, np.complex128, np.complex64 and "
            "np.bool_ scalars");
}

TEST(Decline, TrapsKeepTheirSentence) {
  Decline d = trap_decline(Trap::Index);
  EXPECT_EQ(d.code, DeclineCode::SubscriptRange);
  EXPECT_EQ(d.reason, trap_reason(Trap::Index));
  d = trap_decline(Trap::Overflow);
  EXPECT_EQ(d.code, DeclineCode::Trap);
  EXPECT_EQ(d.reason, trap_reason(Trap::Overflow));
  EXPECT_FALSE(d.detail.empty());
}

TEST(Decline, DynamicPhaseCodes) {
  {
    // A[i + 1] at i == n - 1 reads past the end: a subscript problem, not a decline
    auto n = parse_ok("for i in range(n):\n    B[i] = A[i + 1]\n");
    auto sa = analyze_static(n);
    Buffers buf;
    BoundNest b;
    b.nest = n.get();
    b.arrays["A"] = view(buf.make(4), {4});
    b.arrays["B"] = view(buf.make(4), {4});
    b.scalars["n"] = int_scalar(4);
    ParallelPlan p = analyze_dynamic(*sa, b);
    ASSERT_FALSE(p.decline);
    ASSERT_TRUE(p.subscript_problem);
    EXPECT_EQ(p.subscript_problem->code, DeclineCode::SubscriptRange);
    EXPECT_EQ(p.subscript_problem->line, 2);
    auto d = check_subscripts(*sa, b);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->code, DeclineCode::SubscriptRange);
  }
  {
    // A 2-d array indexed with one subscript
    auto n = parse_ok("for i in range(n):\n    B[i] = A[i]\n");
    auto sa = analyze_static(n);
    Buffers buf;
    BoundNest b;
    b.nest = n.get();
    b.arrays["A"] = view(buf.make(16), {4, 4});
    b.arrays["B"] = view(buf.make(4), {4});
    b.scalars["n"] = int_scalar(4);
    ParallelPlan p = analyze_dynamic(*sa, b);
    ASSERT_TRUE(p.decline);
    EXPECT_EQ(p.decline->code, DeclineCode::UnsupportedOperation) << p.decline->reason;
  }
}
