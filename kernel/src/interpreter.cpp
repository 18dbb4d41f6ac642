#include "interpreter.hpp"

#include <pybind11/embed.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "interrupt.hpp"

namespace py = pybind11;

namespace loopscope::kernel {

LoopscopeInterpreter::LoopscopeInterpreter() : xpyt::interpreter(true, true) {}

void LoopscopeInterpreter::configure_impl() {
  // Builds the IPython shell and the redirected streams, then releases the GIL.
  xpyt::interpreter::configure_impl();

  py::gil_scoped_acquire gil;
  m_support = py::none();
  try {
    py::module_ support = py::module_::import("loopscope._kernel_support");
    support.attr("install")(m_ipython_shell);
    m_support = support;
    // Native loops poll the engine's cancel flag; the signal thread sets it.
    py::object address = support.attr("native_interrupt_flag_address")();
    if (!address.is_none()) {
      register_native_flag(reinterpret_cast<std::atomic<bool>*>(address.cast<uintptr_t>()));
    }
  } catch (const py::error_already_set& e) {
    // The kernel must still work as a plain Python kernel.
    std::cerr << "loopscope: kernel support not loaded: " << e.what() << std::endl;
  }
}

bool LoopscopeInterpreter::exit_requested() {
  if (m_support.is_none()) return false;
  try {
    return m_support.attr("exit_requested")().cast<bool>();
  } catch (const py::error_already_set& e) {
    std::cerr << "loopscope: exit check failed: " << e.what() << std::endl;
    return false;
  }
}

void LoopscopeInterpreter::flush_streams() {
  if (m_support.is_none()) return;
  try {
    m_support.attr("flush_streams")();
  } catch (const py::error_already_set& e) {
    std::cerr << "loopscope: flushing output failed: " << e.what() << std::endl;
  }
}

nl::json LoopscopeInterpreter::execute_request_impl(int execution_counter, const std::string& code, bool silent,
                                                    bool store_history, nl::json user_expressions, bool allow_stdin) {
  set_executing(true);
  nl::json reply;
  try {
    reply = xpyt::interpreter::execute_request_impl(execution_counter, code, silent, store_history,
                                                    std::move(user_expressions), allow_stdin);
  } catch (...) {
    set_executing(false);
    py::gil_scoped_acquire gil;
    flush_streams();
    throw;
  }
  set_executing(false);
  {
    py::gil_scoped_acquire gil;
    flush_streams();
    // An interrupt that arrived after the last bytecode ran must not leak
    // into the next cell as a stray KeyboardInterrupt.
    if (PyErr_CheckSignals() != 0) PyErr_Clear();
    if (exit_requested()) {
      // As ipykernel does for exit(): the reply says so, then the process
      // ends (the notebook server restarts the kernel). The delay lets xeus
      // send this reply and the idle status first.
      reply["payload"].push_back(nl::json{{"source", "ask_exit"}, {"keepkernel", false}});
      std::thread([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::fflush(nullptr);
        std::_Exit(0);
      }).detach();
    }
  }
  return reply;
}

nl::json LoopscopeInterpreter::complete_request_impl(const std::string& code, int cursor_pos) {
  if (!m_support.is_none()) {
    py::gil_scoped_acquire gil;
    try {
      std::string reply = m_support.attr("complete_json")(code, cursor_pos).cast<std::string>();
      return nl::json::parse(reply);
    } catch (const std::exception& e) {  // py::error_already_set or a JSON error
      std::cerr << "loopscope: completion with types failed: " << e.what() << std::endl;
    }
  }
  return xpyt::interpreter::complete_request_impl(code, cursor_pos);
}

nl::json LoopscopeInterpreter::kernel_info_request_impl() {
  nl::json info = xpyt::interpreter::kernel_info_request_impl();
  const std::string xpyt_version = info.value("implementation_version", std::string());
  info["implementation"] = "loopscope";
  info["implementation_version"] = LOOPSCOPE_VERSION;
  {
    py::gil_scoped_acquire gil;
    py::module_ platform = py::module_::import("platform");
    info["language_info"]["version"] = platform.attr("python_version")().cast<std::string>();
  }
  // What ipykernel announces, so that JupyterLab highlights IPython syntax
  // (magics, !commands) and nbconvert exports the notebook as a script.
  info["language_info"]["codemirror_mode"] = {{"name", "ipython"}, {"version", 3}};
  info["language_info"]["pygments_lexer"] = "ipython3";
  info["language_info"]["nbconvert_exporter"] = "python";
  info["banner"] = "Loopscope " LOOPSCOPE_VERSION
                   ": a Python kernel that analyses, prices and parallelises loop nests\n"
                   "(built on xeus-python " +
                   xpyt_version + ")";
  return info;
}

}  // namespace loopscope::kernel
