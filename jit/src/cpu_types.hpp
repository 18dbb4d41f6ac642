// Value types of the CPU code generator: how a Python or NumPy scalar is held
// in machine code, and the promotion rules of Python and NumPy 1.x scalar
// arithmetic. Private to the jit module.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"

namespace loopscope::jit::cpu {

// C128: a Python complex or an np.complex128 (a pair of doubles, real and
// imaginary); C64: an np.complex64 (a pair of floats).
enum class Repr : uint8_t { I64, I32, F64, F32, Bool, C128, C64 };

// An element of a uint8, int8, uint16, int16 or uint32 array: a NumPy scalar
// of that type (np.uint8, ...), held exactly as an I64. Only operations whose
// result does not depend on the small type are typed (binary_type,
// compare_domain): with a Python int, an np.int64, a Python float or an
// np.float64 NumPy 1.24 computes in int64 or float64, and comparisons compare
// the values. Two small integers: +, -, *, //, % in their common type
// (NumPy's promotion: np.uint8 + np.int8 is an np.int16, np.uint32 + np.int8
// an np.int64), wrapping with a warning outside its range, / in float64.
// The rest (np.int32, np.float32, booleans, a common type int32, **) is
// declined.
// U64, an element of a uint64 array (np.uint64), is held as the int64 with
// the same 64 bits: its value is not the int64's (2**64 - 1 is held as -1),
// so it has no interval and every operation on it is typed for it: with
// another np.uint64 (or np.uint8 ... np.uint32, np.bool_ declined) NumPy
// computes in uint64, wrapping with a warning; with a signed integer (a Python
// int, an np.int64, np.int8, np.int16) or a float in float64 (the value
// converted exactly as an unsigned integer, then rounded); comparisons with a
// signed value compare in float64 too. Bitwise operators with a signed
// integer raise TypeError in NumPy and are declined.
// F16, an element of a float16 array (np.float16), is held exactly as a
// float32 (r == F32): NumPy computes np.float16 with np.float16 in float32
// and rounds the result to float16 (Codegen::round_half), with an np.float32
// in float32, with a Python float or int, an np.float64 or an np.int64 in
// float64; the rest is declined (f16_binary).
enum class Small : uint8_t { None, U8, I8, U16, I16, U32, U64, F16 };
const char* small_name(Small s);                   // "np.uint8", ...
std::pair<int64_t, int64_t> small_range(Small s);  // [0, 255], ...
// The type of an element of a uint8 ... uint64 array, held as an int64 (the
// specialiser declines reading a uint64 element); None for other dtypes.
Small small_of(analysis::DType t);

// A static type: the machine representation plus which Python types a value
// of it may have at run time: a Python scalar (int, float, bool), a NumPy
// scalar (np.float64, ...), or either (a variable that starts as a Python
// float and becomes np.float64 after `s += A[i]`). Python scalars exist only
// for I64 (int), F64 (float), Bool (bool) and C128 (complex).
struct VT {
  Repr r = Repr::I64;
  bool py = false;
  bool np = false;
  Small small = Small::None;  // with r == I64 and np only
  bool mixed() const { return py && np; }
  bool operator==(const VT& o) const { return r == o.r && py == o.py && np == o.np && small == o.small; }
  bool operator!=(const VT& o) const { return !(*this == o); }
};
inline bool is_u64(const VT& t) { return t.small == Small::U64; }
inline bool is_f16(const VT& t) { return t.small == Small::F16; }

// math.isnan, math.isinf, math.isfinite (a bool) and np.isnan, np.isinf,
// np.isfinite (an np.bool_) of a number.
inline bool is_float_class_test(const std::string& f) {
  return f == "isnan" || f == "isinf" || f == "isfinite" || f == "np.isnan" || f == "np.isinf" || f == "np.isfinite";
}

inline bool is_int(Repr r) { return r == Repr::I64 || r == Repr::I32; }
inline bool is_float(Repr r) { return r == Repr::F64 || r == Repr::F32; }
inline bool is_complex(Repr r) { return r == Repr::C128 || r == Repr::C64; }

constexpr VT kPyInt{Repr::I64, true, false};
constexpr VT kPyFloat{Repr::F64, true, false};
constexpr VT kPyBool{Repr::Bool, true, false};
constexpr VT kPyComplex{Repr::C128, true, false};

// The code written back for a value of concrete kind: 0..2 Python int, float,
// bool; 3..7 np.float64, np.float32, np.int64, np.int32, np.bool_; 8..12
// np.uint8, np.int8, np.uint16, np.int16, np.uint32 (kind_code(VT)); 13 Python
// complex, 14 np.complex128, 15 np.complex64; 16 np.uint64 (its bits in ival),
// 17 np.float16.
int kind_code(Repr r, bool numpy);
int kind_code(const VT& t);  // for a VT that is not mixed

std::string describe(const VT& t);  // "int", "np.float32", "float or np.float64"

// Whether a value of kind code `kind` (kind_code) is a NumPy scalar.
inline bool kind_is_numpy(int kind) { return kind >= 3 && kind != 13; }

using analysis::DeclineCode;

// Thrown inside the jit module for a nest that must stay in Python; turned
// into an analysis::Decline at the module's boundary (decline()).
struct Unsupported {
  DeclineCode code;
  int line;
  std::string reason;  // the sentence for the user
  std::string detail;  // for developers; may be empty
  Unsupported(DeclineCode c, int l, std::string r, std::string d = {})
      : code(c), line(l), reason(std::move(r)), detail(std::move(d)) {}
  analysis::Decline decline() const { return analysis::Decline{code, line, reason, detail}; }
};

// Result type of `a op b` (arithmetic, NumPy 1.24 scalar promotion and
// Python's rules); throws Unsupported when it is not one machine type.
VT binary_type(analysis::BinOp op, const VT& a, const VT& b, int line);
// np.clip(x, lo, hi) on numbers: the NumPy scalar of their common type (as
// np.minimum(np.maximum(x, lo), hi)); booleans and complex numbers declined.
VT clip_type(const VT& x, const VT& lo, const VT& hi, int line);
// Common type in which `a` and `b` are compared, and the Bool result type.
VT compare_domain(const VT& a, const VT& b, int line);
VT compare_result(const VT& a, const VT& b);

// `a ** b` with a floating-point result where NumPy 1.24 computes it in its
// np.power ufunc loop rather than in its scalar code: when neither operand's
// type can take the other's value safely (np.float32 ** float, np.int64 **
// float, float ** np.int64, ...). That loop may be vectorised (SVML on
// AVX-512 machines), whose last bit differs from the C library's pow(), so
// native code cannot reproduce it. Returns the operand types ("np.int64 **
// float") when any combination of a's and b's possible types goes there.
// Where NumPy's scalar code runs, it calls the C library's pow() (float64)
// or powf() (float32), as CPython's float ** does.
std::optional<std::string> power_via_numpy_ufunc(const VT& a, const VT& b);

}  // namespace loopscope::jit::cpu
