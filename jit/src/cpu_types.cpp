// Promotion rules of Python scalars and NumPy 1.x scalars as the CPU code
// generator applies them. With NumPy < 2, an operation between two scalars
// converts a Python int to int64, a Python float to float64 and a Python bool
// to bool, then promotes by type alone (so np.float32(1) + 1.5 is float64).
#include "cpu_types.hpp"

#include <vector>

namespace loopscope::jit::cpu {
using analysis::BinOp;

int kind_code(Repr r, bool numpy) {
  if (!numpy) return r == Repr::F64 ? 1 : r == Repr::Bool ? 2 : is_complex(r) ? 13 : 0;
  switch (r) {
    case Repr::C128: return 14;
    case Repr::C64: return 15;
    case Repr::F64: return 3;
    case Repr::F32: return 4;
    case Repr::I64: return 5;
    case Repr::I32: return 6;
    case Repr::Bool: return 7;
  }
  return 0;
}

const char* small_name(Small s) {
  switch (s) {
    case Small::None: break;
    case Small::U8: return "np.uint8";
    case Small::I8: return "np.int8";
    case Small::U16: return "np.uint16";
    case Small::I16: return "np.int16";
    case Small::U32: return "np.uint32";
    case Small::U64: return "np.uint64";
    case Small::F16: return "np.float16";
  }
  return "np.int64";
}

std::pair<int64_t, int64_t> small_range(Small s) {
  switch (s) {
    case Small::None: break;
    case Small::U8: return {0, UINT8_MAX};
    case Small::I8: return {INT8_MIN, INT8_MAX};
    case Small::U16: return {0, UINT16_MAX};
    case Small::I16: return {INT16_MIN, INT16_MAX};
    case Small::U32: return {0, UINT32_MAX};
    case Small::U64:
    case Small::F16: break;  // (no int64 range: see Small)
  }
  return {INT64_MIN, INT64_MAX};
}

Small small_of(analysis::DType t) {
  switch (t) {
    case analysis::DType::UInt8: return Small::U8;
    case analysis::DType::Int8: return Small::I8;
    case analysis::DType::UInt16: return Small::U16;
    case analysis::DType::Int16: return Small::I16;
    case analysis::DType::UInt32: return Small::U32;
    case analysis::DType::UInt64: return Small::U64;
    default: return Small::None;
  }
}

int kind_code(const VT& t) {
  if (t.small == Small::U64) return 16;
  if (t.small == Small::F16) return 17;
  if (t.small != Small::None) return 7 + static_cast<int>(t.small);
  return kind_code(t.r, t.np);
}

namespace {
const char* np_name(Repr r) {
  switch (r) {
    case Repr::F64: return "np.float64";
    case Repr::F32: return "np.float32";
    case Repr::I64: return "np.int64";
    case Repr::I32: return "np.int32";
    case Repr::Bool: return "np.bool_";
    case Repr::C128: return "np.complex128";
    case Repr::C64: return "np.complex64";
  }
  return "?";
}
const char* py_name(Repr r) {
  return r == Repr::F64 ? "float" : r == Repr::Bool ? "bool" : is_complex(r) ? "complex" : "int";
}

struct CT {
  Repr r;
  bool np;
};

std::vector<CT> concrete(const VT& t) {
  std::vector<CT> out;
  if (t.py) out.push_back({t.r, false});
  if (t.np) out.push_back({t.r, true});
  return out;
}

Repr np_promote(Repr a, Repr b) {
  if (a == Repr::Bool) return b;
  if (b == Repr::Bool) return a;
  if (a == b) return a;
  if (is_int(a) && is_int(b)) return Repr::I64;
  if (is_float(a) && is_float(b)) return Repr::F64;
  return Repr::F64;  // an integer with a float: int32/int64 + float32 is float64
}

// NumPy 1.24 and Python 3.11 with a complex operand: Python converts an int,
// float or bool to complex(x, 0.0) and computes in complex (so does NumPy, in
// complex128, or complex64 when both operands are np.complex64, np.float32 or
// booleans). Python's complex is asked first with np.float64 on its right (a
// float subclass): a Python complex; anything else NumPy makes np.complex128.
// Division follows the algorithm of the result's type (CPython's _Py_c_quot
// for a Python complex, NumPy's CDOUBLE_divide loop for its scalars); // and
// % raise TypeError.
CT complex_concrete(BinOp op, CT a, CT b, int line) {
  if (op != BinOp::Add && op != BinOp::Sub && op != BinOp::Mul && op != BinOp::Pow && op != BinOp::Div)
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      std::string("'") + analysis::to_string(op) +
                          "' with a complex number is not supported in native code (Python raises TypeError)"};
  if (!a.np && !b.np) return {Repr::C128, false};
  if (!a.np && a.r == Repr::C128 && b.np && b.r == Repr::F64) return {Repr::C128, false};
  auto small = [](CT c) { return c.r == Repr::C64 || c.r == Repr::F32 || c.r == Repr::Bool; };
  bool c64 = (a.r == Repr::C64 || b.r == Repr::C64) && small(a) && small(b) && (a.np || a.r == Repr::Bool) &&
             (b.np || b.r == Repr::Bool);
  return {c64 ? Repr::C64 : Repr::C128, true};
}

CT binary_concrete(BinOp op, CT a, CT b, int line) {
  if (is_complex(a.r) || is_complex(b.r)) return complex_concrete(op, a, b, line);
  if (!a.np && !b.np) {
    if (op == BinOp::Div) return {Repr::F64, false};
    if (a.r == Repr::F64 || b.r == Repr::F64) return {Repr::F64, false};
    return {Repr::I64, false};
  }
  if (a.r == Repr::Bool && b.r == Repr::Bool)
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      std::string("arithmetic '") + analysis::to_string(op) +
                          "' between NumPy booleans is not supported in native code"};
  Repr r = np_promote(a.r, b.r);
  if (op == BinOp::Div && is_int(r)) r = Repr::F64;
  return {r, true};
}

