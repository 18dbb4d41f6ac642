// Exactness decisions shared by every native variant (the CPU code and the
// GPU code): one policy for all devices. A variant that cannot keep one of
// these semantics declines (or stops at run time and lets Python run the
// loop) with the sentence given here, so that the user reads the same reason
// whichever device was asked for.
//
// The typing rules themselves (Python and NumPy promotion, which values may
// be Python or NumPy scalars) live in the CPU variant's specialiser, which the
// GPU generator calls as well; what is here is what both need beyond it.
#pragma once

#include <optional>
#include <string>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

// A NumPy scalar read by a nest, given by its type's name ("float64",
// "int32", ...). Native code keeps NumPy's arithmetic for np.float64,
// np.float32, np.float16, np.int64, np.uint64, the small integers (np.int32,
// np.int16, np.int8, np.uint32, np.uint16, np.uint8), np.complex128,
// np.complex64 and np.bool_; other NumPy scalars promote by rules it does not
// model, so the nest runs as Python.
std::optional<Decline> numpy_scalar_input(const std::string& name, const std::string& numpy_type, int line);
// The dtype of a small integer NumPy scalar type ("int8", "int16", "int32",
// "uint8", "uint16", "uint32"); none for other names. Such a scalar is typed
// as an element read of an array of that dtype.
std::optional<DType> small_int_scalar_dtype(const std::string& numpy_type);

// Run-time traps: a native run meets a case where Python raises or where
// native arithmetic would differ from Python's. The run stops, nothing it did
// is kept, and Python runs the loop (raising, if it does, at the same point
// with the same partial writes). The order is fixed: generated GPU code
// records `1 + code` in its error word (share/cuda/loopscope_cuda.h spells
// the same numbers as LS_ERR_*).
enum class Trap : int {
  Overflow = 0,    // a Python int result outside int64
  ZeroDivision,    // x / 0, x // 0, x % 0, 0.0 ** -1 on Python numbers
  Index,           // a subscript out of range
  Domain,          // math.sqrt(-1), math.log(0), x ** 0.5 for x < 0, ...
  MathOverflow,    // math.exp(1000), 1e200 ** 2 on Python floats
  Unbound,         // a variable read before it has a value
  BigInt,          // a Python int beyond 2**53 meets a float
  Int32,           // a Python int stored into an int32 (or smaller) element out of its range, a float
                   // stored into a small integer element out of its range
  FloatToInt,      // int(), math.floor() ... of NaN, an infinity, or beyond int64
  LastValue,       // parallel code: a scalar's final value comes from an earlier iteration than the last
  ReductionOrder,  // parallel code: min()/max() ties between 0.0 and -0.0, decided by iteration order
  NumpyWarning,    // NumPy would print a RuntimeWarning: np.float64 overflow, division by zero, inf - inf,
                   // np.sqrt(-1), an np.int64 that wraps, a float64 too large for a float32 element
  Count
};

// The sentence for a trap ("a subscript is out of range (Python raises
// IndexError)"); a generic one for an unknown code.
const char* trap_reason(int code);
inline const char* trap_reason(Trap t) { return trap_reason(static_cast<int>(t)); }

// The decline of a run stopped by a trap: code SubscriptRange for Index,
// Trap for the others; the sentence is trap_reason's.
Decline trap_decline(int code);
inline Decline trap_decline(Trap t) { return trap_decline(static_cast<int>(t)); }

}  // namespace loopscope::analysis
