// The Loopscope interpreter: xeus-python's IPython-based interpreter, plus
// coalesced output streams, real exception names, comm support for
// ipywidgets, interrupts, and the Loopscope cell transformer.
#pragma once

#include <string>

#include "xeus-python/xinterpreter.hpp"

namespace loopscope::kernel {

class LoopscopeInterpreter : public xpyt::interpreter {
 public:
  LoopscopeInterpreter();

 protected:
  void configure_impl() override;
  nl::json execute_request_impl(int execution_counter, const std::string& code, bool silent, bool store_history,
                                nl::json user_expressions, bool allow_stdin) override;
  nl::json kernel_info_request_impl() override;
  // IPython's completions with their types and signatures, as ipykernel
  // sends them (metadata "_jupyter_types_experimental").
  nl::json complete_request_impl(const std::string& code, int cursor_pos) override;

 private:
  void flush_streams();
  bool exit_requested();  // exit() or quit() ran in the cell (asked once)
  py::object m_support;   // loopscope._kernel_support, or None when unavailable
};

}  // namespace loopscope::kernel