VT join_concrete(const std::vector<CT>& cs, int line, const char* what) {
  VT t;
  t.r = cs.front().r;
  for (auto& c : cs) {
    if (c.r != t.r)
      throw Unsupported{
          DeclineCode::Typing, line,
          std::string("the type of ") + what + " would depend on whether a value is a Python or a NumPy scalar"};
    (c.np ? t.np : t.py) = true;
  }
  return t;
}
// NumPy's "safe" casts between the scalar types the engine knows.
bool can_cast_safely(Repr from, Repr to) {
  if (from == to || from == Repr::Bool) return true;
  if (from == Repr::I32) return to == Repr::I64 || to == Repr::F64;
  if (from == Repr::I64) return to == Repr::F64;
  if (from == Repr::F32) return to == Repr::F64;
  return false;
}

// NumPy 1.24's scalar math (scalarmath.c.src, convert_to_<type>): the
// scalar whose method Python calls converts the other operand when that is
// a safe cast; otherwise it defers to the other operand when that is a
// NumPy scalar of a type it casts to safely; otherwise both become 0-d
// arrays and the ufunc runs. Python asks a's __pow__ first, and a Python
// scalar's __pow__ declines every NumPy scalar (np.float64, a float
// subclass, is asked first anyway), so the NumPy operand decides.
bool pow_concrete_via_ufunc(CT a, CT b) {
  if (!a.np && !b.np) return false;
  CT self = a.np ? a : b;
  CT other = a.np ? b : a;
  if (can_cast_safely(other.r, self.r)) return false;
  if (other.np && can_cast_safely(self.r, other.r)) return false;
  return is_float(np_promote(self.r, other.r));
}
}  // namespace

std::optional<std::string> power_via_numpy_ufunc(const VT& a, const VT& b) {
  for (auto ca : concrete(a))
    for (auto cb : concrete(b))
      if (pow_concrete_via_ufunc(ca, cb))
        return std::string(ca.np ? np_name(ca.r) : py_name(ca.r)) + " ** " + (cb.np ? np_name(cb.r) : py_name(cb.r));
  return std::nullopt;
}

std::string describe(const VT& t) {
  if (t.small != Small::None) return small_name(t.small);
  if (t.mixed()) return std::string(py_name(t.r)) + " or " + np_name(t.r);
  return t.np ? np_name(t.r) : py_name(t.r);
}

