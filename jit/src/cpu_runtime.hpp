// Run-time support for generated CPU code: the thread pool, the per-run state
// that generated functions receive as `rt`, interrupt polling and traps.
// Private to the jit module.
#pragma once

#include <atomic>
#include <cfenv>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace loopscope::jit::rt {

// Status codes returned by generated functions.
constexpr int32_t kOk = 0;
constexpr int32_t kTrap = 1;
constexpr int32_t kCancel = 2;

// A chunk of a parallel loop: iterations [klo, khi) of the loop's trip
// range; `out` receives the chunk's private results.
using ChunkFn = int32_t (*)(int64_t* frame, void* rt, int64_t klo, int64_t khi, int64_t* out);

struct RunState {
  std::atomic<int32_t> abort{0};  // kTrap or kCancel once any thread stops
  std::atomic<int32_t> trap_reason{-1};
  std::atomic<int> fp_flags{0};  // the IEEE flags NumPy reports, raised by the pool's chunks
  bool numpy_warns = true;       // NumPy prints its RuntimeWarnings (numpy_warnings())
  int threads = 1;
  std::vector<int64_t> outbuf;
  std::chrono::steady_clock::time_point last_poll;
  uint32_t poll_counter = 0;
  // The private copies of a parallel loop's integer array reductions:
  // privates[k][t] is thread t's copy of the loop's array k (ls_rt_private).
  std::vector<std::vector<void*>> privates;
  // Regions of parallel loops run on the pool, and those run on the calling
  // thread because they were too short to pay for it (ls_rt_parallel).
  int64_t regions_parallel = 0;
  int64_t regions_inline = 0;
  RunState() = default;
  RunState(const RunState&) = delete;
  RunState& operator=(const RunState&) = delete;
  ~RunState();
};

// The IEEE flags after which NumPy prints a RuntimeWarning (divide by zero,
// overflow, invalid value; it ignores underflow by default, and inexact).
// They are per thread: a run clears the calling thread's (restoring them
// afterwards), each parallel chunk clears its thread's and adds what it
// raised to RunState::fp_flags.
constexpr int kNumpyFpFlags = FE_DIVBYZERO | FE_OVERFLOW | FE_INVALID;
class FpFlagsScope {
 public:
  explicit FpFlagsScope(RunState* st);
  ~FpFlagsScope();
  bool raised() const;  // by the run, on any thread

 private:
  RunState* st_;
  std::fexcept_t saved_;
};

// Functions the generated code calls (their addresses are baked into the IR).
extern "C" int32_t ls_rt_poll(void* rt);
extern "C" void ls_rt_trap(void* rt, int32_t reason);
// RunState::numpy_warns, read once by each generated function.
extern "C" int32_t ls_rt_numpy_warns(void* rt);
// One element through a NumPy ufunc inner loop (CpuOptions::ufunc_loops):
// `loop(args, {1}, steps, data)`, as NumPy runs it for a scalar. The IEEE
// flags it raises are read like those of any NumPy float operation.
extern "C" double ls_rt_ufunc_d1(void* loop, void* data, double x);
extern "C" double ls_rt_ufunc_d2(void* loop, void* data, double x, double y);
extern "C" float ls_rt_ufunc_f1(void* loop, void* data, float x);
extern "C" float ls_rt_ufunc_f2(void* loop, void* data, float x, float y);
// Splits [0, n) into up to `per_thread` chunks per thread (each thread takes
// its own contiguous share first, then steals; interchanged nests ask for 1
// so that each chunk's contiguous inner range stays long). A region whose
// `work` (analysis::region_work at its entry) does not pay for the fork/join
// (analysis::parallel_region_pays) runs on the calling thread: in one chunk,
// or, when `same_chunks` (a reduction whose result depends on the chunks),
// in the chunks it would have had on the pool, in order.
extern "C" int32_t ls_rt_parallel(void* rt, ChunkFn fn, int64_t* frame, int64_t n, int64_t nout, int64_t** out,
                                  int64_t* nchunks, int64_t per_thread, double work, int32_t same_chunks);

// Integer array reductions of a parallel loop (Spec::private_arrays): before
// the loop, ls_rt_private_begin(rt, k, desc, ndim, elem) for each of the
// loop's arrays k = 0, 1, ... makes one zeroed, C-contiguous copy of it per
// thread (kTrap if memory runs out), `desc` being the array's frame slots
// (data, shape[ndim], strides[ndim] in bytes) and `elem` its element size
// (8: int64, 4: int32); in a chunk, ls_rt_private(rt, k) is the calling
// thread's copy; after the loop,
// ls_rt_private_combine adds every copy into the array in thread order
// (integers: the order does not change the sum, which wraps as NumPy's
// does) and frees them. It traps (NumpyWarning) when an element overflows
// and NumPy warns: the sum of all the terms then left the type's range, so
// Python's loop overflowed too.
extern "C" int32_t ls_rt_private_begin(void* rt, int64_t k, const int64_t* desc, int64_t ndim, int64_t elem);
extern "C" void* ls_rt_private(void* rt, int64_t k);
extern "C" int32_t ls_rt_private_combine(void* rt, int64_t k, const int64_t* desc, int64_t ndim, int64_t elem);

// math.hypot(x, y) as CPython 3.11 computes it (vector_norm in
// Modules/mathmodule.c), not the C library's hypot: the same bits.
extern "C" double ls_rt_hypot(double x, double y);
// round(x, n) (share/cuda/loopscope_math_shared.h): NumPy's algorithm for an
// np.float64, np.float32, np.int64 or np.int32 (`bits` 64 or 32), Python's
// exact one for an int; *code gets LS_ROUND_NPWARN (1, NumPy warns) or
// LS_ROUND_BIG (2, left to Python). A Python float (float.__round__, a
// correctly rounded decimal string): *code 1 on OverflowError.
constexpr int32_t kRoundNumpyWarns = 1, kRoundBig = 2;  // LS_ROUND_NPWARN, LS_ROUND_BIG
extern "C" double ls_rt_round_np_f64(double x, int64_t n, int32_t* code);
extern "C" float ls_rt_round_np_f32(float x, int64_t n, int32_t* code);
extern "C" int64_t ls_rt_round_np_int(int64_t x, int64_t n, int32_t bits, int32_t* code);
extern "C" int64_t ls_rt_round_py_int(int64_t x, int64_t n, int32_t* code);
extern "C" double ls_rt_round_float(double x, int64_t n, int32_t* code);

// Copies `n` bytes from each source to its destination, on the thread pool
// (`threads` threads) when there is enough to copy.
struct CopyJob {
  void* dst;
  const void* src;
  size_t n;
};
void parallel_copy(const std::vector<CopyJob>& jobs, int threads);

// Marks the calling thread as the one that started the run (it alone runs
// the Python signal callback).
void set_owner_thread(bool on);
bool run_poll_callback();

}  // namespace loopscope::jit::rt
