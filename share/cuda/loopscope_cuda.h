// Loopscope helpers for generated CUDA kernels: Python's semantics for
// indexing, floor division, modulo, powers and math functions.
//
// Compiled by NVRTC for the GPU and, through loopscope_emu.h, by the system
// C++ compiler for the CPU emulator. No standard headers: NVRTC has none.
//
// A helper that meets a case where Python would raise (an index out of
// range, a division by zero on Python numbers, a math domain error) records
// an error code in the kernel's error word and returns a harmless value.
// The host then discards the run and lets Python execute the loop, so the
// exception appears exactly where Python raises it.
#pragma once

#ifndef LS_DEV
#define LS_DEV __device__ __forceinline__
#endif

typedef long long ls_i64;
typedef unsigned long long ls_u64;

#define LS_ERR_INDEX 1     // IndexError
#define LS_ERR_ZERODIV 2   // ZeroDivisionError
#define LS_ERR_MATH 3      // ValueError / OverflowError from a math function
#define LS_ERR_VALUE 4     // other ValueError (e.g. int(nan))

LS_DEV void ls_fail(ls_i64* err, ls_i64 code) { *(volatile ls_i64*)err = code; }

// Loops inside a kernel stop early once an error is recorded (the run is
// discarded anyway); the emulator also stops them on an interrupt.
#ifndef LS_CONTINUE
#define LS_CONTINUE(err) (*(volatile ls_i64*)(err) == 0)
#endif

// A[i] along an axis of extent n: negative indices count from the end, as in
// Python; anything else out of range is an IndexError.
LS_DEV ls_i64 ls_ix(ls_i64 i, ls_i64 n, ls_i64* err) {
  if (i < 0) i += n;
  if (i < 0 || i >= n) { ls_fail(err, LS_ERR_INDEX); return 0; }
  return i;
}

// ---- integer // and % --------------------------------------------------
// Python ints: the quotient rounds toward minus infinity, the remainder has
// the divisor's sign, and a zero divisor raises ZeroDivisionError.
LS_DEV ls_i64 ls_floordiv_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) { ls_fail(err, LS_ERR_ZERODIV); return 0; }
  if (b == -1) return (ls_i64)(0ull - (ls_u64)a);
  ls_i64 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  return q;
}
LS_DEV ls_i64 ls_mod_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) { ls_fail(err, LS_ERR_ZERODIV); return 0; }
  if (b == -1) return 0;
  ls_i64 r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
// NumPy integers: the same rounding, but a zero divisor gives 0 (NumPy warns).
LS_DEV ls_i64 ls_floordiv_np(ls_i64 a, ls_i64 b) {
  if (b == 0) return 0;
  ls_i64* none = 0;
  return ls_floordiv_py(a, b, none);
}
LS_DEV ls_i64 ls_mod_np(ls_i64 a, ls_i64 b) {
  if (b == 0) return 0;
  ls_i64* none = 0;
  return ls_mod_py(a, b, none);
}

// ---- float // and % ------------------------------------------------------
// CPython's float_divmod (NumPy's npy_divmod follows the same steps).
LS_DEV double ls_fmod_py(double a, double b) {
  double mod = fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return mod;
}
LS_DEV double ls_ffloordiv_py(double a, double b) {
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) div -= 1.0;
  }
  double fd;
  if (div != 0.0) {
    fd = floor(div);
    if (div - fd > 0.5) fd += 1.0;
  } else {
    fd = copysign(0.0, a / b);
  }
  return fd;
}
LS_DEV float ls_fmodf_py(float a, float b) {
  float mod = fmodf(a, b);
  if (mod != 0.0f) {
    if ((b < 0) != (mod < 0)) mod += b;
  } else {
    mod = copysignf(0.0f, b);
  }
  return mod;
}
LS_DEV float ls_ffloordivf_py(float a, float b) {
  float mod = fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f) {
    if ((b < 0) != (mod < 0)) div -= 1.0f;
  }
  float fd;
  if (div != 0.0f) {
    fd = floorf(div);
    if (div - fd > 0.5f) fd += 1.0f;
  } else {
    fd = copysignf(0.0f, a / b);
  }
  return fd;
}
// Python floats raise on a zero divisor.
LS_DEV double ls_fdiv_py(double a, double b, ls_i64* err) {
  if (b == 0.0) { ls_fail(err, LS_ERR_ZERODIV); return 0.0; }
  return a / b;
}
LS_DEV double ls_ffloor_div_pyz(double a, double b, ls_i64* err) {
  if (b == 0.0) { ls_fail(err, LS_ERR_ZERODIV); return 0.0; }
  return ls_ffloordiv_py(a, b);
}
LS_DEV double ls_fmod_pyz(double a, double b, ls_i64* err) {
  if (b == 0.0) { ls_fail(err, LS_ERR_ZERODIV); return 0.0; }
  return ls_fmod_py(a, b);
}
// NumPy floats: a zero divisor gives inf or nan (NumPy warns).
LS_DEV double ls_ffloor_div_np(double a, double b) { return b == 0.0 ? a / b : ls_ffloordiv_py(a, b); }
LS_DEV double ls_fmod_np(double a, double b) { return b == 0.0 ? fmod(a, b) : ls_fmod_py(a, b); }
LS_DEV float ls_ffloor_divf_np(float a, float b) { return b == 0.0f ? a / b : ls_ffloordivf_py(a, b); }
LS_DEV float ls_fmodf_np(float a, float b) { return b == 0.0f ? fmodf(a, b) : ls_fmodf_py(a, b); }

