// Graph drawing for reports: DOT text in, SVG text out, through Graphviz's
// library (libgvc), so no `dot` executable is needed at run time.
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "registry.hpp"

namespace py = pybind11;

namespace {

std::mutex g_graphviz_mutex;  // Graphviz keeps global state: one render at a time
std::string g_graphviz_errors;  // filled by collect_error while the mutex is held

int collect_error(char* message) {
  if (message != nullptr) g_graphviz_errors += message;
  return 0;
}

std::string render_dot(const std::string& dot, const std::string& engine) {
  std::string svg;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(g_graphviz_mutex);
    static GVC_t* gvc = gvContext();
    if (gvc == nullptr) throw std::runtime_error("Graphviz could not be initialised");
    g_graphviz_errors.clear();
    agseterrf(collect_error);
    Agraph_t* g = agmemread(dot.c_str());
    if (g == nullptr)
      throw std::invalid_argument("Graphviz could not parse the graph description: " +
                                  g_graphviz_errors);
    if (gvLayout(gvc, g, engine.c_str()) != 0) {
      agclose(g);
      throw std::runtime_error("Graphviz layout '" + engine + "' failed");
    }
    char* data = nullptr;
    unsigned int length = 0;
    int rc = gvRenderData(gvc, g, "svg", &data, &length);
    if (rc == 0 && data != nullptr) svg.assign(data, length);
    if (data != nullptr) gvFreeRenderData(data);
    gvFreeLayout(gvc, g);
    agclose(g);
    if (rc != 0) throw std::runtime_error("Graphviz could not render SVG");
  }
  return svg;
}

void bind_graph(py::module_& m) {
  m.def("render_dot", &render_dot, py::arg("dot"), py::arg("engine") = "dot",
        "Lay out a graph given in the DOT language and return it as SVG text.");
}

loopscope::bindings::Registrar registrar("graph", &bind_graph);

}  // namespace
