// The Loopscope CUDA emulator: just enough of CUDA's device environment for
// the kernels Loopscope generates to compile as ordinary C++ and run on the
// CPU. A launch walks the grid block by block.
//
// Kernels whose threads never wait for one another (every kernel without a
// reduction) run thread after thread (x fastest), with threadIdx, blockIdx,
// blockDim and gridDim set for each: a faithful execution, since the threads
// are independent.
//
// Kernels that combine values across threads (warp shuffles, barriers) run
// each thread of a block as a fiber (ucontext). A fiber that reaches a
// shuffle or __syncthreads waits there until every thread of its warp (or
// block) has arrived, as on a GPU; then the values are exchanged. Warps are
// 32 consecutive threads in x-fastest order, as in CUDA.
//
// The state of a launch lives in globals of the compiled library, so the host
// runs one launch at a time (jit/src/cuda_runtime.cpp).
#pragma once

#ifdef _FORTIFY_SOURCE
#undef _FORTIFY_SOURCE
#endif
#include <setjmp.h>

#include <ucontext.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <vector>

using std::copysign;
using std::fmod;
using std::isfinite;
using std::isinf;
using std::isnan;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define LS_DEV static inline
// Shared memory: one instance for the whole launch. Blocks run one after the
// other, so each block sees its own values as long as it writes before it
// reads (as CUDA code must).
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
};

namespace ls_emu {
inline uint3 thread_idx, block_idx;
inline dim3 block_dim, grid_dim;

// The host's interrupt flag (a byte: nonzero = stop), polled between
// blocks and by the loops inside kernels.
inline const volatile unsigned char* cancel_flag = nullptr;
inline bool cancelled() { return cancel_flag && *cancel_flag; }

struct unsupported : std::exception {
  const char* what() const noexcept override { return "thread synchronisation outside fiber mode"; }
};

// ---- fibers ------------------------------------------------------------
// Functions the compiler must treat as unknown calls: what the other fibers
// do while one is switched out happens "inside" them (GCC's interprocedural
// analysis would otherwise keep a barrier's counters in registers across).
#if defined(__clang__)
#define LS_EMU_OPAQUE __attribute__((noinline)) inline
#else
#define LS_EMU_OPAQUE __attribute__((noipa)) inline
#endif

// A fiber is made once per thread slot (makecontext, first entered with
// setcontext) and kept: when its thread's body returns, it waits at the top
// of its loop, and the next block (or launch) that needs the slot runs the
// body again there. Every switch is an _setjmp/_longjmp pair, which saves no
// signal mask: swapcontext and setcontext make a system call each, and a
// block of 256 threads reducing through shuffles switches thousands of times,
// a nest in a declined loop launches thousands of times. (Jumping between
// stacks is what _FORTIFY_SOURCE's longjmp check forbids: it is off here.)
struct Fiber {
  ucontext_t ctx;
  jmp_buf jump;          // where the fiber resumes: mid-body, or at the top of its loop
  bool started = false;  // its context has been entered (it has a jump point)
  bool done = false;     // its thread's body has returned, in this block
};
struct Group {  // a warp or a block: threads that meet at a barrier
  unsigned live = 0, arrived = 0, generation = 0;
};
inline bool fiber_mode = false;
inline std::vector<Fiber> fibers;
inline std::vector<char> stacks;
inline const size_t stack_size = 64 * 1024;
inline jmp_buf scheduler_jump;     // where the scheduler resumes
inline ucontext_t fiber_template;  // one getcontext for all fibers
inline bool have_template = false;
inline unsigned current = 0;
inline std::vector<uint64_t> exchange;  // one slot per thread for shuffles
inline std::vector<Group> warps;
inline Group block_group;
inline const std::function<void()>* fiber_body = nullptr;
inline unsigned block_threads = 0;
inline bool progress = false;

inline unsigned linear_tid() { return (thread_idx.z * block_dim.y + thread_idx.y) * block_dim.x + thread_idx.x; }
inline void set_tid(unsigned t) {
  thread_idx = {t % block_dim.x, (t / block_dim.x) % block_dim.y, t / (block_dim.x * block_dim.y)};
}
// Not inlined, and a compiler barrier: the caller must read again whatever
// the other fibers wrote meanwhile (a barrier's generation, shuffle slots).
LS_EMU_OPAQUE void yield() {
  if (_setjmp(fibers[current].jump) == 0) _longjmp(scheduler_jump, 1);
}

// Waits until every live thread of `g` has arrived.
inline void barrier(Group& g) {
  unsigned gen = g.generation;
  if (++g.arrived >= g.live) {
    g.arrived = 0;
    ++g.generation;
    progress = true;
    return;
  }
  while (g.generation == gen) yield();
}

inline void fiber_main() {
  for (;;) {  // one thread's body per turn; a fiber never returns
    (*fiber_body)();
    fibers[current].done = true;
    progress = true;
    // A finished thread no longer holds back its warp or block.
    Group& w = warps[current / 32];
    if (--w.live > 0 && w.arrived >= w.live) {
      w.arrived = 0;
      ++w.generation;
    }
    if (--block_group.live > 0 && block_group.arrived >= block_group.live) {
      block_group.arrived = 0;
      ++block_group.generation;
    }
    yield();  // back to the scheduler; resumed here for the next block
  }
}

// Runs fiber t until it yields or finishes.
LS_EMU_OPAQUE void resume(unsigned t) {
  if (_setjmp(scheduler_jump) != 0) return;
  if (!fibers[t].started) {
    fibers[t].started = true;
    setcontext(&fibers[t].ctx);
  }
  _longjmp(fibers[t].jump, 1);
}

// Runs one block as fibers. Returns false on a deadlock (threads waiting at
// barriers that the others never reach).
inline bool run_block_fibers(const std::function<void()>& body) {
  unsigned n = block_threads;
  fiber_body = &body;
  if (stacks.size() < n * stack_size) {
    // The stacks move: every fiber is made again.
    stacks.resize(n * stack_size);
    fibers.clear();
  }
  if (fibers.size() < n) fibers.resize(n);
  for (unsigned t = 0; t < n; ++t) fibers[t].done = false;
  exchange.assign(n, 0);
  warps.assign((n + 31) / 32, Group{});
  for (unsigned t = 0; t < n; ++t) warps[t / 32].live++;
  block_group = Group{n, 0, 0};
  if (!have_template) {
    getcontext(&fiber_template);
    have_template = true;
  }
  for (unsigned t = 0; t < n; ++t) {
    if (fibers[t].started) continue;
    fibers[t].ctx = fiber_template;
    fibers[t].ctx.uc_stack.ss_sp = stacks.data() + (size_t)t * stack_size;
    fibers[t].ctx.uc_stack.ss_size = stack_size;
    fibers[t].ctx.uc_link = nullptr;
    makecontext(&fibers[t].ctx, fiber_main, 0);
  }
  unsigned remaining = n;
  while (remaining > 0) {
    progress = false;
    for (unsigned t = 0; t < n; ++t) {
      if (fibers[t].done) continue;
      current = t;
      set_tid(t);
      resume(t);
      if (fibers[t].done) --remaining;
    }
    if (!progress && remaining > 0) {
      // Threads stuck mid-body are abandoned: their fibers are made again.
      for (unsigned t = 0; t < n; ++t)
        if (!fibers[t].done) fibers[t].started = false;
      return false;
    }
  }
  return true;
}

template <class T>
T shfl_down(T v, int offset) {
  if (!fiber_mode) throw unsupported();
  static_assert(sizeof(T) <= 8, "shuffle of a wide type");
  unsigned t = current;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  exchange[t] = bits;
  Group& w = warps[t / 32];
  barrier(w);
  unsigned lane = t % 32, src = lane + (unsigned)offset < 32 ? t + offset : t;
  if (src >= block_threads || fibers[src].done) src = t;
  T r;
  std::memcpy(&r, &exchange[src], sizeof(T));
  barrier(w);  // every lane has read before the slots are reused
  return r;
}

// Runs `body` once for every thread of the grid. Returns 0, 1 when the
// kernel used a built-in the emulator cannot run (or deadlocked), 2 when
// interrupted.
inline int launch(const unsigned* grid, const unsigned* block, bool fibers_needed, const std::function<void()>& body) {
  grid_dim = {grid[0], grid[1], grid[2]};
  block_dim = {block[0], block[1], block[2]};
  block_threads = block[0] * block[1] * block[2];
  fiber_mode = fibers_needed;
  try {
    for (unsigned bz = 0; bz < grid[2]; ++bz)
      for (unsigned by = 0; by < grid[1]; ++by)
        for (unsigned bx = 0; bx < grid[0]; ++bx) {
          if (cancelled()) return 2;
          block_idx = {bx, by, bz};
          if (fibers_needed) {
            if (!run_block_fibers(body)) return 1;
            continue;
          }
          for (unsigned tz = 0; tz < block[2]; ++tz)
            for (unsigned ty = 0; ty < block[1]; ++ty)
              for (unsigned tx = 0; tx < block[0]; ++tx) {
                thread_idx = {tx, ty, tz};
                body();
              }
        }
  } catch (const unsupported&) {
    return 1;
  }
  return 0;
}
}  // namespace ls_emu

