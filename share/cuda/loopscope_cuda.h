// Loopscope helpers for generated CUDA kernels: Python's semantics for
// indexing, integer overflow, floor division, modulo, powers and math
// functions, as the CPU variant keeps them (one exactness policy for every
// device).
//
// Compiled by NVRTC for the GPU and, through loopscope_emu.h, by the system
// C++ compiler for the CPU emulator. No standard headers: NVRTC has none.
//
// A helper that meets a case where Python would raise (an index out of
// range, an int beyond int64, a division by zero on Python numbers, a math
// domain error) records an error code in the kernel's error word and returns
// a harmless value. The host then discards the run and lets Python execute
// the loop, so the exception appears exactly where Python raises it.
#pragma once

#ifndef LS_DEV
#define LS_DEV __device__ __forceinline__
#endif

typedef long long ls_i64;
typedef unsigned long long ls_u64;

// Error codes: 1 + loopscope::analysis::Trap (analysis/exactness.hpp).
#define LS_ERR_OVERFLOW 1   // a Python int beyond int64
#define LS_ERR_ZERODIV 2    // ZeroDivisionError
#define LS_ERR_INDEX 3      // IndexError
#define LS_ERR_DOMAIN 4     // ValueError from a math function
#define LS_ERR_MATHOVF 5    // OverflowError from a math function or a float power
#define LS_ERR_UNBOUND 6    // a variable read before it has a value
#define LS_ERR_BIGINT 7     // an int beyond 2**53 meets a float
#define LS_ERR_INT32 8      // a Python int out of an int32 element's range
#define LS_ERR_FLOAT2INT 9  // int() of NaN, an infinity or a float beyond int64
#define LS_ERR_LAST 10      // (unused: ls_keep_last below gives every last value back)
#define LS_ERR_NPWARN 12    // NumPy would print a RuntimeWarning (overflow, division by zero, invalid value)

LS_DEV void ls_fail(ls_i64* err, ls_i64 code) { *(volatile ls_i64*)err = code; }
// `ok`, recording `code` when it does not hold; used as (ls_need(...), value).
LS_DEV bool ls_need(bool ok, ls_i64* err, ls_i64 code) {
  if (!ok) ls_fail(err, code);
  return ok;
}

// Loops inside a kernel stop early once an error is recorded (the run is
// discarded anyway); the emulator also stops them on an interrupt.
#ifndef LS_CONTINUE
#define LS_CONTINUE(err) (*(volatile ls_i64*)(err) == 0)
#endif

#define LS_I64_MIN (-9223372036854775807LL - 1)
#define LS_I64_MAX 9223372036854775807LL

LS_DEV double ls_f64_bits(ls_u64 b) {
  union {
    ls_u64 u;
    double d;
  } v;
  v.u = b;
  return v.d;
}
LS_DEV float ls_f32_bits(unsigned b) {
  union {
    unsigned u;
    float f;
  } v;
  v.u = b;
  return v.f;
}

// A[i] along an axis of extent n: negative indices count from the end, as in
// Python; anything else out of range is an IndexError.
LS_DEV ls_i64 ls_ix(ls_i64 i, ls_i64 n, ls_i64* err) {
  if (i < 0) i += n;
  if (i < 0 || i >= n) {
    ls_fail(err, LS_ERR_INDEX);
    return 0;
  }
  return i;
}

// ---- integer arithmetic ------------------------------------------------
// NumPy integers wrap (two's complement); signed overflow in C is undefined,
// so wrapping goes through unsigned arithmetic.
LS_DEV ls_i64 ls_wadd(ls_i64 a, ls_i64 b) { return (ls_i64)((ls_u64)a + (ls_u64)b); }
LS_DEV ls_i64 ls_wsub(ls_i64 a, ls_i64 b) { return (ls_i64)((ls_u64)a - (ls_u64)b); }
LS_DEV ls_i64 ls_wmul(ls_i64 a, ls_i64 b) { return (ls_i64)((ls_u64)a * (ls_u64)b); }
LS_DEV ls_i64 ls_wneg(ls_i64 a) { return (ls_i64)(0ull - (ls_u64)a); }
LS_DEV int ls_wadd32(int a, int b) { return (int)((unsigned)a + (unsigned)b); }
LS_DEV int ls_wsub32(int a, int b) { return (int)((unsigned)a - (unsigned)b); }
LS_DEV int ls_wmul32(int a, int b) { return (int)((unsigned)a * (unsigned)b); }
LS_DEV int ls_wneg32(int a) { return (int)(0u - (unsigned)a); }

// Python ints are unbounded: a result beyond int64 stops the run. (NumPy's
// int64 wraps with a warning: the same checks record LS_ERR_NPWARN, below.)
LS_DEV ls_i64 ls_cadd(ls_i64 a, ls_i64 b, ls_i64* err, ls_i64 code = LS_ERR_OVERFLOW) {
  ls_i64 r = ls_wadd(a, b);
  if (((a ^ r) & (b ^ r)) < 0) ls_fail(err, code);
  return r;
}
LS_DEV ls_i64 ls_csub(ls_i64 a, ls_i64 b, ls_i64* err, ls_i64 code = LS_ERR_OVERFLOW) {
  ls_i64 r = ls_wsub(a, b);
  if (((a ^ b) & (a ^ r)) < 0) ls_fail(err, code);
  return r;
}
LS_DEV ls_i64 ls_cmul(ls_i64 a, ls_i64 b, ls_i64* err, ls_i64 code = LS_ERR_OVERFLOW) {
  ls_i64 r = ls_wmul(a, b);
  if (a != 0 && ((a == -1 && b == LS_I64_MIN) || (b == -1 && a == LS_I64_MIN) || r / a != b)) ls_fail(err, code);
  return r;
}
LS_DEV ls_i64 ls_cneg(ls_i64 a, ls_i64* err, ls_i64 code = LS_ERR_OVERFLOW) {
  if (a == LS_I64_MIN) ls_fail(err, code);
  return ls_wneg(a);
}