namespace {
// An operation with an np.uint8 ... np.uint32 operand (VT::small): NumPy 1.24
// converts a Python int to int64 and a Python float to float64 first, and
// computes np.uint8 with int64 in int64 and with float64 in float64 (np.uint8(3)
// - 255 is np.int64(-252), 0.299 * np.uint8(3) np.float64(0.897)); that is
// the operation of an np.int64 holding the same value, which is how the
// element is held. np.int32, np.float32 and bools give int32, float32 or the
// small type: those are declined (two small integers: two_small).
VT without_small(const VT& a, const VT& other, const char* what, int line) {
  if (a.small == Small::None) return a;
  bool ok = other.small == Small::None && (other.r == Repr::I64 || other.r == Repr::F64);
  if (!ok)
    throw Unsupported{DeclineCode::Typing, line,
                      std::string(what) + " of " + small_name(a.small) + " and " + describe(other) +
                          " is not supported in native code (NumPy computes it in a small integer or "
                          "float32 type); convert the element with int() or float() first"};
  return VT{Repr::I64, false, true};
}

// NumPy's common type of two small integers (np.promote_types); None for
// int32 (np.uint16 with np.int8 or np.int16), I64 flagged by `int64`.
Small promote_small(Small a, Small b, bool& int64) {
  int64 = false;
  if (a == b) return a;
  auto size = [](Small s) { return s == Small::U8 || s == Small::I8 ? 1 : s == Small::U32 ? 4 : 2; };
  auto is_signed = [](Small s) { return s == Small::I8 || s == Small::I16; };
  if (is_signed(a) == is_signed(b)) return size(a) >= size(b) ? a : b;
  Small u = is_signed(a) ? b : a, s = is_signed(a) ? a : b;
  if (size(s) > size(u)) return s;
  if (size(u) == 1) return Small::I16;
  if (size(u) == 4) int64 = true;
  return Small::None;
}

// Two small integers (VT::small): the result of their common type, held as
// an int64 (Codegen::binary wraps it to the type, reporting NumPy's warning).
std::optional<VT> two_small(BinOp op, const VT& a, const VT& b, int line) {
  if (a.small == Small::None || b.small == Small::None) return std::nullopt;
  if (op == BinOp::Div) return VT{Repr::F64, false, true};
  bool int64 = false;
  Small r = promote_small(a.small, b.small, int64);
  // (<< is computed in the common type too: bits shifted past its width are lost)
  bool own = op == BinOp::Pow || op == BinOp::LShift;
  if (own || (r == Small::None && !int64))
    throw Unsupported{DeclineCode::Typing, line,
                      std::string("'") + analysis::to_string(op) + "' between " + small_name(a.small) + " and " +
                          small_name(b.small) + " is not supported in native code (NumPy computes it in " +
                          (own ? "their common type" : "int32") + "); convert an element with int() first"};
  if (int64) return VT{Repr::I64, false, true};
  return VT{Repr::I64, false, true, r};
}
}  // namespace

VT clip_type(const VT& x, const VT& lo, const VT& hi, int line) {
  for (const VT* v : {&x, &lo, &hi}) {
    if (v->r == Repr::Bool || is_complex(v->r) || v->small != Small::None)
      throw Unsupported{DeclineCode::UnsupportedOperation, line,
                        "np.clip() of " + describe(*v) +
                            " is not supported in native code (only integers and floats of 32 or 64 bits)"};
  }
  VT m = binary_type(BinOp::Add, x, lo, line);
  VT t = binary_type(BinOp::Add, VT{m.r, false, true}, hi, line);
  return VT{t.r, false, true};
}

namespace {
// << >> & | ^ (Python 3.11, NumPy 1.24): integers and booleans only (a float
// raises TypeError); two bools give a bool for & | ^ (np.bool_ when either
// is NumPy's), an int for shifts (np.int8 for two np.bool_: declined);
// otherwise the types of arithmetic.
CT bitwise_concrete(BinOp op, CT a, CT b, int line) {
  if (is_float(a.r) || is_float(b.r) || is_complex(a.r) || is_complex(b.r))
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      std::string("'") + analysis::to_string(op) +
                          "' with a float or complex operand raises TypeError in Python (bitwise operators take "
                          "integers)"};
  bool logical = op == BinOp::BitAnd || op == BinOp::BitOr || op == BinOp::BitXor;
  if (!a.np && !b.np) return {a.r == Repr::Bool && b.r == Repr::Bool && logical ? Repr::Bool : Repr::I64, false};
  if (a.r == Repr::Bool && b.r == Repr::Bool) {
    if (!logical)
      throw Unsupported{DeclineCode::UnsupportedOperation, line,
                        std::string("'") + analysis::to_string(op) +
                            "' between NumPy booleans gives an np.int8, which native code does not model"};
    return {Repr::Bool, true};
  }
  return {np_promote(a.r, b.r), true};
}
}  // namespace

