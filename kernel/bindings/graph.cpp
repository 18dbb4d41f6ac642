// Graph drawing for reports: DOT text in, SVG text out, through Graphviz's
// library (libgvc), so no `dot` executable is needed at run time.
//
//   render_dot(dot, engine="dot", timeout_s=0.0) -> str
//
// With a positive `timeout_s` the layout has a time budget: it runs in a
// child process (fork) that hands the SVG back through a pipe, and a child
// still working when the budget is spent is killed and TimeoutError raised.
// Graphviz cannot be interrupted, and its layout time grows quickly with the
// number of edges, so this is what keeps a report from stalling a cell.
// Without a budget the layout runs in this process, as before.
//
// Graphviz's context knows only the two plugins linked into the module,
// registered as built-ins: the dot layout and the SVG renderer. No plugin
// configuration or plugin folder is read, so the module works the same from
// a wheel on a machine with no Graphviz installed. Text is measured with
// Graphviz's own font metrics.
#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>
#include <graphviz/gvplugin.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#define LOOPSCOPE_LAYOUT_CHILD 1
#endif

#include "registry.hpp"

namespace py = pybind11;

// The plugins' registration tables (libgvplugin_core, libgvplugin_dot_layout).
extern "C" {
extern gvplugin_library_t gvplugin_core_LTX_library;
extern gvplugin_library_t gvplugin_dot_layout_LTX_library;
}

namespace {

lt_symlist_t kBuiltinPlugins[] = {
    {"gvplugin_core_LTX_library", &gvplugin_core_LTX_library},
    {"gvplugin_dot_layout_LTX_library", &gvplugin_dot_layout_LTX_library},
    {nullptr, nullptr},
};

std::mutex g_graphviz_mutex;    // Graphviz keeps global state: one render at a time
std::string g_graphviz_errors;  // filled by collect_error while the mutex is held

int collect_error(char* message) {
  if (message != nullptr) g_graphviz_errors += message;
  return 0;
}

// Layout and SVG rendering in this process. Returns 0, or a nonzero code.
int layout_here(GVC_t* gvc, Agraph_t* g, const std::string& engine, std::string& svg) {
  if (gvLayout(gvc, g, engine.c_str()) != 0) return 1;
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc, g, "svg", &data, &length);
  if (rc == 0 && data != nullptr) svg.assign(data, length);
  if (data != nullptr) gvFreeRenderData(data);
  gvFreeLayout(gvc, g);
  return rc == 0 ? 0 : 2;
}

// Graphviz sets up a layout engine and its renderer on first use (with
// demand-loaded plugins, a dlopen, which is not safe after fork in a process
// with threads); that must happen here, once, not in every forked child. One
// tiny graph per engine does it.
void load_plugins(GVC_t* gvc, const std::string& engine) {
  static std::set<std::string> loaded;
  if (loaded.count(engine)) return;
  Agraph_t* g = agmemread("digraph { a -> b }");
  if (g == nullptr) return;
  std::string ignored;
  layout_here(gvc, g, engine, ignored);
  agclose(g);
  loaded.insert(engine);
}

enum class ChildResult { Ok, Failed, TimedOut, NoChild };

#ifdef LOOPSCOPE_LAYOUT_CHILD
// The layout in a child process with a deadline.
ChildResult layout_in_child(GVC_t* gvc, Agraph_t* g, const std::string& engine, double timeout_s, std::string& svg) {
  int fds[2];
  if (pipe(fds) != 0) return ChildResult::NoChild;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return ChildResult::NoChild;
  }
  if (pid == 0) {  // the child: lay out, write the SVG, leave without cleanup
    close(fds[0]);
    // Graphviz can die on a graph (dot 2.42 frees twice on some clustered
    // graphs): the parent then reports a failed layout. Nothing of it may
    // reach the kernel's stderr, neither the C library's message nor the
    // Python fault handler's traceback inherited from the parent.
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    signal(SIGABRT, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    std::string out;
    int rc = layout_here(gvc, g, engine, out);
    if (rc != 0) _exit(10 + rc);
    const char* p = out.data();
    size_t left = out.size();
    while (left > 0) {
      ssize_t n = write(fds[1], p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(3);
      p += n;
      left -= (size_t)n;
    }
    _exit(0);
  }
  close(fds[1]);
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s));
  bool timed_out = false, read_error = false;
  char buf[1 << 16];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int pr = poll(&pfd, 1, (int)std::min<long long>(left, 1000));
    if (pr < 0) {
      if (errno == EINTR) continue;
      read_error = true;
      break;
    }
    if (pr == 0) continue;  // the loop checks the deadline
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      svg.append(buf, (size_t)n);
    } else if (n == 0) {
      break;  // the child closed the pipe: done (or failed)
    } else if (errno != EINTR) {
      read_error = true;
      break;
    }
  }
  close(fds[0]);
  if (timed_out || read_error) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (timed_out) return ChildResult::TimedOut;
  if (read_error || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return ChildResult::Failed;
  return ChildResult::Ok;
}
#endif

std::string render_dot(const std::string& dot, const std::string& engine, double timeout_s) {
  std::string svg;
  bool timed_out = false;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(g_graphviz_mutex);
    static GVC_t* gvc = gvContextPlugins(kBuiltinPlugins, /*demand_loading=*/0);
    if (gvc == nullptr) throw std::runtime_error("Graphviz could not be initialised");
    g_graphviz_errors.clear();
    agseterrf(collect_error);
    Agraph_t* g = agmemread(dot.c_str());
    if (g == nullptr)
      throw std::invalid_argument("Graphviz could not parse the graph description: " + g_graphviz_errors);
    ChildResult r = ChildResult::NoChild;
#ifdef LOOPSCOPE_LAYOUT_CHILD
    if (timeout_s > 0) {
      load_plugins(gvc, engine);
      r = layout_in_child(gvc, g, engine, timeout_s, svg);
    }
#endif
    if (r == ChildResult::NoChild) {  // no budget, or no child could be started
      svg.clear();
      int rc = layout_here(gvc, g, engine, svg);
      agclose(g);
      if (rc == 1) throw std::runtime_error("Graphviz layout '" + engine + "' failed");
      if (rc != 0) throw std::runtime_error("Graphviz could not render SVG");
    } else {
      agclose(g);
      if (r == ChildResult::Failed) throw std::runtime_error("Graphviz layout '" + engine + "' failed");
      timed_out = r == ChildResult::TimedOut;
    }
  }
  if (timed_out) {
    PyErr_SetString(PyExc_TimeoutError,
                    ("the Graphviz layout took longer than " + std::to_string(timeout_s) + " s").c_str());
    throw py::error_already_set();
  }
  return svg;
}

void bind_graph(py::module_& m) {
  m.def("render_dot", &render_dot, py::arg("dot"), py::arg("engine") = "dot", py::arg("timeout_s") = 0.0,
        "Lay out a graph given in the DOT language and return it as SVG text. With timeout_s > 0 the layout "
        "runs in a child process and TimeoutError is raised when it takes longer.");
}

loopscope::bindings::Registrar registrar("graph", &bind_graph);

}  // namespace
