#include "values.hpp"

#include <pybind11/numpy.h>

#include <algorithm>

namespace py = pybind11;

namespace loopscope::bindings {

using analysis::ArrayBinding;
using analysis::Decline;
using analysis::DeclineCode;
using analysis::DType;
using analysis::ScalarBinding;
using analysis::ScalarKind;

namespace {

std::string kind_of(const py::handle& v) {
  return py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>();
}

std::optional<Decline> bind_array(const std::string& name, const py::handle& v, int line, ArrayBinding& out) {
  if (!py::isinstance<py::array>(v))
    return Decline{DeclineCode::UnsupportedValue, line,
                   name + " is a " + kind_of(v) + ", not a NumPy array, so it is indexed by Python"};
  // Subclasses index differently (np.matrix keeps rows 2-D, masked arrays
  // also update a mask): only plain ndarrays are read and written natively.
  static const py::handle ndarray = py::object(py::module_::import("numpy").attr("ndarray")).release();
  // A snapshot of a list or tuple the nest only reads (loopscope._lists):
  // its items are Python numbers.
  bool python_elements = false;
  if (!py::type::handle_of(v).is(ndarray)) {
    if (!py::hasattr(py::type::handle_of(v), "__loopscope_list_snapshot__"))
      return Decline{DeclineCode::UnsupportedValue, line,
                     name + " is a " + kind_of(v) + " (a subclass of numpy.ndarray), so it is indexed by Python"};
    python_elements = true;
  }
  py::array a = py::reinterpret_borrow<py::array>(v);
  py::dtype dt = a.dtype();
  char kind = dt.kind();
  py::ssize_t size = dt.itemsize();
  // The descriptor's own byte order, read without Python's attribute
  // machinery (this runs for every array at every call): `dtype.byteorder`
  // is '>' exactly when it is '>' on a little-endian machine.
  static const bool little = py::module_::import("sys").attr("byteorder").cast<std::string>() == "little";
  if (little && dt.byteorder() == '>')
    return Decline{DeclineCode::UnsupportedValue, line, name + " is stored in big-endian byte order"};
  if (kind == 'f' && size == 8)
    out.dtype = DType::Float64;
  else if (kind == 'f' && size == 4)
    out.dtype = DType::Float32;
  else if (kind == 'f' && size == 2)
    out.dtype = DType::Float16;
  else if (kind == 'i' && size == 8)
    out.dtype = DType::Int64;
  else if (kind == 'i' && size == 4)
    out.dtype = DType::Int32;
  else if (kind == 'b' && size == 1)
    out.dtype = DType::Bool;
  else if (kind == 'i' && size == 2)
    out.dtype = DType::Int16;
  else if (kind == 'i' && size == 1)
    out.dtype = DType::Int8;
  else if (kind == 'u' && size == 1)
    out.dtype = DType::UInt8;
  else if (kind == 'u' && size == 2)
    out.dtype = DType::UInt16;
  else if (kind == 'u' && size == 4)
    out.dtype = DType::UInt32;
  else if (kind == 'u' && size == 8)
    out.dtype = DType::UInt64;
  else if (kind == 'c' && size == 16)
    out.dtype = DType::Complex128;
  else if (kind == 'c' && size == 8)
    out.dtype = DType::Complex64;
  else
    return Decline{DeclineCode::UnsupportedValue, line,
                   name + " has dtype " + py::str(dt).cast<std::string>() +
                       "; supported are float64, float32, float16, complex128, complex64, the integer types and "
                       "bool"};
  if (a.ndim() == 0) return Decline{DeclineCode::UnsupportedValue, line, name + " is a 0-dimensional array"};
  out.data = const_cast<void*>(a.data());
  out.shape.clear();
  out.strides.clear();
  uintptr_t base = reinterpret_cast<uintptr_t>(out.data);
  intptr_t lo = 0, hi = 0;
  bool empty = false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    int64_t n = a.shape(d), s = a.strides(d);
    out.shape.push_back(n);
    out.strides.push_back(s);
    if (n == 0)
      empty = true;
    else if (s < 0)
      lo += s * (n - 1);
    else
      hi += s * (n - 1);
  }
  out.writeable = a.writeable() && !python_elements;
  out.python_elements = python_elements;
  out.c_contiguous = (a.flags() & py::array::c_style) != 0;
  if (empty) {
    out.mem_lo = out.mem_hi = base;
  } else {
    out.mem_lo = base + lo;
    out.mem_hi = base + hi + size;
  }
  return std::nullopt;
}

std::optional<Decline> bind_scalar(const std::string& name, const py::handle& v, int line, ScalarBinding& out) {
  if (py::isinstance<py::array>(v))
    return Decline{DeclineCode::UnsupportedValue, line,
                   name + " is a NumPy array but the loop uses it as a single value"};
  if (py::isinstance<py::bool_>(v)) {
    out.kind = ScalarKind::Bool;
    out.ival = v.cast<bool>() ? 1 : 0;
    return std::nullopt;
  }
  if (py::isinstance<py::int_>(v)) {
    // at most 62 bits (|v| < 2**62), read without calling int.bit_length
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
    constexpr long long kLimit = 1LL << 62;
    if (!overflow && x < kLimit && x > -kLimit) {
      out.kind = ScalarKind::Int;
      out.ival = x;
      return std::nullopt;
    }
    py::int_ i = py::reinterpret_borrow<py::int_>(v);
    int64_t bits = py::int_(i.attr("bit_length")()).cast<int64_t>();
    if (bits > 62)  // (str() of an int over 4300 digits raises: say its size instead)
      return Decline{DeclineCode::UnsupportedValue, line,
                     name +
                         (bits <= 200 ? " = " + py::str(v).cast<std::string>()
                                      : " (an integer of " + std::to_string(bits) + " bits)") +
                         " is too large an integer"};
    out.kind = ScalarKind::Int;
    out.ival = i.cast<int64_t>();
    return std::nullopt;
  }
  if (py::isinstance<py::float_>(v)) {  // includes numpy.float64
    out.kind = ScalarKind::Float;
    out.fval = v.cast<double>();
    out.numpy = !PyFloat_CheckExact(v.ptr());  // np.float64 (the interpreter's prices differ)
    return std::nullopt;
  }
  if (PyComplex_Check(v.ptr())) {  // includes numpy.complex128
    out.kind = ScalarKind::Complex;
    Py_complex c = PyComplex_AsCComplex(v.ptr());
    if (PyErr_Occurred()) throw py::error_already_set();
    out.fval = c.real;
    out.fimag = c.imag;
    out.numpy = !PyComplex_CheckExact(v.ptr());
    out.numpy_dtype = DType::Complex128;
    return std::nullopt;
  }
  py::module_ np = py::module_::import("numpy");
  if (py::isinstance(v, np.attr("bool_"))) {
    out.kind = ScalarKind::Bool;
    out.ival = v.cast<bool>() ? 1 : 0;
    out.numpy = true;
    out.numpy_dtype = DType::Bool;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("uint64"))) {  // its 64 bits; its type is CpuOptions::uint64_scalars
    out.kind = ScalarKind::Int;
    out.ival = static_cast<int64_t>(v.cast<uint64_t>());
    out.numpy = true;
    out.numpy_dtype = DType::UInt64;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("integer"))) {
    py::int_ i = py::reinterpret_steal<py::int_>(PyNumber_Index(v.ptr()));
    if (!i) throw py::error_already_set();
    if (py::int_(i.attr("bit_length")()).cast<int64_t>() > 62)
      return Decline{DeclineCode::UnsupportedValue, line, name + " is too large an integer"};
    out.kind = ScalarKind::Int;
    out.ival = i.cast<int64_t>();
    out.numpy = true;
    py::dtype dt = v.attr("dtype").cast<py::dtype>();
    const char kind = dt.kind();
    const py::ssize_t size = dt.itemsize();
    out.numpy_dtype = kind == 'u' ? (size == 1   ? DType::UInt8
                                     : size == 2 ? DType::UInt16
                                                 : DType::UInt32)
                      : size == 8 ? DType::Int64
                      : size == 4 ? DType::Int32
                      : size == 2 ? DType::Int16
                                  : DType::Int8;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("float32"))) {  // exact as a double; its type is CpuOptions::float32_scalars
    out.kind = ScalarKind::Float;
    out.fval = v.cast<double>();
    out.numpy = true;
    out.numpy_dtype = DType::Float32;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("float16"))) {  // exact as a double; its type is CpuOptions::float16_scalars
    out.kind = ScalarKind::Float;
    out.fval = v.cast<double>();
    out.numpy = true;
    out.numpy_dtype = DType::Float16;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("floating")))  // NumPy's longdouble scalar arithmetic
    return Decline{
        DeclineCode::Exactness, line,
        name + " is a NumPy " + kind_of(v) + " scalar; only float64, float32 and float16 scalars are supported"};
  if (py::isinstance(v, np.attr("complex64"))) {  // exact as doubles
    out.kind = ScalarKind::Complex;
    out.fval = py::float_(v.attr("real")).cast<double>();
    out.fimag = py::float_(v.attr("imag")).cast<double>();
    out.numpy = true;
    out.numpy_dtype = DType::Complex64;
    return std::nullopt;
  }
  if (py::isinstance(v, np.attr("complexfloating")))  // clongdouble
    return Decline{DeclineCode::Exactness, line,
                   name + " is a NumPy " + kind_of(v) + " scalar; only complex128 and complex64 scalars are supported"};
  return Decline{DeclineCode::UnsupportedValue, line, name + " is a " + kind_of(v) + ", not a number or a NumPy array"};
}

}  // namespace

std::optional<Decline> read_values(const analysis::LoopNest& nest, py::dict env, analysis::BoundNest& out) {
  out.nest = &nest;
  out.arrays.clear();
  out.scalars.clear();
  int line = nest.first_line;
  try {
    for (auto& name : nest.inputs) {
      py::str key(name);
      if (!env.contains(key))
        return Decline{DeclineCode::UnsupportedValue, line, name + " is not defined before the loop"};
      py::handle v = env[key];
      bool is_array = std::binary_search(nest.arrays.begin(), nest.arrays.end(), name) ||
                      std::find(nest.arrays.begin(), nest.arrays.end(), name) != nest.arrays.end();
      if (is_array) {
        ArrayBinding a;
        if (auto d = bind_array(name, v, line, a)) return d;
        out.arrays.emplace(name, std::move(a));
      } else {
        ScalarBinding s;
        if (auto d = bind_scalar(name, v, line, s)) return d;
        out.scalars.emplace(name, s);
      }
    }
  } catch (const py::error_already_set& e) {
    return Decline{DeclineCode::Internal, line, std::string("the values of the loop could not be read: ") + e.what(),
                   e.what()};
  }
  return std::nullopt;
}

}  // namespace loopscope::bindings
