// Intervals of Python ints (interval.hpp): every operation checked against
// Python's operator on every pair of values of small intervals, and at the
// ends of int64 and of 128 bits, where the result must be exact or unknown.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>

#include "loopscope/analysis/int_math.hpp"
#include "loopscope/analysis/interval.hpp"

using namespace loopscope::analysis;

namespace {
using i128 = __int128;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr i128 kI128Max = ~(static_cast<i128>(1) << 127);

bool same(const IntInterval& a, const IntInterval& b) {
  return a.known == b.known && (!a.known || (a.lo == b.lo && a.hi == b.hi));
}
#define EXPECT_IV(actual, expected) EXPECT_TRUE(same((actual), (expected)))

IntInterval iv(i128 lo, i128 hi) { return IntInterval::span(lo, hi); }
using Unary = IntInterval (*)(const IntInterval&);
using Binary = IntInterval (*)(const IntInterval&, const IntInterval&);

// Every result of op over a x b lies in the interval f gives, and the
// interval's ends are reached (the bounds are tight) when `tight`.
void check_binary(Binary f, const std::function<std::optional<i128>(i128, i128)>& op, bool tight) {
  for (int alo = -6; alo <= 6; ++alo)
    for (int ahi = alo; ahi <= 6; ++ahi)
      for (int blo = -4; blo <= 4; ++blo)
        for (int bhi = blo; bhi <= 4; ++bhi) {
          IntInterval r = f(iv(alo, ahi), iv(blo, bhi));
          if (!r.known) continue;
          bool lo_hit = false, hi_hit = false;
          for (int x = alo; x <= ahi; ++x)
            for (int y = blo; y <= bhi; ++y) {
              auto v = op(x, y);
              ASSERT_TRUE(v.has_value());
              EXPECT_TRUE(*v >= r.lo && *v <= r.hi)
                  << "op(" << x << ", " << y << ") outside [" << (int64_t)r.lo << ", " << (int64_t)r.hi << "]";
              lo_hit |= *v == r.lo;
              hi_hit |= *v == r.hi;
            }
          if (tight) {
            EXPECT_TRUE(lo_hit && hi_hit);
          }
        }
}
}  // namespace

TEST(Interval, ArithmeticMatchesPythonOnEveryPair) {
  check_binary(add, [](i128 x, i128 y) { return x + y; }, true);
  check_binary(sub, [](i128 x, i128 y) { return x - y; }, true);
  check_binary(mul, [](i128 x, i128 y) { return x * y; }, true);
  check_binary(min, [](i128 x, i128 y) { return std::min(x, y); }, true);
  check_binary(max, [](i128 x, i128 y) { return std::max(x, y); }, true);
  check_binary(floor_div, [](i128 x, i128 y) { return floor_div<i128>(x, y); }, true);
  // a % d is [0, d - 1], a bound that a short range of a does not reach.
  check_binary(mod, [](i128 x, i128 y) { return floor_mod<i128>(x, y); }, false);
  check_binary(hull, [](i128 x, i128) { return x; }, false);
}

TEST(Interval, DivisionAndModuloNeedAPositiveConstantDivisor) {
  EXPECT_IV(floor_div(iv(-7, 7), IntInterval::of(2)), iv(-4, 3));
  EXPECT_IV(floor_div(iv(-7, 7), iv(1, 2)), IntInterval{});
  EXPECT_IV(floor_div(iv(-7, 7), IntInterval::of(-2)), IntInterval{});
  EXPECT_IV(floor_div(iv(-7, 7), IntInterval::of(0)), IntInterval{});
  EXPECT_IV(floor_div(IntInterval{}, IntInterval::of(2)), IntInterval{});
  // a % d lies in [0, d - 1] whatever a is.
  EXPECT_IV(mod(IntInterval{}, IntInterval::of(5)), iv(0, 4));
  EXPECT_IV(mod(iv(-3, 3), IntInterval::of(0)), IntInterval{});
  EXPECT_IV(mod(iv(-3, 3), IntInterval{}), IntInterval{});
}

TEST(Interval, UnaryOperations) {
  EXPECT_IV(neg(iv(-2, 5)), iv(-5, 2));
  EXPECT_IV(invert(iv(-2, 5)), iv(-6, 1));  // ~x == -x - 1
  EXPECT_IV(abs(iv(-2, 5)), iv(0, 5));
  EXPECT_IV(abs(iv(-7, -3)), iv(3, 7));
  EXPECT_IV(abs(iv(3, 7)), iv(3, 7));
  EXPECT_IV(abs(iv(-9, 5)), iv(0, 9));
  // Beyond int64, exactly: -(-2**63) and abs(-2**63) are 2**63.
  EXPECT_IV(neg(IntInterval::of(kMin)), IntInterval::of((i128)kMax + 1));
  EXPECT_FALSE(neg(IntInterval::of(kMin)).fits64());
  EXPECT_IV(abs(IntInterval::of(kMin)), IntInterval::of((i128)kMax + 1));
  for (Unary f : std::initializer_list<Unary>{neg, invert, abs}) EXPECT_IV(f(IntInterval{}), IntInterval{});
}

TEST(Interval, UnknownInUnknownOut) {
  for (Binary f : std::initializer_list<Binary>{add, sub, mul, min, max, hull}) {
    EXPECT_IV(f(IntInterval{}, iv(1, 2)), IntInterval{});
    EXPECT_IV(f(iv(1, 2), IntInterval{}), IntInterval{});
  }
}