// << and >>. Python ints: a negative count raises ValueError, a << beyond
// int64 makes a big int (both stop the run), >> is floor division by 2**b.
// NumPy (npy_lshift, npy_rshift): a count outside [0, width) gives 0, or -1
// for >> of a negative value.
LS_DEV ls_i64 ls_shl_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b < 0) {
    ls_fail(err, LS_ERR_DOMAIN);
    return 0;
  }
  if (a == 0) return 0;
  ls_i64 r = b < 64 ? (ls_i64)((ls_u64)a << b) : 0;
  if (b >= 64 || (r >> b) != a) ls_fail(err, LS_ERR_OVERFLOW);
  return r;
}
LS_DEV ls_i64 ls_shr_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b < 0) {
    ls_fail(err, LS_ERR_DOMAIN);
    return 0;
  }
  return a >> (b < 63 ? b : 63);
}
LS_DEV ls_i64 ls_shl_np(ls_i64 a, ls_i64 b) { return (ls_u64)b < 64 ? (ls_i64)((ls_u64)a << b) : 0; }
LS_DEV ls_i64 ls_shr_np(ls_i64 a, ls_i64 b) { return (ls_u64)b < 64 ? a >> b : (a < 0 ? -1 : 0); }
LS_DEV int ls_shl_np32(int a, int b) { return (unsigned)b < 32 ? (int)((unsigned)a << b) : 0; }
LS_DEV int ls_shr_np32(int a, int b) { return (unsigned)b < 32 ? a >> b : (a < 0 ? -1 : 0); }

// // and %: the quotient rounds toward minus infinity and the remainder has
// the divisor's sign. Python ints raise on a zero divisor (and MIN // -1 does
// not fit); NumPy gives 0 for both (with a warning) and MIN // -1 wraps.
LS_DEV ls_i64 ls_floordiv_raw(ls_i64 a, ls_i64 b) {
  if (b == 0) return 0;
  if (b == -1) return ls_wneg(a);
  ls_i64 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  return q;
}
LS_DEV ls_i64 ls_mod_raw(ls_i64 a, ls_i64 b) {
  if (b == 0 || b == -1) return 0;
  ls_i64 r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}
LS_DEV ls_i64 ls_floordiv_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0)
    ls_fail(err, LS_ERR_ZERODIV);
  else if (b == -1 && a == LS_I64_MIN)
    ls_fail(err, LS_ERR_OVERFLOW);
  return ls_floordiv_raw(a, b);
}
LS_DEV ls_i64 ls_mod_py(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) ls_fail(err, LS_ERR_ZERODIV);
  return ls_mod_raw(a, b);
}
LS_DEV ls_i64 ls_floordiv_np(ls_i64 a, ls_i64 b) { return ls_floordiv_raw(a, b); }
LS_DEV ls_i64 ls_mod_np(ls_i64 a, ls_i64 b) { return ls_mod_raw(a, b); }
LS_DEV int ls_floordiv_np32(int a, int b) {
  if (b == 0) return 0;
  if (b == -1) return ls_wneg32(a);
  int q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  return q;
}
LS_DEV int ls_mod_np32(int a, int b) {
  if (b == 0 || b == -1) return 0;
  int r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// ---- float division -----------------------------------------------------
// Python floats raise on a zero divisor (the run stops); NumPy gives inf/nan.
LS_DEV double ls_fdiv_py(double a, double b, ls_i64* err) {
  if (b == 0.0) ls_fail(err, LS_ERR_ZERODIV);
  return a / b;
}
// The divisor of /, // or % on values that may be Python floats (a NumPy
// result then goes through ls_npf_*).
LS_DEV double ls_fdiv_py_divisor(double b, ls_i64* err) {
  if (b == 0.0) ls_fail(err, LS_ERR_ZERODIV);
  return b;
}

// ---- float // and % ------------------------------------------------------
// CPython's float_floor_div / float_rem, which NumPy's npy_divmod follows;
// with a zero divisor NumPy gives a / b and fmod(a, b) (Python raises: the
// caller checks first).
LS_DEV double ls_ffloordiv(double a, double b) {
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && ((b < 0.0) != (mod < 0.0))) div -= 1.0;
  double fd;
  if (div != 0.0) {
    fd = floor(div);
    if (div - fd > 0.5) fd += 1.0;
  } else {
    fd = copysign(0.0, a / b);
  }
  return b == 0.0 ? a / b : fd;
}
LS_DEV double ls_fmod(double a, double b) {
  double mod = fmod(a, b);
  if (mod != 0.0) {
    if ((b < 0.0) != (mod < 0.0)) mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return b == 0.0 ? fmod(a, b) : mod;
}
LS_DEV float ls_ffloordivf(float a, float b) {
  float mod = fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && ((b < 0.0f) != (mod < 0.0f))) div -= 1.0f;
  float fd;
  if (div != 0.0f) {
    fd = floorf(div);
    if (div - fd > 0.5f) fd += 1.0f;
  } else {
    fd = copysignf(0.0f, a / b);
  }
  return b == 0.0f ? a / b : fd;
}
LS_DEV float ls_fmodf(float a, float b) {
  float mod = fmodf(a, b);
  if (mod != 0.0f) {
    if ((b < 0.0f) != (mod < 0.0f)) mod += b;
  } else {
    mod = copysignf(0.0f, b);
  }
  return b == 0.0f ? fmodf(a, b) : mod;
}