// ---- powers ---------------------------------------------------------------
// int ** (non-negative int): exact, wrapping like NumPy's int64.
LS_DEV ls_i64 ls_ipow(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b < 0) { ls_fail(err, LS_ERR_VALUE); return 0; }
  ls_u64 r = 1, x = (ls_u64)a;
  while (b) {
    if (b & 1) r *= x;
    x *= x;
    b >>= 1;
  }
  return (ls_i64)r;
}
// float ** float with CPython's exceptions (0 ** negative, negative **
// fraction, overflow); NumPy's power is the plain C pow.
LS_DEV double ls_pow_py(double a, double b, ls_i64* err) {
  if (b == 0.0) return 1.0;
  if (a == 0.0 && b < 0.0) { ls_fail(err, LS_ERR_ZERODIV); return 0.0; }
  if (a < 0.0 && isfinite(a) && isfinite(b) && floor(b) != b) { ls_fail(err, LS_ERR_MATH); return 0.0; }
  double r = pow(a, b);
  if (isinf(r) && isfinite(a) && isfinite(b)) { ls_fail(err, LS_ERR_MATH); return 0.0; }
  return r;
}

// ---- math functions ----------------------------------------------------
// math.f(x) raises where the C function returns nan for a non-nan argument
// or an infinity for a finite one; such cases run in Python.
LS_DEV double ls_checked(double r, double x, ls_i64* err) {
  if ((isnan(r) && !isnan(x)) || (isinf(r) && isfinite(x))) { ls_fail(err, LS_ERR_MATH); return 0.0; }
  return r;
}
LS_DEV double ls_checked2(double r, double x, double y, ls_i64* err) {
  if ((isnan(r) && !isnan(x) && !isnan(y)) || (isinf(r) && isfinite(x) && isfinite(y))) {
    ls_fail(err, LS_ERR_MATH);
    return 0.0;
  }
  return r;
}
// int(x) for a float: truncation toward zero; nan and infinities raise.
LS_DEV ls_i64 ls_trunc_int(double x, ls_i64* err) {
  if (!(x > -9223372036854775808.0 && x < 9223372036854775808.0)) { ls_fail(err, LS_ERR_VALUE); return 0; }
  return (ls_i64)x;
}
// Python's min/max of two values: the first one wins ties.
#define LS_MIN2(a, b) ((b) < (a) ? (b) : (a))
#define LS_MAX2(a, b) ((b) > (a) ? (b) : (a))