extern "C" void ls_emu_set_cancel(const void* flag) {
  ls_emu::cancel_flag = static_cast<const volatile unsigned char*>(flag);
}
#define LS_CONTINUE(err) (*(err) == 0 && !::ls_emu::cancelled())

#define threadIdx (::ls_emu::thread_idx)
#define blockIdx (::ls_emu::block_idx)
#define blockDim (::ls_emu::block_dim)
#define gridDim (::ls_emu::grid_dim)

inline void __syncthreads() {
  if (!ls_emu::fiber_mode) throw ls_emu::unsupported();
  ls_emu::barrier(ls_emu::block_group);
}
template <class T>
inline T __shfl_down_sync(unsigned /*mask*/, T v, int offset) {
  return ls_emu::shfl_down(v, offset);
}

// Atomics: the walk is sequential, so a plain read-modify-write is atomic.
inline double atomicAdd(double* p, double v) {
  double old = *p;
  *p = old + v;
  return old;
}
inline float atomicAdd(float* p, float v) {
  float old = *p;
  *p = old + v;
  return old;
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  unsigned long long old = *p;
  *p = old + v;
  return old;
}
inline int atomicAdd(int* p, int v) {
  int old = *p;
  *p = (int)((unsigned)old + (unsigned)v);
  return old;
}
inline unsigned long long atomicOr(unsigned long long* p, unsigned long long v) {
  unsigned long long old = *p;
  *p = old | v;
  return old;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  unsigned long long old = *p;
  if (v > old) *p = v;
  return old;
}
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long cmp, unsigned long long v) {
  unsigned long long old = *p;
  if (old == cmp) *p = v;
  return old;
}
// Blocks and threads run one at a time: every write is seen at once.
inline void __threadfence() {}
inline double __longlong_as_double(long long v) {
  double d;
  std::memcpy(&d, &v, sizeof d);
  return d;
}
inline long long __double_as_longlong(double d) {
  long long v;
  std::memcpy(&v, &d, sizeof v);
  return v;
}
