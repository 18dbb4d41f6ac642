// Python's integer arithmetic, shared by the analysis, the cost model and the
// code generators (int_math.hpp).
#include <gtest/gtest.h>

#include <limits>

#include "loopscope/analysis/int_math.hpp"

using namespace loopscope::analysis;

namespace {
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
}  // namespace

TEST(IntMath, FloorDivisionAndModuloRoundLikePython) {
  // Python: 7 // 2 == 3, -7 // 2 == -4, 7 // -2 == -4, -7 // -2 == 3; % takes the divisor's sign.
  EXPECT_EQ(floor_div<int64_t>(7, 2), 3);
  EXPECT_EQ(floor_div<int64_t>(-7, 2), -4);
  EXPECT_EQ(floor_div<int64_t>(7, -2), -4);
  EXPECT_EQ(floor_div<int64_t>(-7, -2), 3);
  EXPECT_EQ(floor_mod<int64_t>(7, 2), 1);
  EXPECT_EQ(floor_mod<int64_t>(-7, 2), 1);
  EXPECT_EQ(floor_mod<int64_t>(7, -2), -1);
  EXPECT_EQ(floor_mod<int64_t>(-7, -2), -1);
  // Near the ends of int64, where floor_div(a, b) * b would overflow.
  EXPECT_EQ(floor_mod<int64_t>(kMin, 3), 1);  // Python: -2**63 % 3 == 1
  EXPECT_EQ(floor_mod<int64_t>(kMax, -2), -1);
  __int128 big = (__int128)1 << 100;
  EXPECT_TRUE(floor_div<__int128>(-big - 1, big) == -2);
}

TEST(IntMath, Gcd) {
  EXPECT_EQ(gcd_abs<int64_t>(12, -18), 6);
  EXPECT_EQ(gcd_abs<int64_t>(0, 5), 5);
  EXPECT_EQ(gcd_abs<int64_t>(0, 0), 0);
  EXPECT_TRUE(gcd_abs<__int128>(-((__int128)1 << 80), (__int128)3 << 70) == ((__int128)1 << 70));
}

TEST(IntMath, PythonIntOpIsCheckedWherePythonIntsWouldOutgrowInt64) {
  EXPECT_EQ(python_int_op(BinOp::Add, 2, 3), 5);
  EXPECT_EQ(python_int_op(BinOp::Add, kMax, 1), std::nullopt);
  EXPECT_EQ(python_int_op(BinOp::Sub, kMin, 1), std::nullopt);
  EXPECT_EQ(python_int_op(BinOp::Mul, int64_t{1} << 40, int64_t{1} << 30), std::nullopt);
  EXPECT_EQ(python_int_op(BinOp::FloorDiv, -7, 2), -4);
  EXPECT_EQ(python_int_op(BinOp::FloorDiv, 1, 0), std::nullopt);      // ZeroDivisionError
  EXPECT_EQ(python_int_op(BinOp::FloorDiv, kMin, -1), std::nullopt);  // 2**63
  EXPECT_EQ(python_int_op(BinOp::Mod, kMin, -1), 0);
  EXPECT_EQ(python_int_op(BinOp::Mod, 5, 0), std::nullopt);
  EXPECT_EQ(python_int_op(BinOp::Div, 6, 3), std::nullopt);  // a float
  EXPECT_EQ(python_int_op(BinOp::Pow, 2, 62), int64_t{1} << 62);
  EXPECT_EQ(python_int_op(BinOp::Pow, 2, 63), std::nullopt);
  EXPECT_EQ(python_int_op(BinOp::Pow, 2, -1), std::nullopt);  // a float
  EXPECT_EQ(python_int_op(BinOp::Pow, 0, 0), 1);
  EXPECT_EQ(python_int_op(BinOp::Pow, 1, 1000000000), 1);
  EXPECT_EQ(python_int_op(BinOp::Pow, -1, 1000000001), -1);
  EXPECT_EQ(python_int_op(BinOp::Pow, -1, 1000000000), 1);
  EXPECT_EQ(python_int_op(BinOp::Pow, 0, 1000000000), 0);
  EXPECT_EQ(python_int_op(BinOp::Pow, -3, 3), -27);
}

TEST(IntMath, RangeTripCountIsPythonsLen) {
  EXPECT_EQ(range_trip_count(0, 10, 1), 10);
  EXPECT_EQ(range_trip_count(0, 10, 3), 4);   // 0 3 6 9
  EXPECT_EQ(range_trip_count(10, 0, -3), 4);  // 10 7 4 1
  EXPECT_EQ(range_trip_count(5, 5, 1), 0);
  EXPECT_EQ(range_trip_count(5, 0, 1), 0);
  EXPECT_EQ(range_trip_count(0, 5, -1), 0);
  EXPECT_EQ(range_trip_count(0, 5, 0), 0);
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(range_trip_count(lo, hi, hi), 3);  // lo, -1, hi - 1
  EXPECT_EQ(range_trip_count(hi, lo, lo), 2);  // hi, -1
}