// ---- powers ---------------------------------------------------------------
// float ** float on Python floats: 0 ** negative raises ZeroDivisionError, a
// negative base with a fractional exponent ValueError, a finite overflow
// OverflowError. The power is always pow() (never x * x for x ** 2: the C
// library's pow, which CPython calls, is not correctly rounded).
LS_DEV double ls_pow_py(double x, double y, ls_i64* err) {
  double inf = ls_f64_bits(0x7ff0000000000000ULL);
  if (x == 0.0 && y < 0.0) ls_fail(err, LS_ERR_ZERODIV);
  if (x < 0.0 && fabs(y) < inf && floor(y) != y) ls_fail(err, LS_ERR_DOMAIN);
  double p = pow(x, y);
  if (fabs(p) == inf && fabs(x) < inf && fabs(y) < inf) ls_fail(err, LS_ERR_MATHOVF);
  return p;
}

// ---- NumPy's RuntimeWarnings ---------------------------------------------
// NumPy prints a RuntimeWarning for a scalar operation whose result is an
// infinity from finite operands (an overflow, a division by zero) or NaN from
// operands that are not NaN (inf - inf, 0 * inf, sqrt(-1)), and for an
// integer that wraps or is divided by zero. The run then stops and Python
// runs the loop, which prints the warning where Python prints it. The same
// conditions as the CPU variant's (numpy_reports in jit/src/cpu_codegen.cpp).
LS_DEV bool ls_np_reports(double r, double x, double y) {
  double inf = ls_f64_bits(0x7ff0000000000000ULL);
  if (r != r) return x == x && y == y;
  return fabs(r) == inf && fabs(x) < inf && fabs(y) < inf;
}
// `r`, recording a warning when `np` (the result is a NumPy value) and NumPy
// reports it.
LS_DEV double ls_npw(double r, double x, double y, bool np, ls_i64* err) {
  if (np && ls_np_reports(r, x, y)) ls_fail(err, LS_ERR_NPWARN);
  return r;
}
LS_DEV float ls_npwf(float r, float x, float y, bool np, ls_i64* err) {
  if (np && ls_np_reports(r, x, y)) ls_fail(err, LS_ERR_NPWARN);
  return r;
}
// The checked NumPy operations (`np` is false for a Python result of an
// operation whose operands may be either kind).
LS_DEV double ls_npf_add(double x, double y, bool np, ls_i64* err) { return ls_npw(x + y, x, y, np, err); }
LS_DEV double ls_npf_sub(double x, double y, bool np, ls_i64* err) { return ls_npw(x - y, x, y, np, err); }
LS_DEV double ls_npf_mul(double x, double y, bool np, ls_i64* err) { return ls_npw(x * y, x, y, np, err); }
LS_DEV double ls_npf_div(double x, double y, bool np, ls_i64* err) { return ls_npw(x / y, x, y, np, err); }
LS_DEV double ls_npf_floordiv(double x, double y, bool np, ls_i64* err) {
  return ls_npw(ls_ffloordiv(x, y), x, y, np, err);
}
LS_DEV double ls_npf_mod(double x, double y, bool np, ls_i64* err) { return ls_npw(ls_fmod(x, y), x, y, np, err); }
// (pow(0, -inf) is inf with a division by zero too)
LS_DEV double ls_npf_pow(double x, double y, bool np, ls_i64* err) {
  if (np && x == 0.0 && y < 0.0) ls_fail(err, LS_ERR_NPWARN);
  return ls_npw(pow(x, y), x, y, np, err);
}
LS_DEV float ls_npf_add(float x, float y, bool np, ls_i64* err) { return ls_npwf(x + y, x, y, np, err); }
LS_DEV float ls_npf_sub(float x, float y, bool np, ls_i64* err) { return ls_npwf(x - y, x, y, np, err); }
LS_DEV float ls_npf_mul(float x, float y, bool np, ls_i64* err) { return ls_npwf(x * y, x, y, np, err); }
LS_DEV float ls_npf_div(float x, float y, bool np, ls_i64* err) { return ls_npwf(x / y, x, y, np, err); }
LS_DEV float ls_npf_floordiv(float x, float y, bool np, ls_i64* err) {
  return ls_npwf(ls_ffloordivf(x, y), x, y, np, err);
}
LS_DEV float ls_npf_mod(float x, float y, bool np, ls_i64* err) { return ls_npwf(ls_fmodf(x, y), x, y, np, err); }
LS_DEV float ls_npf_pow(float x, float y, bool np, ls_i64* err) {
  if (np && x == 0.0f && y < 0.0f) ls_fail(err, LS_ERR_NPWARN);
  return ls_npwf(powf(x, y), x, y, np, err);
}
LS_DEV double ls_np_sqrt(double x, ls_i64* err) { return ls_npw(sqrt(x), x, x, true, err); }
LS_DEV float ls_np_sqrt(float x, ls_i64* err) { return ls_npwf(sqrtf(x), x, x, true, err); }
// A float64 value stored into a float32 element or given to np.float32:
// "overflow encountered in cast".
LS_DEV float ls_np_to_f32(double x, ls_i64* err) {
  float r = (float)x;
  double inf = ls_f64_bits(0x7ff0000000000000ULL);
  if (fabs((double)r) == inf && fabs(x) < inf) ls_fail(err, LS_ERR_NPWARN);
  return r;
}
// float16 (np.float16) elements, held as a float: NumPy's own software
// conversions (npy_floatbits_to_halfbits, npy_doublebits_to_halfbits,
// npy_halfbits_to_floatbits), bit for bit as the CPU variant's
// (Codegen::float_to_half ...): round half to even, NaN payloads kept,
// "overflow encountered" (when `warn`) where a finite value becomes infinite.
LS_DEV unsigned ls_bits_of_f32(float f) {
  union {
    float f;
    unsigned u;
  } v;
  v.f = f;
  return v.u;
}
LS_DEV ls_u64 ls_bits_of_f64(double d) {
  union {
    double d;
    ls_u64 u;
  } v;
  v.d = d;
  return v.u;
}
LS_DEV float ls_h2f(unsigned short h) {
  unsigned x = h, sgn = (x & 0x8000u) << 16, e = x & 0x7c00u, s = x & 0x03ffu, r;
  if (e == 0)
    r = ls_bits_of_f32((float)s * 5.9604644775390625e-08f);  // s * 2**-24, exact
  else if (e == 0x7c00u)
    r = 0x7f800000u + (s << 13);
  else
    r = ((x & 0x7fffu) + 0x1c000u) << 13;
  return ls_f32_bits(sgn | r);
}
LS_DEV unsigned short ls_f2h(float f, bool warn, ls_i64* err) {
  unsigned u = ls_bits_of_f32(f), sgn = (u & 0x80000000u) >> 16, fexp = u & 0x7f800000u, fsig = u & 0x007fffffu;
  unsigned r;
  if (fexp >= 0x47800000u) {
    if (fexp == 0x7f800000u && fsig != 0) {
      r = 0x7c00u + (fsig >> 13);
      if (r == 0x7c00u) r++;
    } else {
      r = 0x7c00u;
      if (fexp != 0x7f800000u && warn) ls_fail(err, LS_ERR_NPWARN);
    }
  } else if (fexp <= 0x38000000u) {
    if (fexp < 0x33000000u) {
      r = 0;
    } else {
      unsigned e = fexp >> 23, s = (0x00800000u + fsig) >> (113 - e);
      if ((s & 0x3fffu) != 0x1000u || (u & 0x7ffu) != 0) s += 0x1000u;
      r = s >> 13;
    }
  } else {
    unsigned s = fsig;
    if ((s & 0x3fffu) != 0x1000u) s += 0x1000u;
    r = (s >> 13) + ((fexp - 0x38000000u) >> 13);
    if (r == 0x7c00u && warn) ls_fail(err, LS_ERR_NPWARN);
  }
  return (unsigned short)(sgn + r);
}
LS_DEV unsigned short ls_d2h(double d, bool warn, ls_i64* err) {
  ls_u64 u = ls_bits_of_f64(d), dexp = u & 0x7ff0000000000000ULL, dsig = u & 0x000fffffffffffffULL;
  unsigned sgn = (unsigned)((u & 0x8000000000000000ULL) >> 48), r;
  if (dexp >= 0x40f0000000000000ULL) {
    if (dexp == 0x7ff0000000000000ULL && dsig != 0) {
      r = 0x7c00u + (unsigned)(dsig >> 42);
      if (r == 0x7c00u) r++;
    } else {
      r = 0x7c00u;
      if (dexp != 0x7ff0000000000000ULL && warn) ls_fail(err, LS_ERR_NPWARN);
    }
  } else if (dexp <= 0x3f00000000000000ULL) {
    if (dexp < 0x3e60000000000000ULL) {
      r = 0;
    } else {
      ls_u64 e = dexp >> 52, s = (0x0010000000000000ULL + dsig) << (e - 998);
      if ((s & 0x003fffffffffffffULL) != 0x0010000000000000ULL) s += 0x0010000000000000ULL;
      r = (unsigned)(s >> 53);
    }
  } else {
    ls_u64 s = dsig;
    if ((s & 0x000007ffffffffffULL) != 0x0000020000000000ULL) s += 0x0000020000000000ULL;
    r = (unsigned)(s >> 42) + (unsigned)((dexp - 0x3f00000000000000ULL) >> 42);
    if (r == 0x7c00u && warn) ls_fail(err, LS_ERR_NPWARN);
  }
  return (unsigned short)(sgn + r);
}
// a float32 result of float16 arithmetic, rounded to float16 as NumPy does
LS_DEV float ls_hround(float f, ls_i64* err) { return ls_h2f(ls_f2h(f, true, err)); }
// an np.float16 (held as a float) widened to float64 as NumPy does: a NaN's
// payload kept as it is
LS_DEV double ls_hf2d(float f) {
  if (f == f) return (double)f;
  ls_u64 u = ls_bits_of_f32(f);
  return ls_f64_bits(((u & 0x80000000ULL) << 32) | 0x7ff0000000000000ULL | ((u & 0x7fffffULL) << 29));
}

