#include "interrupt.hpp"

#include <Python.h>
#include <pthread.h>
#include <signal.h>

#include <thread>

namespace loopscope::kernel {
namespace {

std::atomic<bool> g_executing{false};
constexpr int kMaxFlags = 8;
std::atomic<std::atomic<bool>*> g_native_flags[kMaxFlags];
std::atomic<int> g_native_count{0};

void consume_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig != SIGINT) continue;
    if (!g_executing.load()) continue;  // idle, or between cells: ignore
    // Python's pending interrupt first, then the native flags: a native loop
    // that stops on its flag then finds the KeyboardInterrupt already pending
    // and raises that one, never a second.
    PyErr_SetInterrupt();
    for (int i = 0; i < g_native_count.load(); ++i)
      if (auto* f = g_native_flags[i].load()) f->store(true);
    // CPython 3.11 computes the main thread's "eval breaker" from the thread
    // that signals; taking the GIL once makes the running thread notice the
    // pending interrupt at its next bytecode boundary.
    if (Py_IsInitialized()) {
      PyGILState_STATE st = PyGILState_Ensure();
      PyGILState_Release(st);
    }
  }
}

}  // namespace

void install_interrupt_handling() {
  // A kernel started by a server that runs in the background of a
  // non-interactive shell (`jupyter lab &` in a script, nohup) inherits
  // SIGINT ignored: an ignored signal is discarded, never pending, so
  // sigwait would not see an interrupt, and Python (initialised after this)
  // would install no KeyboardInterrupt handler. Take the default first.
  signal(SIGINT, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(consume_signals).detach();
}

void set_executing(bool executing) { g_executing.store(executing); }

void register_native_flag(std::atomic<bool>* flag) {
  for (int i = 0; i < g_native_count.load(); ++i)
    if (g_native_flags[i].load() == flag) return;
  int slot = g_native_count.load();
  if (slot >= kMaxFlags) return;
  g_native_flags[slot].store(flag);
  g_native_count.store(slot + 1);
}

}  // namespace loopscope::kernel
