// Intervals of Python ints: the one interval arithmetic of the analysis (the
// dynamic phase's bounds of loop variables and subscripts) and the CPU
// specialiser (value ranges that decide overflow checks, subscript proofs and
// the trip counts it records), each walking IR expressions with its own
// names (what a loop variable or a scalar means to it).
//
// An IntInterval is every integer in [lo, hi], in 128 bits, or unknown (no
// bound). Endpoints may leave int64: a sum of two int64 intervals is exact
// here, and the caller decides what it accepts (fits64(), fits32(),
// within(limit)). Every operation is exact or gives unknown: unknown in,
// unknown out; a result that 128 bits cannot hold is unknown; mul, the
// products of two int64 ranges, is unknown for an operand outside int64.
// The results are those of Python's operators on every pair of values of the
// operands (// and % round towards minus infinity).
#pragma once

#include <cstdint>

namespace loopscope::analysis {

struct IntInterval {
  bool known = false;
  __int128 lo = 0, hi = 0;

  static IntInterval of(__int128 v) { return {true, v, v}; }
  static IntInterval span(__int128 lo, __int128 hi) { return {true, lo, hi}; }
  static IntInterval unknown() { return {}; }
  // Known, with both ends within [-limit, limit].
  bool within(__int128 limit) const { return known && lo >= -limit && hi <= limit; }
  bool fits64() const;
  bool fits32() const;
  bool is_constant() const { return known && lo == hi; }
};

// x + y, x - y, x * y over every x in a and y in b.
IntInterval add(const IntInterval& a, const IntInterval& b);
IntInterval sub(const IntInterval& a, const IntInterval& b);
IntInterval mul(const IntInterval& a, const IntInterval& b);
// a // d and a % d for a constant divisor d > 0 (b = [d, d]); unknown for any
// other divisor. a % d is [0, d - 1] whatever a is, known or not.
IntInterval floor_div(const IntInterval& a, const IntInterval& b);
IntInterval mod(const IntInterval& a, const IntInterval& b);
// -x, ~x (-x - 1), abs(x).
IntInterval neg(const IntInterval& a);
IntInterval invert(const IntInterval& a);
IntInterval abs(const IntInterval& a);
// min(x, y) and max(x, y).
IntInterval min(const IntInterval& a, const IntInterval& b);
IntInterval max(const IntInterval& a, const IntInterval& b);
// The union's hull: every value of a or of b.
IntInterval hull(const IntInterval& a, const IntInterval& b);
// The values in both: an unknown interval (no bound) leaves the other; the
// result is empty (lo > hi) where they do not meet.
IntInterval intersect(const IntInterval& a, const IntInterval& b);

// The length of range(start, stop, step) over every start, stop and step of
// the intervals: a known interval when the step is known never to be 0 (else
// unknown: Python raises ValueError for a zero step).
IntInterval range_trips(const IntInterval& start, const IntInterval& stop, const IntInterval& step);
// The length of range(0, s, step) over every s in span, for a step > 0 (a
// negative step's span is start - stop): [ceil(span.lo / step), ceil(span.hi
// / step)], 0 for a span <= 0. A caller that knows the difference stop -
// start better than the difference of two intervals (the dynamic phase's
// affine forms) gives it here.
IntInterval trips_over_span(const IntInterval& span, __int128 step);

}  // namespace loopscope::analysis