// NumPy integers: the wrapped result, and a warning when it wrapped.
// np.uint64, held as the int64 with the same 64 bits: NumPy's uint64
// arithmetic, wrapping with its warning (x // 0 and x % 0 are 0 with a
// warning, shifts by 64 or more give 0), as the CPU variant's u64_binary.
LS_DEV ls_i64 ls_u64_add(ls_i64 a, ls_i64 b, ls_i64* err) {
  ls_u64 r = (ls_u64)a + (ls_u64)b;
  if (r < (ls_u64)a) ls_fail(err, LS_ERR_NPWARN);
  return (ls_i64)r;
}
LS_DEV ls_i64 ls_u64_sub(ls_i64 a, ls_i64 b, ls_i64* err) {
  if ((ls_u64)b > (ls_u64)a) ls_fail(err, LS_ERR_NPWARN);
  return (ls_i64)((ls_u64)a - (ls_u64)b);
}
LS_DEV ls_i64 ls_u64_mul(ls_i64 a, ls_i64 b, ls_i64* err) {
  ls_u64 x = (ls_u64)a, y = (ls_u64)b, r = x * y;
  if (x != 0 && r / x != y) ls_fail(err, LS_ERR_NPWARN);
  return (ls_i64)r;
}
LS_DEV ls_i64 ls_u64_floordiv(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) {
    ls_fail(err, LS_ERR_NPWARN);
    return 0;
  }
  return (ls_i64)((ls_u64)a / (ls_u64)b);
}
LS_DEV ls_i64 ls_u64_mod(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) {
    ls_fail(err, LS_ERR_NPWARN);
    return 0;
  }
  return (ls_i64)((ls_u64)a % (ls_u64)b);
}
LS_DEV ls_i64 ls_u64_shl(ls_i64 a, ls_i64 b) { return (ls_u64)b < 64 ? (ls_i64)((ls_u64)a << b) : 0; }
LS_DEV ls_i64 ls_u64_shr(ls_i64 a, ls_i64 b) { return (ls_u64)b < 64 ? (ls_i64)((ls_u64)a >> b) : 0; }
LS_DEV ls_i64 ls_u64_neg(ls_i64 a, ls_i64* err) {
  if (a != 0) ls_fail(err, LS_ERR_NPWARN);
  return (ls_i64)(0 - (ls_u64)a);
}
// int() of an np.uint64: from 2**63 a big Python int, left to Python
LS_DEV ls_i64 ls_u64_int(ls_i64 a, ls_i64* err) {
  if (a < 0) ls_fail(err, LS_ERR_OVERFLOW);
  return a;
}