namespace {
bool unsigned_small(const VT& t) {
  return t.small == Small::U8 || t.small == Small::U16 || t.small == Small::U32 || t.small == Small::U64;
}
// A signed integer or a float that NumPy 1.24 mixes with an np.uint64 in
// float64: a Python int, an np.int64, np.int8, np.int16, a Python float,
// an np.float64 or an np.float32.
bool mixes_in_float64(const VT& t) {
  if (t.small == Small::I8 || t.small == Small::I16) return true;
  return t.small == Small::None && (t.r == Repr::I64 || t.r == Repr::F64 || (t.r == Repr::F32 && !t.py));
}

// An operation with an np.uint64 operand (Small::U64).
std::optional<VT> u64_binary(BinOp op, const VT& a, const VT& b, int line) {
  if (!is_u64(a) && !is_u64(b)) return std::nullopt;
  const VT& o = is_u64(a) ? b : a;
  std::string what = std::string("'") + analysis::to_string(op) + "' between " + describe(a) + " and " + describe(b);
  if (op == BinOp::Pow)
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      what +
                          " is not supported in native code (NumPy computes ** of an np.uint64 in its own power "
                          "loop); convert the operands with int() or float() first"};
  if (unsigned_small(o)) {
    if (op == BinOp::Div) return VT{Repr::F64, false, true};
    return VT{Repr::I64, false, true, Small::U64};
  }
  if (analysis::is_bitwise(op))
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      what +
                          " raises TypeError in NumPy (its bitwise operators do not mix an np.uint64 with a signed "
                          "integer or a float); make both operands np.uint64, e.g. np.uint64(13)"};
  if (mixes_in_float64(o)) return VT{Repr::F64, false, true};
  throw Unsupported{DeclineCode::Typing, line,
                    what +
                        " is not supported in native code (NumPy computes it in a type native code does not model "
                        "here); convert the element with int() or float() first"};
}
}  // namespace

namespace {
// An operation with an np.float16 operand (Small::F16), NumPy 1.24's scalar
// rules: two np.float16 give an np.float16 (+ - * / computed in float32 and
// rounded); an np.float32 gives float32; a Python float or int, an np.float64
// or an np.int64 give float64; // and % of two np.float16 are NumPy's float32
// divmod rounded to float16 (npy_half_divmod). ** of np.float16 (NumPy's own
// power), small integers and bools (float16 or float32 by NumPy's promotion)
// and np.uint64 are declined.
std::optional<VT> f16_binary(BinOp op, const VT& a, const VT& b, int line) {
  if (!is_f16(a) && !is_f16(b)) return std::nullopt;
  const VT& o = is_f16(a) ? b : a;
  std::string what = std::string("'") + analysis::to_string(op) + "' between " + describe(a) + " and " + describe(b);
  if (analysis::is_bitwise(op))
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      what + " raises TypeError in Python (bitwise operators take integers)"};
  if (is_f16(o)) {
    // (// and %: npy_half_divmod, NumPy's float32 divmod rounded to float16)
    if (op != BinOp::Pow) return VT{Repr::F32, false, true, Small::F16};
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      what +
                          " is not supported in native code (NumPy computes it with its own float16 routine); "
                          "convert an operand with float() first"};
  }
  if (op == BinOp::Pow)
    throw Unsupported{DeclineCode::UnsupportedOperation, line,
                      what +
                          " is not supported in native code (NumPy computes ** of an np.float16 in its own power "
                          "loop); convert the operands with float() first"};
  if (o.small == Small::None && o.r == Repr::F32 && !o.py) return VT{Repr::F32, false, true};
  if (o.small == Small::None && (o.r == Repr::F64 || o.r == Repr::I64)) return VT{Repr::F64, false, true};
  throw Unsupported{DeclineCode::Typing, line,
                    what +
                        " is not supported in native code (NumPy computes it in float16 or float32 by its "
                        "promotion rules); convert the element with float() first"};
}
}  // namespace

