// auto's kept native decisions, looked up without leaving C++ on a warm call.
//
// loopscope._cost.choose keeps each decision it makes (its _decisions, keyed
// on the nest and the values' decision signature) and reuses it on the next
// executions with the same signature. On a warm call that lookup was the
// whole of auto's overhead over the device it picks, and most of it was the
// signature built in Python (a tuple per value, 4 to 10 us when the call
// follows other work and the interpreter's code is out of the caches). The
// plainest kept decisions (native, decided for good until their time runs
// out, their first optimised run measured, no trial waiting) are mirrored
// here: auto_kept computes the same signature as bytes and finds the device
// in one hash lookup. Everything else (a Python decision, a trial, values of
// a type the signature below does not read) returns None and takes the
// Python path, which stays the one place where decisions are made; every
// change to _decisions in Python forgets the mirrored entries of its nest
// (all of them when it is cleared).
//
// A choice only picks a device: the device's own checks still run at every
// call, so a kept choice can cost speed, never exactness.
//
//   auto_kept(nest_id, env) -> (device, slow_above_s) or None
//   auto_keep(nest_id, env, device, expires, slow_above_s) -> bool
//   auto_forget(nest_id=None), auto_hits(nest_id) -> int, auto_hits_clear(), auto_kept_size()
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>

#include "registry.hpp"

namespace py = pybind11;

namespace loopscope::bindings {
namespace {

struct KeptDecision {
  py::object device;    // "cpu" or "cpu-serial"
  double expires;       // time.monotonic() seconds: decided again after it
  double slow_above_s;  // a parallel run slower than this is noted (note_native_run)
  int nest_id;
};

struct KeptTable {
  std::unordered_map<std::string, KeptDecision> entries;
  std::unordered_map<int, long> hits;  // warm executions answered here, per nest (choose counts them as runs)
};

KeptTable& table() {
  static KeptTable t;
  return t;
}

// Python's time.monotonic(): CLOCK_MONOTONIC.
double monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

template <typename T>
void put(std::string& key, T v) {
  key.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct SignatureTypes {
  PyTypeObject *ndarray, *float64, *float32;
};
const SignatureTypes& signature_types() {
  static const SignatureTypes t = [] {
    py::module_ np = py::module_::import("numpy");
    auto type = [&](const char* name) { return (PyTypeObject*)py::object(np.attr(name)).release().ptr(); };
    return SignatureTypes{type("ndarray"), type("float64"), type("float32")};
  }();
  return t;
}

// The decision signature of loopscope._cost.decision_signature, as bytes:
// per value its name and, for an array, its dtype, shape and strides; for a
// float, its type; for an int, its sign and bit length; a bool or None as
// itself. False for any other value (the Python path keys those).
bool append_signature(std::string& key, py::dict env) {
  const SignatureTypes& types = signature_types();
  for (auto item : env) {
    PyObject* name = item.first.ptr();
    PyObject* v = item.second.ptr();
    if (!PyUnicode_CheckExact(name)) return false;
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s) {
      PyErr_Clear();
      return false;
    }
    put(key, (uint32_t)n);
    key.append(s, (size_t)n);
    PyTypeObject* t = Py_TYPE(v);
    if (t == types.ndarray) {
      auto a = py::reinterpret_borrow<py::array>(item.second);
      const int ndim = (int)a.ndim();
      key += 'A';
      put(key, (int32_t)a.dtype().num());
      put(key, (int32_t)ndim);
      for (int d = 0; d < ndim; ++d) {
        put(key, (int64_t)a.shape(d));
        put(key, (int64_t)a.strides(d));
      }
    } else if (t == &PyFloat_Type || t == types.float64 || t == types.float32) {
      key += 'F';
      put(key, (uintptr_t)t);
    } else if (t == &PyLong_Type) {
      int overflow = 0;
      long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
      if (overflow || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
      }
      unsigned long long mag = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
      int bits = mag ? 64 - __builtin_clzll(mag) : 0;
      key += 'I';
      put(key, (int32_t)(x < 0 ? -bits : bits));
    } else if (t == &PyBool_Type) {
      key += v == Py_True ? 'T' : 'f';
    } else if (v == Py_None) {
      key += 'N';
    } else {
      return false;
    }
  }
  return true;
}

bool key_of(int nest_id, py::dict env, std::string& key) {
  key.reserve(128);
  put(key, (int32_t)nest_id);
  return append_signature(key, env);
}

py::object auto_kept(int nest_id, py::dict env) {
  std::string key;
  if (!key_of(nest_id, env, key)) return py::none();
  KeptTable& t = table();
  auto it = t.entries.find(key);
  if (it == t.entries.end()) return py::none();
  if (monotonic_seconds() >= it->second.expires) {
    t.entries.erase(it);
    return py::none();
  }
  ++t.hits[nest_id];
  return py::make_tuple(it->second.device, it->second.slow_above_s);
}

bool auto_keep(int nest_id, py::dict env, py::str device, double expires, double slow_above_s) {
  std::string key;
  if (!key_of(nest_id, env, key)) return false;
  KeptTable& t = table();
  if (t.entries.size() > 4096) t.entries.clear();
  t.entries[key] = KeptDecision{device, expires, slow_above_s, nest_id};
  return true;
}

void auto_forget(py::object nest_id) {
  KeptTable& t = table();
  if (nest_id.is_none()) {
    t.entries.clear();
    return;
  }
  const int id = nest_id.cast<int>();
  for (auto it = t.entries.begin(); it != t.entries.end();)
    it = it->second.nest_id == id ? t.entries.erase(it) : std::next(it);
}

long auto_hits(int nest_id) {
  KeptTable& t = table();
  auto it = t.hits.find(nest_id);
  if (it == t.hits.end()) return 0;
  long n = it->second;
  t.hits.erase(it);
  return n;
}

void bind(py::module_& m) {
  m.def("auto_kept", &auto_kept, py::arg("nest_id"), py::arg("env"),
        "auto's kept native decision for these values: (device, slow_above_s), or None (decide in Python).");
  m.def("auto_keep", &auto_keep, py::arg("nest_id"), py::arg("env"), py::arg("device"), py::arg("expires"),
        py::arg("slow_above_s"),
        "Mirrors a kept native decision until `expires` (time.monotonic()); False where the values' types are "
        "not read by the signature here.");
  m.def("auto_forget", &auto_forget, py::arg("nest_id") = py::none(),
        "Forgets the mirrored decisions of one nest (all of them with None).");
  m.def("auto_hits", &auto_hits, py::arg("nest_id"),
        "How many executions of the nest auto_kept answered since the last call (then zero).");
  m.def("auto_hits_clear", [] { table().hits.clear(); }, "Forgets every nest's count of auto_hits.");
  m.def("auto_kept_size", [] { return table().entries.size(); }, "How many decisions are mirrored.");
}

Registrar reg("auto_kept", &bind);

}  // namespace
}  // namespace loopscope::bindings
