// Each bindings/*.cpp adds its functions to the _loopscope module by defining
// a static Registrar; module.cpp runs them in name order when Python imports
// the module. This keeps the bindings of each engine module in its own file.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <string>

namespace loopscope::bindings {

using BindFn = void (*)(pybind11::module_&);

struct Registrar {
  Registrar(const char* name, BindFn fn);
};

}  // namespace loopscope::bindings
