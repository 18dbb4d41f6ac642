// xloopscope: the Loopscope Jupyter kernel.
//
//   xloopscope [--python PATH] -f CONNECTION_FILE
//
// PATH is the Python executable whose environment the kernel embeds (the
// project's virtual environment); Python reads its pyvenv.cfg, so sys.prefix,
// sys.executable and sys.path are those of that environment. The embedded
// interpreter is always the libpython the kernel links (Debian's 3.11).
#include <pybind11/embed.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "history.hpp"
#include "interpreter.hpp"
#include "interrupt.hpp"
#include "xeus-python/xdebugger.hpp"
#include "xeus/xeus_context.hpp"
#include "xeus/xkernel.hpp"
#include "xeus/xkernel_configuration.hpp"
#include "xeus/xserver_shell_main.hpp"

namespace py = pybind11;

#ifndef LOOPSCOPE_DEFAULT_PYTHON
#define LOOPSCOPE_DEFAULT_PYTHON "/usr/bin/python3"
#endif

namespace {

std::string option_value(int argc, char* argv[], const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return {};
}

bool has_flag(int argc, char* argv[], const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

void usage() {
  std::cout << "usage: xloopscope [--python PATH] -f CONNECTION_FILE\n"
               "       xloopscope --version\n";
}

}  // namespace

int main(int argc, char* argv[]) {
  if (has_flag(argc, argv, "--version")) {
    std::cout << "xloopscope " LOOPSCOPE_VERSION << std::endl;
    return 0;
  }
  if (has_flag(argc, argv, "-h") || has_flag(argc, argv, "--help")) {
    usage();
    return 0;
  }
  const std::string connection_file = option_value(argc, argv, "-f");
  if (connection_file.empty()) {
    usage();
    return 2;
  }
  std::string python = option_value(argc, argv, "--python");
  if (python.empty()) python = LOOPSCOPE_DEFAULT_PYTHON;

  // Quiet unless debugging when started by a notebook server.
  if (std::getenv("JPY_PARENT_PID") != nullptr && std::getenv("XLOOPSCOPE_DEBUG") == nullptr) {
    std::clog.setstate(std::ios_base::failbit);
  }

  // Before any thread exists, so that every thread inherits the blocked mask.
  loopscope::kernel::install_interrupt_handling();

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  config.install_signal_handlers = 1;
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, python.c_str());
  if (PyStatus_Exception(status)) {
    std::cerr << "xloopscope: invalid --python path" << std::endl;
    return 2;
  }
  // IPython parses sys.argv: give it the program name only.
  py::scoped_interpreter guard(&config, 1, argv, /*add_program_dir_to_path=*/false);

  std::unique_ptr<xeus::xinterpreter> interpreter(new loopscope::kernel::LoopscopeInterpreter());
  xeus::xconfiguration kernel_config = xeus::load_configuration(connection_file);

  nl::json debugger_config;
  debugger_config["python"] = python;
  xeus::xkernel kernel(kernel_config, xeus::get_user_name(), xeus::make_context<zmq::context_t>(),
                       std::move(interpreter), xeus::make_xserver_shell_main, loopscope::kernel::make_history_manager(),
                       nullptr, xpyt::make_python_debugger, debugger_config);
  kernel.start();  // returns only through std::exit at shutdown
  return 0;
}