// ---- reductions -------------------------------------------------------
// Each thread folds its iterations into a private partial value, then
// combines it into the result slot with one atomic operation. Floating-point
// sums therefore add in a different order from Python's loop: results can
// differ in the last bits.
LS_DEV void ls_atomic_add_f64(double* slot, double v) { atomicAdd(slot, v); }
LS_DEV void ls_atomic_add_i64(ls_i64* slot, ls_i64 v) { atomicAdd((ls_u64*)slot, (ls_u64)v); }
LS_DEV void ls_atomic_min_f64(double* slot, double v) {
  ls_u64* p = (ls_u64*)slot;
  ls_u64 old = *p, assumed;
  do {
    assumed = old;
    double cur = __longlong_as_double((long long)assumed);
    if (!(v < cur)) return;
    old = atomicCAS(p, assumed, (ls_u64)__double_as_longlong(v));
  } while (old != assumed);
}
LS_DEV void ls_atomic_max_f64(double* slot, double v) {
  ls_u64* p = (ls_u64*)slot;
  ls_u64 old = *p, assumed;
  do {
    assumed = old;
    double cur = __longlong_as_double((long long)assumed);
    if (!(v > cur)) return;
    old = atomicCAS(p, assumed, (ls_u64)__double_as_longlong(v));
  } while (old != assumed);
}
LS_DEV void ls_atomic_min_i64(ls_i64* slot, ls_i64 v) {
  ls_u64* p = (ls_u64*)slot;
  ls_u64 old = *p, assumed;
  do {
    assumed = old;
    if (!(v < (ls_i64)assumed)) return;
    old = atomicCAS(p, assumed, (ls_u64)v);
  } while (old != assumed);
}
LS_DEV void ls_atomic_max_i64(ls_i64* slot, ls_i64 v) {
  ls_u64* p = (ls_u64*)slot;
  ls_u64 old = *p, assumed;
  do {
    assumed = old;
    if (!(v > (ls_i64)assumed)) return;
    old = atomicCAS(p, assumed, (ls_u64)v);
  } while (old != assumed);
}

// Iterations of range(start, stop, step); 0 for a zero step (an error the
// kernel records separately).
LS_DEV ls_i64 ls_range_count(ls_i64 start, ls_i64 stop, ls_i64 step) {
  if (step == 0) return 0;
  if (step > 0) return start < stop ? (stop - start + step - 1) / step : 0;
  return start > stop ? (start - stop - step - 1) / (-step) : 0;
}

// Result slots are 8 bytes; a value that Python may or may not have assigned
// is followed by a slot recording whether some iteration assigned it.
#define LS_MARK_SET(p) (*(ls_i64*)((p) + 1) = 1)
#define LS_IS_SET(p) (*(ls_i64*)((p) + 1))

#define LS_ERR_LAST 5      // a scalar's final value comes from an iteration other than the last

// np.minimum / np.maximum: a NaN in either operand gives NaN.
LS_DEV double ls_np_fmin(double a, double b) { return (isnan(a) || isnan(b)) ? a + b : (a < b ? a : b); }
LS_DEV double ls_np_fmax(double a, double b) { return (isnan(a) || isnan(b)) ? a + b : (a > b ? a : b); }

// ---- warp-level combining -------------------------------------------------
// Blocks are multiples of 32 threads and every thread of a block reaches the
// combining code (no early exits), so full-mask shuffles are safe. After a
// ls_warp_* call, lane 0 of each warp holds the result for its 32 threads.
#define LS_FULL_MASK 0xffffffffu
LS_DEV unsigned ls_lane() {
  return ((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x) & 31u;
}
LS_DEV double ls_warp_sum_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(LS_FULL_MASK, v, o);
  return v;
}
LS_DEV ls_i64 ls_warp_sum_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) v = (ls_i64)((ls_u64)v + (ls_u64)__shfl_down_sync(LS_FULL_MASK, (long long)v, o));
  return v;
}
LS_DEV double ls_warp_min_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) { double w = __shfl_down_sync(LS_FULL_MASK, v, o); v = LS_MIN2(v, w); }
  return v;
}
LS_DEV double ls_warp_max_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) { double w = __shfl_down_sync(LS_FULL_MASK, v, o); v = LS_MAX2(v, w); }
  return v;
}
LS_DEV ls_i64 ls_warp_min_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) { ls_i64 w = __shfl_down_sync(LS_FULL_MASK, (long long)v, o); v = LS_MIN2(v, w); }
  return v;
}
LS_DEV ls_i64 ls_warp_max_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) { ls_i64 w = __shfl_down_sync(LS_FULL_MASK, (long long)v, o); v = LS_MAX2(v, w); }
  return v;
}
LS_DEV ls_i64 ls_warp_any(ls_i64 flag) {
  for (int o = 16; o > 0; o >>= 1) flag |= __shfl_down_sync(LS_FULL_MASK, (long long)flag, o);
  return flag;
}
