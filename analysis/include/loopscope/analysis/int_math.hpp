// Python's integer arithmetic in C++: the one place for floor division,
// modulo, gcd and the checked evaluation of an integer operator, used by the
// dynamic phase, the dependence tests, the cost model's counts, the CPU
// specialiser and the CUDA generator's host side.
//
// Python rounds // towards minus infinity and gives % the divisor's sign;
// C++ truncates. Python ints never wrap: where an int64 result would,
// python_int_op has no answer (the callers then treat the value as unknown),
// as it has none where Python raises (a division by zero) or gives a float
// (a negative power, `/`).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

// a // b and a % b as Python computes them (b != 0; for int64, not
// INT64_MIN // -1). T is int64_t or __int128.
template <class T>
T floor_div(T a, T b) {
  T q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

template <class T>
T floor_mod(T a, T b) {
  T r = a % b;  // without floor_div(a, b) * b, which can overflow where the result does not
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// gcd(|a|, |b|); gcd(0, 0) = 0.
template <class T>
T gcd_abs(T a, T b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    T t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// `a op b` on Python ints whose values are a and b, when the result is an
// int64; nullopt when it is not one (an overflow, a float from `/` or a
// negative power) or when Python raises (x // 0, x % 0).
inline std::optional<int64_t> python_int_op(BinOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case BinOp::Add:
      if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
      return r;
    case BinOp::Sub:
      if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
      return r;
    case BinOp::Mul:
      if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
      return r;
    case BinOp::FloorDiv:
      if (b == 0 || (b == -1 && a == std::numeric_limits<int64_t>::min())) return std::nullopt;
      return floor_div(a, b);
    case BinOp::Mod:
      if (b == 0) return std::nullopt;
      if (b == -1) return 0;
      return floor_mod(a, b);
    case BinOp::Pow: {
      if (b < 0) return std::nullopt;
      int64_t p = 1;
      for (int64_t k = 0; k < b; ++k) {
        if (__builtin_mul_overflow(p, a, &p)) return std::nullopt;
        if (p == 0 || p == 1) break;  // 0 ** b and 1 ** b stay; (-1) ** b alternates below
      }
      if (a == -1) return (b % 2 == 0) ? 1 : -1;
      return p;
    }
    case BinOp::Div: return std::nullopt;  // a float in Python
    case BinOp::BitAnd: return a & b;
    case BinOp::BitOr: return a | b;
    case BinOp::BitXor: return a ^ b;
    case BinOp::RShift:
      if (b < 0) return std::nullopt;  // ValueError: negative shift count
      return b >= 63 ? (a < 0 ? -1 : 0) : (a >> b);
    case BinOp::LShift:
      if (b < 0) return std::nullopt;
      if (a == 0) return 0;
      if (b >= 63) return std::nullopt;
      r = static_cast<int64_t>(static_cast<uint64_t>(a) << b);
      if ((r >> b) != a) return std::nullopt;
      return r;
  }
  return std::nullopt;
}

// How many values range(start, stop, step) gives: 0 when empty or when
// step == 0 (Python raises there; callers decline that step earlier). Exact
// over all of int64 (the difference is taken in uint64).
inline int64_t range_trip_count(int64_t start, int64_t stop, int64_t step) {
  if (step > 0)
    return start < stop ? static_cast<int64_t>((static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) /
                                               static_cast<uint64_t>(step)) +
                              1
                        : 0;
  if (step < 0)
    return start > stop ? static_cast<int64_t>((static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) /
                                               (0 - static_cast<uint64_t>(step))) +
                              1
                        : 0;
  return 0;
}

}  // namespace loopscope::analysis
