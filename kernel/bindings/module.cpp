#include <map>
#include <string>

#include "loopscope/share_dir.hpp"
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
  m.def("share_dir", &loopscope::share_dir, "The folder of the engine's data (GPU profiles, CUDA helper headers).");
  m.def("set_share_dir", &loopscope::set_share_dir, pybind11::arg("dir"),
        "Use this folder for the engine's data from now on.");
  for (auto& [name, fn] : loopscope::bindings::registry()) {
    auto sub = m;  // all functions live at the top level of _loopscope
    fn(sub);
  }
}