LS_DEV ls_i64 ls_npadd(ls_i64 a, ls_i64 b, ls_i64* err) { return ls_cadd(a, b, err, LS_ERR_NPWARN); }
LS_DEV ls_i64 ls_npsub(ls_i64 a, ls_i64 b, ls_i64* err) { return ls_csub(a, b, err, LS_ERR_NPWARN); }
LS_DEV ls_i64 ls_npmul(ls_i64 a, ls_i64 b, ls_i64* err) { return ls_cmul(a, b, err, LS_ERR_NPWARN); }
LS_DEV ls_i64 ls_npneg(ls_i64 a, ls_i64* err) { return ls_cneg(a, err, LS_ERR_NPWARN); }
LS_DEV int ls_npadd32(int a, int b, ls_i64* err) {
  ls_i64 r = (ls_i64)a + (ls_i64)b;
  if (r != (ls_i64)(int)r) ls_fail(err, LS_ERR_NPWARN);
  return ls_wadd32(a, b);
}
LS_DEV int ls_npsub32(int a, int b, ls_i64* err) {
  ls_i64 r = (ls_i64)a - (ls_i64)b;
  if (r != (ls_i64)(int)r) ls_fail(err, LS_ERR_NPWARN);
  return ls_wsub32(a, b);
}
LS_DEV int ls_npmul32(int a, int b, ls_i64* err) {
  ls_i64 r = (ls_i64)a * (ls_i64)b;
  if (r != (ls_i64)(int)r) ls_fail(err, LS_ERR_NPWARN);
  return ls_wmul32(a, b);
}
LS_DEV int ls_npneg32(int a, ls_i64* err) {
  if (a == -2147483647 - 1) ls_fail(err, LS_ERR_NPWARN);
  return ls_wneg32(a);
}
// x // 0 and x % 0 warn ("divide by zero"), MIN // -1 warns ("overflow").
LS_DEV ls_i64 ls_floordiv_npw(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0 || (b == -1 && a == LS_I64_MIN)) ls_fail(err, LS_ERR_NPWARN);
  return ls_floordiv_np(a, b);
}
LS_DEV ls_i64 ls_mod_npw(ls_i64 a, ls_i64 b, ls_i64* err) {
  if (b == 0) ls_fail(err, LS_ERR_NPWARN);
  return ls_mod_np(a, b);
}
LS_DEV int ls_floordiv_npw32(int a, int b, ls_i64* err) {
  if (b == 0 || (b == -1 && a == -2147483647 - 1)) ls_fail(err, LS_ERR_NPWARN);
  return ls_floordiv_np32(a, b);
}
LS_DEV int ls_mod_npw32(int a, int b, ls_i64* err) {
  if (b == 0) ls_fail(err, LS_ERR_NPWARN);
  return ls_mod_np32(a, b);
}

