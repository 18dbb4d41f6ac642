// Intervals of Python ints (interval.hpp).
#include "loopscope/analysis/interval.hpp"

#include <algorithm>
#include <limits>

#include "loopscope/analysis/int_math.hpp"

namespace loopscope::analysis {

namespace {
using i128 = __int128;
constexpr i128 kI64Min = std::numeric_limits<int64_t>::min();
constexpr i128 kI64Max = std::numeric_limits<int64_t>::max();
constexpr i128 kI32Min = std::numeric_limits<int32_t>::min();
constexpr i128 kI32Max = std::numeric_limits<int32_t>::max();
// Ends that negate and subtract without leaving 128 bits.
constexpr i128 kI128Max = ~(static_cast<i128>(1) << 127);
constexpr i128 kSafe = kI128Max - 1;

bool safe(const IntInterval& a) { return a.known && a.lo >= -kSafe && a.hi <= kSafe; }
}  // namespace

bool IntInterval::fits64() const { return known && lo >= kI64Min && hi <= kI64Max; }
bool IntInterval::fits32() const { return known && lo >= kI32Min && hi <= kI32Max; }

IntInterval add(const IntInterval& a, const IntInterval& b) {
  if (!safe(a) || !safe(b)) return {};
  i128 lo, hi;
  if (__builtin_add_overflow(a.lo, b.lo, &lo) || __builtin_add_overflow(a.hi, b.hi, &hi)) return {};
  return {true, lo, hi};
}

IntInterval sub(const IntInterval& a, const IntInterval& b) { return add(a, neg(b)); }

IntInterval mul(const IntInterval& a, const IntInterval& b) {
  if (!a.fits64() || !b.fits64()) return {};
  i128 c[4] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};  // each within 2**126
  return {true, *std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}

IntInterval floor_div(const IntInterval& a, const IntInterval& b) {
  if (!a.known || !b.is_constant() || b.lo <= 0) return {};
  return {true, floor_div<i128>(a.lo, b.lo), floor_div<i128>(a.hi, b.lo)};
}

IntInterval mod(const IntInterval& /*a*/, const IntInterval& b) {
  if (!b.is_constant() || b.lo <= 0) return {};
  return {true, 0, b.lo - 1};
}

IntInterval neg(const IntInterval& a) {
  if (!safe(a)) return {};
  return {true, -a.hi, -a.lo};
}

IntInterval invert(const IntInterval& a) { return add(neg(a), IntInterval::of(-1)); }

IntInterval abs(const IntInterval& a) {
  if (!safe(a)) return {};
  if (a.lo >= 0) return a;
  if (a.hi <= 0) return {true, -a.hi, -a.lo};
  return {true, 0, std::max(-a.lo, a.hi)};
}

IntInterval min(const IntInterval& a, const IntInterval& b) {
  if (!a.known || !b.known) return {};
  return {true, std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
}

IntInterval max(const IntInterval& a, const IntInterval& b) {
  if (!a.known || !b.known) return {};
  return {true, std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
}

IntInterval hull(const IntInterval& a, const IntInterval& b) {
  if (!a.known || !b.known) return {};
  return {true, std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}

IntInterval intersect(const IntInterval& a, const IntInterval& b) {
  if (!a.known) return b;
  if (!b.known) return a;
  return {true, std::max(a.lo, b.lo), std::min(a.hi, b.hi)};
}

IntInterval trips_over_span(const IntInterval& span, i128 step) {
  if (!span.known || step <= 0) return {};
  // ceil(s / step) for s > 0, in a form that does not overflow near the ends.
  auto trips = [step](i128 s) -> i128 { return s <= 0 ? 0 : (s - 1) / step + 1; };
  return {true, trips(span.lo), trips(span.hi)};
}

IntInterval range_trips(const IntInterval& start, const IntInterval& stop, const IntInterval& step) {
  if (!safe(step) || (step.lo <= 0 && step.hi >= 0)) return {};
  // The most values at the smallest step magnitude, the fewest at the largest.
  bool up = step.lo > 0;
  IntInterval span = up ? sub(stop, start) : sub(start, stop);
  i128 small = up ? step.lo : -step.hi, large = up ? step.hi : -step.lo;
  IntInterval most = trips_over_span(span, small), fewest = trips_over_span(span, large);
  if (!most.known || !fewest.known) return {};
  return {true, fewest.lo, most.hi};
}

}  // namespace loopscope::analysis