VT binary_type(BinOp op, const VT& a0, const VT& b0, int line) {
  if (auto t = f16_binary(op, a0, b0, line)) return *t;
  if (auto t = u64_binary(op, a0, b0, line)) return *t;
  if (auto t = two_small(op, a0, b0, line)) return *t;
  if (analysis::is_bitwise(op)) {
    VT a = without_small(a0, b0, "a bitwise operation", line);
    VT b = without_small(b0, a0, "a bitwise operation", line);
    std::vector<CT> res;
    for (auto ca : concrete(a))
      for (auto cb : concrete(b)) res.push_back(bitwise_concrete(op, ca, cb, line));
    return join_concrete(res, line, "a bitwise result");
  }
  VT a = without_small(a0, b0, "arithmetic", line);
  VT b = without_small(b0, a0, "arithmetic", line);
  std::vector<CT> res;
  for (auto ca : concrete(a))
    for (auto cb : concrete(b)) res.push_back(binary_concrete(op, ca, cb, line));
  return join_concrete(res, line, "an arithmetic result");
}

namespace {
bool any_complex(const VT& a, const VT& b) { return is_complex(a.r) || is_complex(b.r); }
}  // namespace

VT compare_domain(const VT& a0, const VT& b0, int line) {
  if (any_complex(a0, b0)) {
    // == and != only (the specialiser declines ordering): both sides as
    // complex numbers, in complex64 only when both are complex64 values.
    if (a0.small != Small::None || b0.small != Small::None)
      throw Unsupported{DeclineCode::Typing, line,
                        "comparing a complex number with a NumPy small integer is not supported in native code"};
    VT t = binary_type(BinOp::Add, a0, b0, line);
    if (a0.r != Repr::C64 || b0.r != Repr::C64) t.r = Repr::C128;
    return t;
  }
  // An np.uint64: compared with an unsigned integer by its unsigned value
  // (the domain np.uint64, compare_pair's unsigned comparisons), with a
  // signed integer or a float in float64 (np.uint64(2**53 + 1) == 2**53).
  // An np.float16: compared exactly, with an np.float16 or an np.float32 in
  // float32, with a Python or NumPy float64 or int in float64.
  if (is_f16(a0) || is_f16(b0)) {
    const VT& o = is_f16(a0) ? b0 : a0;
    if (is_f16(o) || (o.small == Small::None && o.r == Repr::F32 && !o.py)) return VT{Repr::F32, false, true};
    if (o.small == Small::None && (o.r == Repr::F64 || o.r == Repr::I64)) return VT{Repr::F64, false, true};
    throw Unsupported{DeclineCode::Typing, line,
                      "comparing an np.float16 with a " + describe(o) +
                          " is not supported in native code; convert the element with float() first"};
  }
  if (is_u64(a0) || is_u64(b0)) {
    const VT& o = is_u64(a0) ? b0 : a0;
    if (unsigned_small(o)) return VT{Repr::I64, false, true, Small::U64};
    if (mixes_in_float64(o)) return VT{Repr::F64, false, true};
    throw Unsupported{DeclineCode::Typing, line,
                      "comparing an np.uint64 with a " + describe(o) +
                          " is not supported in native code; convert the element with int() or float() first"};
  }
  // NumPy compares a small integer with any number by value, which the
  // int64 holding it does too (every value is exact in int64 and float64).
  VT a = a0.small == Small::None ? a0 : VT{Repr::I64, false, true};
  VT b = b0.small == Small::None ? b0 : VT{Repr::I64, false, true};
  std::vector<CT> res;
  for (auto ca : concrete(a))
    for (auto cb : concrete(b)) {
      if (!ca.np && !cb.np) {
        Repr r = (ca.r == Repr::F64 || cb.r == Repr::F64) ? Repr::F64 : Repr::I64;
        res.push_back({r, false});
      } else {
        Repr x = ca.np ? ca.r : (ca.r == Repr::Bool ? Repr::Bool : ca.r);
        Repr y = cb.np ? cb.r : (cb.r == Repr::Bool ? Repr::Bool : cb.r);
        Repr r = np_promote(x, y);
        if (r == Repr::Bool) r = Repr::I64;
        res.push_back({r, true});
      }
    }
  return join_concrete(res, line, "a comparison");
}

VT compare_result(const VT& a, const VT& b) {
  VT t{Repr::Bool, false, false};
  for (auto ca : concrete(a))
    for (auto cb : concrete(b)) {
      // Python's complex compares an np.float64 (a float subclass) on its right itself
      bool py_complex_first = !ca.np && ca.r == Repr::C128 && cb.np && cb.r == Repr::F64;
      ((ca.np || cb.np) && !py_complex_first ? t.np : t.py) = true;
    }
  return t;
}

}  // namespace loopscope::jit::cpu