// ---- conversions and checks ---------------------------------------------------
// A Python int beyond 2**53 that meets a float: Python compares and divides
// it exactly, a double cannot.
LS_DEV ls_i64 ls_bigint(ls_i64 v, ls_i64* err) {
  if (v > 9007199254740992LL || v < -9007199254740992LL) ls_fail(err, LS_ERR_BIGINT);
  return v;
}
// int(x) of an integral float: NaN, infinities and values beyond int64 raise
// (or would be exact big ints in Python).
LS_DEV ls_i64 ls_f2i(double x, ls_i64* err) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
    ls_fail(err, LS_ERR_FLOAT2INT);
    return 0;
  }
  return (ls_i64)x;
}
// A Python int stored into an int32 element.
LS_DEV int ls_to_i32(ls_i64 v, ls_i64* err) {
  if (v > 2147483647LL || v < -2147483648LL) ls_fail(err, LS_ERR_INT32);
  return (int)(unsigned)(ls_u64)v;
}
// A Python int stored into a small integer element (uint8 ...): NumPy 1.24
// warns outside [lo, hi].
LS_DEV ls_i64 ls_int_in(ls_i64 v, ls_i64 lo, ls_i64 hi, ls_i64* err) {
  if (v < lo || v > hi) ls_fail(err, LS_ERR_INT32);
  return v;
}
// A float stored into a small integer element: truncated towards zero inside
// (lo - 1, hi + 1); outside, NumPy's conversions differ (and NaN raises).
LS_DEV ls_i64 ls_float_in(double v, double lo, double hi, ls_i64* err) {
  if (!(v > lo - 1.0 && v < hi + 1.0)) {
    ls_fail(err, LS_ERR_INT32);
    return 0;
  }
  return (ls_i64)v;
}

// ---- math module functions ----------------------------------------------------
// math.f raises where the C library returns NaN or an infinity for a
// mathematical error; the same conditions as the CPU variant's.
LS_DEV double ls_math_sqrt(double x, ls_i64* err) {
  if (x < 0.0) ls_fail(err, LS_ERR_DOMAIN);
  return sqrt(x);
}
LS_DEV double ls_math_log(double r, double x, ls_i64* err) {  // log, log10, log2
  if (x <= 0.0) ls_fail(err, LS_ERR_DOMAIN);
  return r;
}
LS_DEV double ls_math_log1p(double x, ls_i64* err) {
  if (x <= -1.0) ls_fail(err, LS_ERR_DOMAIN);
  return log1p(x);
}
LS_DEV double ls_math_fmod(double x, double y, ls_i64* err) {
  // math.fmod: a NaN from operands that are not NaN (x infinite or y zero)
  double r = fmod(x, y);
  if (r != r && x == x && y == y) ls_fail(err, LS_ERR_DOMAIN);
  return r;
}
// math.hypot (CPython's vector_norm) and the round(x, ndigits) helpers,
// written once for every device
#include "loopscope_math_shared.h"
// round(x, ndigits) of a NumPy float or integer (np.round's algorithm) and
// of a Python int (exact, half to even); CPython's decimal rounding of a
// Python float (dtoa and strtod) has no GPU version.
LS_DEV void ls_round_fail(int code, ls_i64* err) {
  if (code == LS_ROUND_NPWARN) ls_fail(err, LS_ERR_NPWARN);
  if (code == LS_ROUND_BIG) ls_fail(err, LS_ERR_OVERFLOW);
}
LS_DEV double ls_round_np(double x, ls_i64 n, ls_i64* err) {
  int code = 0;
  double r = ls_np_round_f64(x, n, &code);
  ls_round_fail(code, err);
  return r;
}
LS_DEV float ls_round_np(float x, ls_i64 n, ls_i64* err) {
  int code = 0;
  float r = ls_np_round_f32(x, n, &code);
  ls_round_fail(code, err);
  return r;
}
LS_DEV ls_i64 ls_round_np_i64(ls_i64 x, ls_i64 n, ls_i64* err) {
  int code = 0;
  ls_i64 r = ls_np_round_int(x, n, 64, &code);
  ls_round_fail(code, err);
  return r;
}
LS_DEV int ls_round_np_i32(int x, ls_i64 n, ls_i64* err) {
  int code = 0;
  ls_i64 r = ls_np_round_int(x, n, 32, &code);
  ls_round_fail(code, err);
  return (int)r;
}
LS_DEV ls_i64 ls_round_py_int(ls_i64 x, ls_i64 n, ls_i64* err) {
  int code = 0;
  ls_i64 r = ls_py_round_int(x, n, &code);
  ls_round_fail(code, err);
  return r;
}
LS_DEV double ls_math_trig(double r, double x, ls_i64* err) {  // sin, cos, tan
  if (fabs(x) == ls_f64_bits(0x7ff0000000000000ULL)) ls_fail(err, LS_ERR_DOMAIN);
  return r;
}
LS_DEV double ls_math_grows(double r, double x, ls_i64* err) {  // exp, expm1, sinh, cosh
  // an infinite result from a finite argument (sinh(-800) is -inf)
  double inf = ls_f64_bits(0x7ff0000000000000ULL);
  if (fabs(r) == inf && fabs(x) < inf) ls_fail(err, LS_ERR_MATHOVF);
  return r;
}

