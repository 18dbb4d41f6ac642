// Thread pool and run-time entry points for generated CPU code.
#include "cpu_runtime.hpp"

#include <algorithm>
#include <cerrno>
#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "loopscope/analysis/exactness.hpp"
#include "loopscope/analysis/mapping.hpp"
#include "loopscope/host_cpus.hpp"
#include "loopscope/jit/cpu.hpp"

namespace loopscope::jit {

namespace {
std::atomic<bool> g_cancel{false};
std::atomic<PollCallback> g_poll_cb{nullptr};
std::atomic<int> g_threads{0};
std::atomic<bool> g_reverse_chunks{false};  // testing: see set_cpu_reverse_chunks
std::atomic<bool> g_numpy_warnings{true};
thread_local bool t_owner = false;
thread_local int t_index = 0;  // the pool's index of this thread (0: the caller)

// A fixed set of worker threads; the calling thread works too.
//
// Chunks are owned, then stolen: thread t (the caller is 0, workers 1..T-1)
// first takes the chunks of its own contiguous share [t*n/T, (t+1)*n/T), then
// helps with the others' remaining chunks. A loop inside a sequential one (a
// time step) thus gives each thread the same rows at every step, and their
// data stays in that core's cache; triangular loops still balance. Which
// thread runs a chunk never changes a result: reductions are combined per
// chunk, in chunk order.
//
// Starting and finishing a parallel loop is the cost that matters for loops
// inside a sequential loop (a time step, the k of LU): a wake-up through a
// condition variable takes tens of microseconds on a virtual machine. So both
// sides first spin on atomics for up to 2 ms (a new generation for the workers,
// the workers still inside the loop for the caller) and only then block.
//
// The caller never waits for a worker that has not started: a worker asleep
// when a loop begins can take milliseconds to wake (0.3 to 10 ms measured on
// this project's virtual machine after a pause of a tenth of a second), and
// the caller, which steals every chunk nobody took, has long finished the
// loop alone by then. When the caller's own work() returns every
// chunk is taken; it closes the loop (open_ = 0) and waits only for the
// workers inside it, which are running chunks they took. A worker enters a
// loop by counting itself in inside_ and then checking that the loop it woke
// for is still open; the caller closes and then reads inside_. Both sides use
// sequentially consistent operations, so either the worker sees the loop
// closed (and leaves without touching it) or the caller sees the worker
// inside (and waits for it): job_ and the shares are never read by a worker
// after the caller returned.
class ThreadPool {
 public:
  explicit ThreadPool(int workers) : shares_(static_cast<size_t>(workers) + 1) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { worker(i + 1); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int workers() const { return static_cast<int>(threads_.size()); }

  // Runs f(c) for c in [0, n) on all threads; returns when all are done.
  void run(int64_t n, const std::function<void(int64_t)>& f) {
    std::unique_lock<std::mutex> lk(run_m_);  // one parallel loop at a time
    {
      std::lock_guard<std::mutex> g(m_);
      job_ = &f;
      const int T = static_cast<int>(shares_.size());
      for (int t = 0; t < T; ++t) {
        shares_[t].next.store(n * t / T, std::memory_order_relaxed);
        shares_[t].end = n * (t + 1) / T;
      }
      const uint64_t gen = generation_.load() + 1;
      open_.store(gen, std::memory_order_seq_cst);
      // Published last, with release: a worker that sees the new generation
      // sees the job and the shares.
      generation_.store(gen, std::memory_order_release);
    }
    cv_.notify_all();
    work(0, f);
    open_.store(0, std::memory_order_seq_cst);  // every chunk is taken: no worker enters now
    spin_until([&] { return inside_.load(std::memory_order_seq_cst) == 0; });
    if (inside_.load(std::memory_order_seq_cst) != 0) {
      std::unique_lock<std::mutex> g(m_);
      while (inside_.load(std::memory_order_acquire) != 0) {
        done_cv_.wait_for(g, std::chrono::milliseconds(20));
        if (inside_.load(std::memory_order_acquire) != 0 && t_owner) {
          g.unlock();
          rt::run_poll_callback();
          g.lock();
        }
      }
    }
    job_ = nullptr;
    last_end_ns_.store(now_ns(), std::memory_order_relaxed);
  }

  // Whether the workers are still spinning after the last loop (they block
  // kSpinTime after it): the next loop then starts without waking them.
  bool workers_spinning() const {
    const int64_t end = last_end_ns_.load(std::memory_order_relaxed);
    return end > 0 && now_ns() - end < std::chrono::duration_cast<std::chrono::nanoseconds>(kSpinTime).count();
  }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // How long a thread spins before it blocks: about as long as OpenMP
  // runtimes do by default, so that a parallel loop called again soon (the
  // next time step, the next call from a Python loop) finds the workers awake.
  static constexpr auto kSpinTime = std::chrono::milliseconds(2);

  // Spins until done() or kSpinTime has passed; returns done().
  template <class Done>
  static bool spin_until(const Done& done) {
    auto until = std::chrono::steady_clock::now() + kSpinTime;
    for (;;) {
      for (int k = 0; k < 64; ++k) {
        if (done()) return true;
        pause();
      }
      if (std::chrono::steady_clock::now() > until) return done();
    }
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  // Own share first, then the others' in turn.
  void work(int self, const std::function<void(int64_t)>& f) {
    const int T = static_cast<int>(shares_.size());
    for (int k = 0; k < T; ++k) {
      Share& s = shares_[(self + k) % T];
      int64_t c;
      while ((c = s.next.fetch_add(1, std::memory_order_relaxed)) < s.end) f(c);
    }
  }

  void worker(int self) {
    t_index = self;
    uint64_t seen = 0;
    for (;;) {
      spin_until(
          [&] { return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_acquire) != seen; });
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      inside_.fetch_add(1, std::memory_order_seq_cst);
      if (open_.load(std::memory_order_seq_cst) == seen) work(self, *job_);  // else: finished without us
      {
        std::lock_guard<std::mutex> lk(m_);  // the caller waits on done_cv_ with m_ held
        inside_.fetch_sub(1, std::memory_order_release);
      }
      done_cv_.notify_all();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* job_ = nullptr;
  struct alignas(64) Share {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  std::vector<Share> shares_;      // one per thread; written before a generation is published
  std::atomic<int> inside_{0};     // workers inside a loop (running chunks they took, or leaving)
  std::atomic<uint64_t> open_{0};  // the generation workers may still enter (0: none)
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> last_end_ns_{0};  // when the last loop returned (steady clock)
};

std::mutex g_pool_m;
std::unique_ptr<ThreadPool> g_pool;

ThreadPool& pool(int threads) {
  std::lock_guard<std::mutex> lk(g_pool_m);
  if (!g_pool || g_pool->workers() != threads - 1) {
    g_pool.reset();
    g_pool = std::make_unique<ThreadPool>(threads - 1);
  }
  return *g_pool;
}
}  // namespace

void request_cancel(bool on) { g_cancel.store(on, std::memory_order_relaxed); }
bool cancel_requested() { return g_cancel.load(std::memory_order_relaxed); }
std::atomic<bool>* cancel_flag() { return &g_cancel; }
void set_poll_callback(PollCallback cb) { g_poll_cb.store(cb); }

int cpu_thread_count() {
  int n = g_threads.load();
  if (n > 0) return n;
  static const int usable = usable_cpus().cpus;  // read once: files under /proc and /sys
  return usable;
}
void set_cpu_thread_count(int n) { g_threads.store(n < 0 ? 0 : n); }
bool cpu_workers_awake() {
  std::lock_guard<std::mutex> lk(g_pool_m);
  return g_pool && g_pool->workers_spinning();
}
void set_cpu_reverse_chunks(bool on) { g_reverse_chunks.store(on); }
bool cpu_reverse_chunks() { return g_reverse_chunks.load(); }
void set_numpy_warnings(bool on) { g_numpy_warnings.store(on); }
bool numpy_warnings() { return g_numpy_warnings.load(); }

namespace rt {

void set_owner_thread(bool on) { t_owner = on; }

bool run_poll_callback() {
  PollCallback cb = g_poll_cb.load();
  if (cb && cb()) {
    g_cancel.store(true);
    return true;
  }
  return g_cancel.load(std::memory_order_relaxed);
}

extern "C" int32_t ls_rt_numpy_warns(void* p) { return static_cast<RunState*>(p)->numpy_warns ? 1 : 0; }

namespace {
// NumPy's PyUFuncGenericFunction (npy_intp is intptr_t).
using UfuncInnerLoop = void (*)(char** args, const intptr_t* dimensions, const intptr_t* steps, void* data);

// The operands live 128 bytes apart, as NumPy's separately allocated 0-d
// arrays do: NumPy's SIMD loops take their vector path only when the output
// is at least a vector (64 bytes) away from the inputs, and fall back to the
// C library otherwise (np.exp(-1.0) differs in the last bit between them).
template <typename T, int N>
T ufunc_one(void* loop, void* data, const T (&in)[N]) {
  constexpr int kApart = 128 / sizeof(T);
  alignas(64) T buffer[(N + 1) * kApart] = {};
  char* args[N + 1];
  intptr_t steps[N + 1];
  for (int k = 0; k <= N; ++k) {
    if (k < N) buffer[k * kApart] = in[k];
    args[k] = reinterpret_cast<char*>(&buffer[k * kApart]);
    steps[k] = sizeof(T);
  }
  const intptr_t n = 1;
  reinterpret_cast<UfuncInnerLoop>(loop)(args, &n, steps, data);
  return buffer[N * kApart];
}
}  // namespace

extern "C" double ls_rt_ufunc_d1(void* loop, void* data, double x) { return ufunc_one<double, 1>(loop, data, {x}); }
extern "C" double ls_rt_ufunc_d2(void* loop, void* data, double x, double y) {
  return ufunc_one<double, 2>(loop, data, {x, y});
}
extern "C" float ls_rt_ufunc_f1(void* loop, void* data, float x) { return ufunc_one<float, 1>(loop, data, {x}); }
extern "C" float ls_rt_ufunc_f2(void* loop, void* data, float x, float y) {
  return ufunc_one<float, 2>(loop, data, {x, y});
}

extern "C" int32_t ls_rt_poll(void* p) {
  auto* st = static_cast<RunState*>(p);
  if (g_cancel.load(std::memory_order_relaxed)) {
    st->abort.store(kCancel);
    return kCancel;
  }
  int32_t a = st->abort.load(std::memory_order_relaxed);
  if (a) return a;
  if (t_owner) {
    auto now = std::chrono::steady_clock::now();
    if (now - st->last_poll > std::chrono::milliseconds(20)) {
      st->last_poll = now;
      if (run_poll_callback()) {
        st->abort.store(kCancel);
        return kCancel;
      }
    }
  }
  return kOk;
}

RunState::~RunState() {
  for (auto& copies : privates)
    for (void* m : copies) std::free(m);
}

namespace {
int64_t element_count(const int64_t* desc, int64_t ndim) {
  int64_t n = 1;
  for (int64_t d = 0; d < ndim; ++d) n *= desc[1 + d];
  return n;
}
}  // namespace

extern "C" int32_t ls_rt_private_begin(void* p, int64_t k, const int64_t* desc, int64_t ndim, int64_t elem) {
  auto* st = static_cast<RunState*>(p);
  if (st->privates.size() <= static_cast<size_t>(k)) st->privates.resize(static_cast<size_t>(k) + 1);
  auto& copies = st->privates[static_cast<size_t>(k)];
  for (void*& m : copies) std::free(std::exchange(m, nullptr));
  copies.assign(static_cast<size_t>(std::max(1, st->threads)), nullptr);
  const size_t n = static_cast<size_t>(std::max<int64_t>(1, element_count(desc, ndim)));
  for (void*& m : copies) {
    m = std::calloc(n, static_cast<size_t>(elem));
    if (!m) {  // out of memory: the loop runs as Python
      ls_rt_trap(p, static_cast<int32_t>(analysis::Trap::Count));
      return kTrap;
    }
  }
  return kOk;
}

extern "C" void* ls_rt_private(void* p, int64_t k) {
  auto& copies = static_cast<RunState*>(p)->privates[static_cast<size_t>(k)];
  // The pool's thread t runs chunks with t_index == t < threads; the caller is 0.
  return copies[static_cast<size_t>(t_index) < copies.size() ? static_cast<size_t>(t_index) : 0];
}

namespace {
template <typename T>
bool add_copy(char* data, const int64_t* shape, const int64_t* strides, int64_t ndim, const T* src) {
  // Walks the array in C order (the copy's order), whatever its strides.
  bool overflow = false;
  std::vector<int64_t> at(static_cast<size_t>(ndim), 0);
  int64_t n = 1;
  for (int64_t d = 0; d < ndim; ++d) n *= shape[d];
  for (int64_t e = 0; e < n; ++e) {
    int64_t off = 0;
    for (int64_t d = 0; d < ndim; ++d) off += at[d] * strides[d];
    T x;
    std::memcpy(&x, data + off, sizeof x);
    T sum;
    overflow |= __builtin_add_overflow(x, src[e], &sum);
    std::memcpy(data + off, &sum, sizeof sum);
    for (int64_t d = ndim - 1; d >= 0; --d) {
      if (++at[d] < shape[d]) break;
      at[d] = 0;
    }
  }
  return overflow;
}
}  // namespace

extern "C" int32_t ls_rt_private_combine(void* p, int64_t k, const int64_t* desc, int64_t ndim, int64_t elem) {
  auto* st = static_cast<RunState*>(p);
  auto& copies = st->privates.at(static_cast<size_t>(k));
  char* data = reinterpret_cast<char*>(desc[0]);
  bool overflow = false;
  for (void*& m : copies) {
    if (!m) continue;
    overflow |= elem == 8 ? add_copy(data, desc + 1, desc + 1 + ndim, ndim, static_cast<const int64_t*>(m))
                          : add_copy(data, desc + 1, desc + 1 + ndim, ndim, static_cast<const int32_t*>(m));
    std::free(std::exchange(m, nullptr));
  }
  if (overflow && st->numpy_warns) {
    ls_rt_trap(p, static_cast<int32_t>(analysis::Trap::NumpyWarning));
    return kTrap;
  }
  return kOk;
}

extern "C" void ls_rt_trap(void* p, int32_t reason) {
  auto* st = static_cast<RunState*>(p);
  int32_t expected = -1;
  st->trap_reason.compare_exchange_strong(expected, reason);
  st->abort.store(kTrap);
}

extern "C" int32_t ls_rt_parallel(void* p, ChunkFn fn, int64_t* frame, int64_t n, int64_t nout, int64_t** out,
                                  int64_t* nchunks, int64_t per_thread, double work, int32_t same_chunks) {
  auto* st = static_cast<RunState*>(p);
  int threads = std::max(1, st->threads);
  int64_t chunks = threads <= 1 ? 1 : std::min<int64_t>(n, int64_t(threads) * std::max<int64_t>(1, per_thread));
  const bool reverse = g_reverse_chunks.load(std::memory_order_relaxed);
  if (reverse) chunks = std::min<int64_t>(n, int64_t(1) << 16);  // one iteration each (up to 65536)
  if (chunks < 1) chunks = 1;
  // A region too short to pay for the fork/join runs on this thread: in one
  // chunk, or in the same chunks in order where their combination order
  // matters (reassociated float reductions).
  const bool inline_region = threads > 1 && !reverse && !analysis::parallel_region_pays(work);
  if (threads > 1 && !reverse) ++(inline_region ? st->regions_inline : st->regions_parallel);
  if (inline_region && !same_chunks) chunks = 1;
  st->outbuf.assign(static_cast<size_t>(chunks * nout), 0);
  int64_t* base = st->outbuf.data();
  *out = base;
  *nchunks = chunks;
  auto body = [&](int64_t c) {
    if (st->abort.load(std::memory_order_relaxed)) return;
    int64_t lo = n / chunks * c + std::min(c, n % chunks);
    int64_t hi = lo + n / chunks + (c < n % chunks ? 1 : 0);
    if (inline_region && t_owner) {
      // The run's own thread: the IEEE flags the chunk raises stay in its
      // flags, which the run reads at the end (FpFlagsScope::raised).
      if (int32_t s = fn(frame, p, lo, hi, base + c * nout)) {
        int32_t expected = 0;
        st->abort.compare_exchange_strong(expected, s);
      }
      return;
    }
    // The calling thread's flags so far belong to the run (code before this
    // loop); a worker's are left over from other work.
    int before = std::fetestexcept(kNumpyFpFlags);
    if (t_owner && before) st->fp_flags.fetch_or(before, std::memory_order_relaxed);
    std::feclearexcept(kNumpyFpFlags);
    int32_t s = fn(frame, p, lo, hi, base + c * nout);
    if (int raised = std::fetestexcept(kNumpyFpFlags)) st->fp_flags.fetch_or(raised, std::memory_order_relaxed);
    if (s) {
      int32_t expected = 0;
      st->abort.compare_exchange_strong(expected, s);
    }
  };
  if (reverse) {
    for (int64_t c = chunks - 1; c >= 0; --c) body(c);
  } else if (chunks == 1) {
    body(0);
  } else if (inline_region) {
    for (int64_t c = 0; c < chunks; ++c) body(c);
  } else {
    std::function<void(int64_t)> f = body;
    pool(threads).run(chunks, f);
  }
  if (g_cancel.load() && !st->abort.load()) st->abort.store(kCancel);
  return st->abort.load();
}

FpFlagsScope::FpFlagsScope(RunState* st) : st_(st) {
  std::fegetexceptflag(&saved_, kNumpyFpFlags);
  std::feclearexcept(kNumpyFpFlags);
}
FpFlagsScope::~FpFlagsScope() { std::fesetexceptflag(&saved_, kNumpyFpFlags); }
bool FpFlagsScope::raised() const {
  return ((st_->fp_flags.load() | std::fetestexcept(kNumpyFpFlags)) & kNumpyFpFlags) != 0;
}

void parallel_copy(const std::vector<CopyJob>& jobs, int threads) {
  constexpr size_t kPiece = size_t(1) << 20;  // 1 MiB pieces
  size_t total = 0;
  for (auto& j : jobs) total += j.n;
  if (threads <= 1 || total < 4 * kPiece) {
    for (auto& j : jobs) std::memcpy(j.dst, j.src, j.n);
    return;
  }
  std::vector<CopyJob> pieces;
  for (auto& j : jobs)
    for (size_t off = 0; off < j.n; off += kPiece)
      pieces.push_back(
          {static_cast<char*>(j.dst) + off, static_cast<const char*>(j.src) + off, std::min(kPiece, j.n - off)});
  std::function<void(int64_t)> f = [&](int64_t c) {
    const CopyJob& p = pieces[static_cast<size_t>(c)];
    std::memcpy(p.dst, p.src, p.n);
  };
  pool(threads).run(static_cast<int64_t>(pieces.size()), f);
}

// math.hypot and the round(x, ndigits) helpers of NumPy's scalars and of
// Python's ints: share/cuda/loopscope_math_shared.h, the code the generated
// CUDA runs too (one copy, the same bits on every device).
namespace shared {
using ::rintf;
using std::fabs;
using std::frexp;
using std::ldexp;
using std::rint;
using std::sqrt;
#define LS_DEV static inline
#include "loopscope_math_shared.h"
#undef LS_DEV
}  // namespace shared
static_assert(kRoundNumpyWarns == LS_ROUND_NPWARN && kRoundBig == LS_ROUND_BIG, "cpu_runtime.hpp's codes");

extern "C" double ls_rt_hypot(double x, double y) { return shared::ls_math_hypot(x, y); }

extern "C" double ls_rt_round_np_f64(double x, int64_t n, int32_t* code) { return shared::ls_np_round_f64(x, n, code); }
extern "C" float ls_rt_round_np_f32(float x, int64_t n, int32_t* code) { return shared::ls_np_round_f32(x, n, code); }
extern "C" int64_t ls_rt_round_np_int(int64_t x, int64_t n, int32_t bits, int32_t* code) {
  return shared::ls_np_round_int(x, n, bits, code);
}
extern "C" int64_t ls_rt_round_py_int(int64_t x, int64_t n, int32_t* code) {
  return shared::ls_py_round_int(x, n, code);
}

// round(x, n) of a Python float: CPython 3.11's float.__round__. dtoa in
// mode 3 (the decimal string correctly rounded at 10**-n, ties to even on
// the exact binary value) read back with strtod. glibc's printf is exact and
// rounds half to even in the default rounding mode, and its strtod is
// correctly rounded: "%.*f" does n >= 0; n < 0 rounds the exact digits of
// the integer part by hand (the fraction only breaks ties). The IEEE flags
// the C library raises are put back (they are NumPy's warnings here).
namespace {
// round(x, n) of a finite float for 0 <= n <= 22 in exact integer arithmetic
// when the rounded value scaled by 10**n is below 2**53 (false otherwise):
// |x| = m / 2**s, q = m * 10**n / 2**s rounded half to even (the product
// is below 2**127), and q / 10**n is one correctly rounded division of two
// exact doubles: what strtod makes of the digits of q.
bool round_float_exact(double x, int64_t n, double* out) {
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (n < 0 || n > 22) return false;
  if (x == 0.0) {
    *out = x;
    return true;
  }
  int e = 0;
  const double fr = std::frexp(std::fabs(x), &e);
  const auto m = static_cast<uint64_t>(std::ldexp(fr, 53));
  const int s = 53 - e;
  if (s <= 0) {  // an integer: unchanged
    *out = x;
    return true;
  }
  unsigned __int128 p10n = 1;
  for (int64_t k = 0; k < n; ++k) p10n *= 10;
  const unsigned __int128 prod = static_cast<unsigned __int128>(m) * p10n;
  unsigned __int128 q = 0;
  if (s < 128) {
    q = prod >> s;
    const unsigned __int128 rem = prod - (q << s), half = static_cast<unsigned __int128>(1) << (s - 1);
    if (rem > half || (rem == half && (q & 1) != 0)) ++q;
  }
  if (q >= (static_cast<unsigned __int128>(1) << 53)) return false;
  const double r = static_cast<double>(static_cast<uint64_t>(q)) / p10[n];
  *out = std::signbit(x) ? -r : r;
  return true;
}
}  // namespace

extern "C" double ls_rt_round_float(double x, int64_t n, int32_t* code) {
  if (!std::isfinite(x) || n > 323) return x;  // NDIGITS_MAX
  if (n < -308) return 0.0 * x;                // NDIGITS_MIN
  double fast = 0.0;
  if (round_float_exact(x, n, &fast)) return fast;
  std::fexcept_t flags;
  std::fegetexceptflag(&flags, FE_ALL_EXCEPT);
  char buf[720];
  if (n >= 0) {
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(n), x);
  } else {
    const double t = std::trunc(x);
    const bool sticky = t != x;  // a fraction below the integer digits
    char d[330];
    int len = std::snprintf(d, sizeof d, "%.0f", std::fabs(t));
    if (len == 1 && d[0] == '0') len = 0;
    const int k = static_cast<int>(-n);
    const int keep = len - k;  // digits above 10**k
    if (keep < 0) {            // |x| < 10**(k-1): below half of 10**k
      std::fesetexceptflag(&flags, FE_ALL_EXCEPT);
      return std::copysign(0.0, x);
    }
    bool up = false;
    if (d[keep] > '5') {
      up = true;
    } else if (d[keep] == '5') {
      bool rest = sticky;
      for (int i = keep + 1; i < len; ++i) rest = rest || d[i] != '0';
      up = rest || (keep > 0 && ((d[keep - 1] - '0') & 1) != 0);
    }
    std::string digits(d, static_cast<size_t>(keep));
    if (up) {
      int i = keep - 1;
      for (; i >= 0 && digits[static_cast<size_t>(i)] == '9'; --i) digits[static_cast<size_t>(i)] = '0';
      if (i >= 0)
        ++digits[static_cast<size_t>(i)];
      else
        digits.insert(digits.begin(), '1');
    }
    if (digits.empty()) digits = "0";
    std::snprintf(buf, sizeof buf, "%s%se%d", std::signbit(x) ? "-" : "", digits.c_str(), k);
  }
  errno = 0;
  const double r = std::strtod(buf, nullptr);
  const bool overflow = errno == ERANGE && std::fabs(r) >= 1.0;
  std::fesetexceptflag(&flags, FE_ALL_EXCEPT);
  if (overflow) {  // OverflowError: rounded value too large to represent
    *code = 1;
    return x;
  }
  return r;
}

}  // namespace rt
}  // namespace loopscope::jit
