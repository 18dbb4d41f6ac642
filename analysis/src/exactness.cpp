// Exactness decisions shared by the CPU and GPU variants.
#include "loopscope/analysis/exactness.hpp"

#include <set>

namespace loopscope::analysis {

std::optional<Decline> numpy_scalar_input(const std::string& name, const std::string& numpy_type, int line) {
  static const std::set<std::string> supported = {"float64",    "float32",   "int64",  "bool_",   "bool",
                                                  "complex128", "complex64", "uint64", "float16", "int8",
                                                  "int16",      "int32",     "uint8",  "uint16",  "uint32"};
  if (supported.count(numpy_type)) return std::nullopt;
  return Decline{DeclineCode::Exactness, line,
                 name + " is a NumPy " + numpy_type +
                     " scalar; native code supports np.float64, np.float32, np.float16, np.int64, np.uint64, "
                     "np.int32, np.int16, np.int8, np.uint32, np.uint16, np.uint8, np.complex128, np.complex64 and "
                     "np.bool_ scalars"};
}

std::optional<DType> small_int_scalar_dtype(const std::string& numpy_type) {
  if (numpy_type == "int8") return DType::Int8;
  if (numpy_type == "int16") return DType::Int16;
  if (numpy_type == "int32") return DType::Int32;
  if (numpy_type == "uint8") return DType::UInt8;
  if (numpy_type == "uint16") return DType::UInt16;
  if (numpy_type == "uint32") return DType::UInt32;
  return std::nullopt;
}

const char* trap_reason(int code) {
  static const char* const text[] = {
      "an integer result does not fit in 64 bits (Python ints are unbounded)",
      "a division or modulo by zero on Python numbers (Python raises ZeroDivisionError)",
      "a subscript is out of range (Python raises IndexError)",
      "a math function got an argument outside its domain, a shift count is negative or a range() step is zero "
      "(Python raises ValueError)",
      "a math function overflowed (Python raises OverflowError)",
      "a variable is read before it has a value",
      "an integer beyond 2**53 meets a float (Python compares and divides such ints exactly)",
      "a value stored into an integer array element is outside its type's range (NumPy then warns, raises or "
      "converts it in its own way)",
      "a float that is NaN, infinite or beyond the int64 range is converted to int",
      "a scalar's value after the loop was set by an earlier iteration than the last, which the parallel "
      "code does not keep",
      "min() or max() meets both 0.0 and -0.0 as its result; Python keeps the first one met, which parallel "
      "code cannot tell",
      "NumPy prints a RuntimeWarning for an operation here (an overflow, a division by zero or an invalid value "
      "such as inf - inf); Python runs the loop so that the warning appears as it does in Python",
  };
  static_assert(sizeof(text) / sizeof(text[0]) == static_cast<int>(Trap::Count), "one sentence per trap");
  if (code < 0 || code >= static_cast<int>(Trap::Count)) return "the native code stopped";
  return text[code];
}

Decline trap_decline(int code) {
  DeclineCode c = code == static_cast<int>(Trap::Index) ? DeclineCode::SubscriptRange : DeclineCode::Trap;
  return Decline{c, 0, trap_reason(code), "trap " + std::to_string(code)};
}

}  // namespace loopscope::analysis