// ---- reductions -------------------------------------------------------
// Each thread folds its iterations into a private partial value, then the
// warp combines partials with shuffles and lane 0 combines the warp's value
// into the result slot with one atomic operation. Floating-point sums
// therefore add in a different order from Python's loop: results can differ
// in the last bits. Integer sums are exact: NumPy's wrap modulo 2**64 in any
// order, and Python ints stop the run at any overflow.
LS_DEV void ls_atomic_add_f64(double* slot, double v) { atomicAdd(slot, v); }
LS_DEV void ls_atomic_add_f32(float* slot, float v) { atomicAdd(slot, v); }
LS_DEV void ls_atomic_add_i64(ls_i64* slot, ls_i64 v) { atomicAdd((ls_u64*)slot, (ls_u64)v); }
LS_DEV void ls_atomic_add_i64_chk(ls_i64* slot, ls_i64 v, ls_i64* err) {
  ls_i64 old = (ls_i64)atomicAdd((ls_u64*)slot, (ls_u64)v);
  ls_cadd(old, v, err);
}
LS_DEV void ls_atomic_or(ls_i64* slot, ls_i64 v) { atomicOr((ls_u64*)slot, (ls_u64)v); }
// min/max keep the slot's value unless `v` is strictly better: Python's
// min(s, x) keeps s unless x < s, so a NaN never replaces a value (and a NaN
// already there stays).
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
// Zeros met by a float min/max reduction: bit 0 for 0.0, bit 1 for -0.0.
// Python's result is the first of the extreme values met, so when that
// extreme is a zero of both signs the host lets Python decide.
LS_DEV ls_i64 ls_zero_signs(double v) { return v == 0.0 ? (__double_as_longlong(v) < 0 ? 2 : 1) : 0; }

// Iterations of range(start, stop, step), step != 0.
LS_DEV ls_i64 ls_range_count(ls_i64 start, ls_i64 stop, ls_i64 step) {
  if (step > 0) return start < stop ? (ls_i64)(((ls_u64)stop - (ls_u64)start - 1) / (ls_u64)step) + 1 : 0;
  return start > stop ? (ls_i64)(((ls_u64)start - (ls_u64)stop - 1) / (0ull - (ls_u64)step)) + 1 : 0;
}

// Result slots: four 8-byte words per scalar: the value, whether the nest
// assigned it, its Python type (0 int, 1 float, 2 bool, 3 np.float64,
// 4 np.float32, 5 np.int64, 6 np.int32, 7 np.bool_), and the signs of the
// zeros a min/max reduction met (last values: LS_LAST_WORDS, below).
#define LS_SET(p) (*(ls_i64*)((p) + 1))
#define LS_KIND(p) (*(ls_i64*)((p) + 2))
#define LS_AUX(p) (*(ls_i64*)((p) + 3))

// np.minimum / np.maximum, NumPy's scalar loop: (a < b || isnan(a)) ? a : b,
// so a NaN in either operand gives NaN and a tie (0.0, -0.0) gives b.
LS_DEV double ls_np_fmin(double a, double b) { return (a < b || a != a) ? a : b; }
LS_DEV double ls_np_fmax(double a, double b) { return (a > b || a != a) ? a : b; }
LS_DEV float ls_np_fminf(float a, float b) { return (a < b || a != a) ? a : b; }
LS_DEV float ls_np_fmaxf(float a, float b) { return (a > b || a != a) ? a : b; }
// np.clip(x, lo, hi): np.minimum(np.maximum(x, lo), hi); a NaN bound makes
// NumPy warn (DeprecationWarning) and ignore it, which Python does.
LS_DEV double ls_np_clip(double x, double lo, double hi, ls_i64* err) {
  if (lo != lo || hi != hi) ls_fail(err, LS_ERR_NPWARN);
  return ls_np_fmin(ls_np_fmax(x, lo), hi);
}
LS_DEV float ls_np_clipf(float x, float lo, float hi, ls_i64* err) {
  if (lo != lo || hi != hi) ls_fail(err, LS_ERR_NPWARN);
  return ls_np_fminf(ls_np_fmaxf(x, lo), hi);
}
LS_DEV ls_i64 ls_np_clipl(ls_i64 x, ls_i64 lo, ls_i64 hi) {
  ls_i64 m = x >= lo ? x : lo;
  return m <= hi ? m : hi;
}
LS_DEV int ls_np_clip32(int x, int lo, int hi) {
  int m = x >= lo ? x : lo;
  return m <= hi ? m : hi;
}

// ---- warp-level combining -------------------------------------------------
// Blocks are multiples of 32 threads and every thread of a block reaches the
// combining code (no early exits), so full-mask shuffles are safe. After a
// ls_warp_* call, lane 0 of each warp holds the result for its 32 threads.
#define LS_FULL_MASK 0xffffffffu
LS_DEV unsigned ls_lane() { return ((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x) & 31u; }
LS_DEV double ls_warp_sum_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(LS_FULL_MASK, v, o);
  return v;
}
LS_DEV float ls_warp_sum_f32(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(LS_FULL_MASK, v, o);
  return v;
}
LS_DEV ls_i64 ls_warp_sum_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) v = ls_wadd(v, (ls_i64)__shfl_down_sync(LS_FULL_MASK, (long long)v, o));
  return v;
}
LS_DEV ls_i64 ls_warp_sum_i64_chk(ls_i64 v, ls_i64* err) {
  for (int o = 16; o > 0; o >>= 1) v = ls_cadd(v, (ls_i64)__shfl_down_sync(LS_FULL_MASK, (long long)v, o), err);
  return v;
}
// Strictly better only, as Python's min(s, x) (a NaN never wins).
LS_DEV double ls_warp_min_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) {
    double w = __shfl_down_sync(LS_FULL_MASK, v, o);
    if (w < v) v = w;
  }
  return v;
}
LS_DEV double ls_warp_max_f64(double v) {
  for (int o = 16; o > 0; o >>= 1) {
    double w = __shfl_down_sync(LS_FULL_MASK, v, o);
    if (w > v) v = w;
  }
  return v;
}
LS_DEV ls_i64 ls_warp_min_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) {
    ls_i64 w = __shfl_down_sync(LS_FULL_MASK, (long long)v, o);
    if (w < v) v = w;
  }
  return v;
}
LS_DEV ls_i64 ls_warp_max_i64(ls_i64 v) {
  for (int o = 16; o > 0; o >>= 1) {
    ls_i64 w = __shfl_down_sync(LS_FULL_MASK, (long long)v, o);
    if (w > v) v = w;
  }
  return v;
}
LS_DEV ls_i64 ls_warp_any(ls_i64 flag) {
  for (int o = 16; o > 0; o >>= 1) flag |= __shfl_down_sync(LS_FULL_MASK, (long long)flag, o);
  return flag;
}