TEST(Interval, HullAndIntersection) {
  EXPECT_IV(hull(iv(1, 3), iv(7, 9)), iv(1, 9));
  EXPECT_IV(intersect(iv(1, 5), iv(3, 9)), iv(3, 5));
  // An unknown interval bounds nothing: the other one stays.
  EXPECT_IV(intersect(IntInterval{}, iv(3, 9)), iv(3, 9));
  EXPECT_IV(intersect(iv(3, 9), IntInterval{}), iv(3, 9));
  IntInterval empty = intersect(iv(1, 2), iv(5, 6));
  EXPECT_TRUE(empty.known && empty.lo > empty.hi);
}

TEST(Interval, OverflowGivesUnknownNeverAWrongBound) {
  IntInterval big = iv(kMin, kMax);
  // Sums and products of int64 ranges are exact in 128 bits.
  IntInterval s = add(big, big);
  EXPECT_TRUE(s.known && s.lo == 2 * (i128)kMin && s.hi == 2 * (i128)kMax);
  EXPECT_FALSE(s.fits64());
  IntInterval p = mul(big, big);
  EXPECT_TRUE(p.known && p.lo == (i128)kMin * kMax && p.hi == (i128)kMin * kMin);
  // A product needs int64 operands; a sum that 128 bits cannot hold is unknown.
  EXPECT_IV(mul(s, IntInterval::of(1)), IntInterval{});
  EXPECT_IV(add(IntInterval::of(kI128Max - 1), IntInterval::of(2)), IntInterval{});
  EXPECT_IV(add(IntInterval::of(kI128Max - 2), IntInterval::of(1)), IntInterval::of(kI128Max - 1));
  EXPECT_IV(add(IntInterval::of(kI128Max), IntInterval::of(-1)), IntInterval{});  // an operand at the end
  EXPECT_IV(neg(IntInterval::of(-kI128Max)), IntInterval{});
  EXPECT_IV(sub(IntInterval::of(-kI128Max + 1), IntInterval::of(3)), IntInterval{});
}

TEST(Interval, Fits) {
  EXPECT_TRUE(iv(kMin, kMax).fits64());
  EXPECT_FALSE(iv(kMin, (i128)kMax + 1).fits64());
  EXPECT_FALSE(IntInterval{}.fits64());
  EXPECT_TRUE(iv(INT32_MIN, INT32_MAX).fits32());
  EXPECT_FALSE(iv(INT32_MIN, (i128)INT32_MAX + 1).fits32());
  EXPECT_TRUE(iv(-5, 5).within(5));
  EXPECT_FALSE(iv(-6, 5).within(5));
  EXPECT_FALSE(IntInterval{}.within(5));
}

// range_trips against len(range(a, b, s)) for every a, b and s of the intervals.
TEST(Interval, RangeTripsBoundEveryRange) {
  for (int alo = -5; alo <= 5; ++alo)
    for (int ahi = alo; ahi <= 5; ++ahi)
      for (int blo = -5; blo <= 5; ++blo)
        for (int bhi = blo; bhi <= 5; ++bhi)
          for (auto [slo, shi] : {std::pair{1, 1}, {2, 2}, {1, 3}, {-1, -1}, {-3, -2}, {-2, 2}, {0, 0}}) {
            IntInterval r = range_trips(iv(alo, ahi), iv(blo, bhi), iv(slo, shi));
            if (slo <= 0 && shi >= 0) {
              EXPECT_FALSE(r.known);  // a zero step raises ValueError
              continue;
            }
            ASSERT_TRUE(r.known);
            i128 fewest = kI128Max, most = -1;
            for (int a = alo; a <= ahi; ++a)
              for (int b = blo; b <= bhi; ++b)
                for (int s = slo; s <= shi; ++s) {
                  i128 n = range_trip_count(a, b, s);
                  fewest = std::min(fewest, n);
                  most = std::max(most, n);
                }
            EXPECT_TRUE(r.lo == fewest && r.hi == most)
                << "range(" << alo << ".." << ahi << ", " << blo << ".." << bhi << ", " << slo << ".." << shi << ")";
          }
}

TEST(Interval, RangeTripsAtTheEndsOfInt64) {
  // range(-2**63, 2**63 - 1): 2**64 - 1 values, beyond int64 but exact.
  IntInterval r = range_trips(IntInterval::of(kMin), IntInterval::of(kMax), IntInterval::of(1));
  EXPECT_IV(r, IntInterval::of(((i128)1 << 64) - 1));
  r = range_trips(IntInterval::of(kMax), IntInterval::of(kMin), IntInterval::of(kMin));
  EXPECT_IV(r, IntInterval::of(2));  // len(range(2**63 - 1, -2**63, -2**63)) == 2
  EXPECT_IV(range_trips(IntInterval{}, IntInterval::of(3), IntInterval::of(1)), IntInterval{});
  EXPECT_IV(range_trips(IntInterval::of(0), IntInterval::of(3), IntInterval{}), IntInterval{});
}

TEST(Interval, TripsOverASpan) {
  EXPECT_IV(trips_over_span(iv(-3, 10), 3), iv(0, 4));
  EXPECT_IV(trips_over_span(iv(1, 1), 5), iv(1, 1));
  EXPECT_IV(trips_over_span(iv(6, 6), 5), iv(2, 2));
  EXPECT_IV(trips_over_span(iv(0, 10), 0), IntInterval{});
  EXPECT_IV(trips_over_span(IntInterval{}, 1), IntInterval{});
}
