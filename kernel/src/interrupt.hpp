// Kernel interrupts. jupyter_client interrupts a kernel with SIGINT. The signal
// is blocked in every thread and consumed by one waiting thread, which turns it
// into a KeyboardInterrupt in the Python code that is running (and sets a flag
// that native loops poll), but only while a cell executes.
#pragma once

#include <atomic>

namespace loopscope::kernel {

// Restore SIGINT's default disposition (a kernel may inherit it ignored) and
// block it in the calling thread; call before any other thread exists and
// before Python starts, so that every thread inherits the mask and Python
// installs its KeyboardInterrupt handler. Then start the consumer thread.
void install_interrupt_handling();

// Marks the span during which an interrupt applies to user code.
void set_executing(bool executing);

// Native engines loaded later (the _loopscope module) keep their own cancel
// flag; the kernel sets every registered flag on interrupt.
void register_native_flag(std::atomic<bool>* flag);

}  // namespace loopscope::kernel