// ---- last values of private scalars ---------------------------------------
// After the loop, Python leaves in a scalar the value of the last iteration
// (in the loop's order) that assigned it; when none did, the value from
// before the loop (or no value at all). A scalar that every iteration assigns
// comes from the thread that runs the last iteration. For one assigned in
// some iterations only, each thread notes where its last assigning iteration
// lies in the grid: the iteration numbers of the grid loops, outermost first
// ({-1, 0, 0}: it assigned nothing). A thread's iterations come in increasing
// order, so the variable itself still holds that iteration's value at the end.
//
// ls_keep_last then finds the block's latest assignment (shuffles within each
// warp, then shared memory), and thread 0 writes it to the result unless a
// later iteration's value is already there. The result's words after the
// value (LS_LAST_WORDS in all): assigned, type code, a lock, the launch number
// and the grid position of the value held, and the latest (launch, outermost
// position) any block has announced. A kernel launched again by a host loop
// has a higher launch number: its iterations come after all those of earlier
// launches. Every thread of the block calls it (no early exits).
//
// The announcement spares most blocks the lock: a block that finds a later
// one announced leaves the value to it (blocks finish in about the order of
// their positions, wave after wave, but in any order within a wave).
#define LS_LAST_WORDS 9
// Position a comes after position b (grid iteration numbers, outermost first).
LS_DEV bool ls_later(const ls_i64* a, const volatile ls_i64* b) {
  for (int d = 0; d < 3; ++d)
    if (a[d] != b[d]) return a[d] > b[d];
  return false;
}
template <class T>
LS_DEV void ls_keep_last(T value, ls_i64 kind, const ls_i64* at, ls_i64 launch, T* out, ls_i64* meta) {
  ls_i64 pos[3] = {at[0], at[1], at[2]};
  // The warp's latest.
  for (int o = 16; o > 0; o >>= 1) {
    T v = __shfl_down_sync(LS_FULL_MASK, value, o);
    ls_i64 k = __shfl_down_sync(LS_FULL_MASK, (long long)kind, o);
    ls_i64 p[3];
    for (int d = 0; d < 3; ++d) p[d] = __shfl_down_sync(LS_FULL_MASK, (long long)pos[d], o);
    if (ls_later(p, pos)) {
      value = v;
      kind = k;
      for (int d = 0; d < 3; ++d) pos[d] = p[d];
    }
  }
  // The block's latest: lane 0 of each warp leaves the warp's in shared memory.
  __shared__ T warp_value[32];
  __shared__ ls_i64 warp_kind[32], warp_pos[32][3];
  const unsigned t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned warps = (blockDim.x * blockDim.y * blockDim.z + 31) / 32;
  if (t % 32 == 0) {
    warp_value[t / 32] = value;
    warp_kind[t / 32] = kind;
    for (int d = 0; d < 3; ++d) warp_pos[t / 32][d] = pos[d];
  }
  __syncthreads();
  if (t == 0) {
    for (unsigned w = 1; w < warps; ++w)
      if (ls_later(warp_pos[w], pos)) {
        value = warp_value[w];
        kind = warp_kind[w];
        for (int d = 0; d < 3; ++d) pos[d] = warp_pos[w][d];
      }
    // (launch, outermost position) in one word when they fit, else no announcement
    const bool fits = launch < (1LL << 23) && pos[0] < (1LL << 40);
    const ls_u64 mine = ((ls_u64)launch << 40) | (ls_u64)pos[0];
    if (pos[0] >= 0 && !(fits && atomicMax((ls_u64*)(meta + 7), mine) > mine)) {
      // One block at a time: take the lock, compare with the value held, give it back.
      ls_u64* lock = (ls_u64*)(meta + 2);
      while (atomicCAS(lock, 0ull, 1ull) != 0ull) {}
      __threadfence();
      volatile ls_i64* held = meta;
      if (held[3] < launch || (held[3] == launch && ls_later(pos, held + 4))) {
        *(volatile T*)out = value;
        held[0] = 1;
        held[1] = kind;
        held[3] = launch;
        for (int d = 0; d < 3; ++d) held[4 + d] = pos[d];
      }
      __threadfence();
      atomicCAS(lock, 1ull, 0ull);
    }
  }
  __syncthreads();  // the shared slots are free for the next scalar
}
