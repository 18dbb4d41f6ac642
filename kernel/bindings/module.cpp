#include <map>
#include <string>

#include "registry.hpp"

namespace loopscope::bindings {
namespace {
std::map<std::string, BindFn>& registry() {
  static std::map<std::string, BindFn> r;
  return r;
}
}  // namespace

Registrar::Registrar(const char* name, BindFn fn) { registry()[name] = fn; }

}  // namespace loopscope::bindings

PYBIND11_MODULE(_loopscope, m) {
  m.doc() = "Loopscope engine: analysis, cost model and code generation";
  m.attr("__version__") = "0.1.0";
  for (auto& [name, fn] : loopscope::bindings::registry()) {
    auto sub = m;  // all functions live at the top level of _loopscope
    fn(sub);
  }
}
