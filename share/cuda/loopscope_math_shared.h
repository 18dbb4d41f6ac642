// Loopscope's numeric helpers written once for every device: included by
// loopscope_cuda.h (NVRTC and the CPU emulator of the generated CUDA) and by
// jit/src/cpu_runtime.cpp (the LLVM CPU code calls them). Plain arithmetic in
// the order CPython and NumPy use, no standard headers (NVRTC has none): the
// includer defines LS_DEV and brings fabs, frexp, ldexp, sqrt, rint and rintf
// into scope. Compiled without FMA contraction everywhere (NVRTC
// --fmad=false, the emulator -ffp-contract=off, the library without -mfma).
#pragma once

#ifndef LS_DEV
#define LS_DEV __device__ __forceinline__
#endif

LS_DEV double ls_shared_f64_bits(unsigned long long b) {
  union {
    unsigned long long u;
    double d;
  } v;
  v.u = b;
  return v.d;
}
#define LS_SHARED_INF ls_shared_f64_bits(0x7ff0000000000000ULL)

// math.hypot(x, y) as CPython 3.11 computes it (vector_norm in
// Modules/mathmodule.c), not the C library's hypot: the larger magnitude is
// scaled to [0.5, 1) by a power of two, each square is split exactly
// (Veltkamp: hi * hi, 2 * hi * lo, lo * lo) and summed with compensation
// around 1.0, the square root is corrected once by the residual, and the
// scale is undone. Below 2**-1023 (the scale would overflow) both are divided
// by the larger one instead. Never an error: inf on overflow.
LS_DEV double ls_math_hypot(double x, double y) {
  const double t27 = 134217729.0;  // 2**27 + 1
  double v[2] = {fabs(x), fabs(y)};
  double mx = 0.0, csum = 1.0, frac1 = 0.0, frac2 = 0.0, frac3 = 0.0, old, t, hi, lo, a, scale, h;
  int i, max_e = 0;
  for (i = 0; i < 2; i++)
    if (v[i] > mx) mx = v[i];
  if (mx == LS_SHARED_INF) return mx;
  if (v[0] != v[0] || v[1] != v[1]) return ls_shared_f64_bits(0x7ff8000000000000ULL);
  if (mx == 0.0) return mx;
  frexp(mx, &max_e);
  if (max_e < -1023) {
    for (i = 0; i < 2; i++) {
      a = v[i] / mx;
      a = a * a;
      old = csum;
      csum += a;
      frac1 += (old - csum) + a;
    }
    return mx * sqrt(csum - 1.0 + frac1);
  }
  scale = ldexp(1.0, -max_e);
  for (i = 0; i < 2; i++) {
    a = v[i] * scale;
    t = a * t27;
    hi = t - (t - a);
    lo = a - hi;
    a = hi * hi;
    old = csum;
    csum += a;
    frac1 += (old - csum) + a;
    a = 2.0 * hi * lo;
    old = csum;
    csum += a;
    frac2 += (old - csum) + a;
    frac3 += lo * lo;
  }
  h = sqrt(csum - 1.0 + (frac1 + frac2 + frac3));
  t = h * t27;
  hi = t - (t - h);
  lo = h - hi;
  a = -hi * hi;
  old = csum;
  csum += a;
  frac1 += (old - csum) + a;
  a = -2.0 * hi * lo;
  old = csum;
  csum += a;
  frac2 += (old - csum) + a;
  a = -lo * lo;
  old = csum;
  csum += a;
  frac3 += (old - csum) + a;
  a = csum - 1.0 + (frac1 + frac2 + frac3);
  return (h + a / (2.0 * h)) / scale;
}

// ---- round(x, ndigits) ----------------------------------------------------
// What the rounding helpers report in *code (0: nothing):
#define LS_ROUND_NPWARN 1  // NumPy prints a RuntimeWarning (overflow, invalid value)
#define LS_ROUND_BIG \
  2  // not modelled: an int result beyond int64, an ndigits beyond a C int
     // (NumPy raises OverflowError), a NumPy integer result out of its type

// NumPy 1.24's power_of_ten (multiarray/calculation.c): a table below 9,
// then 1e9 multiplied by 10.0 one step at a time (inf from 10**309 on).
LS_DEV double ls_np_pow10(long long n) {
  const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  if (n < 9) return p10[n];
  if (n > 400) return LS_SHARED_INF;  // the loop would have reached inf long before
  double r = 1e9;
  while (n-- > 9) r *= 10.;
  return r;
}
// NumPy reports a NaN from operands that are not NaN (invalid value) and an
// infinity from finite operands (overflow)
LS_DEV bool ls_np_round_reports(double r, double x, double y) {
  if (r != r) return x == x && y == y;
  return fabs(r) == LS_SHARED_INF && fabs(x) < LS_SHARED_INF && fabs(y) < LS_SHARED_INF;
}
// ndigits as NumPy's round() takes it: a C int (array.round parses "i")
LS_DEV bool ls_np_ndigits_ok(long long n, int* code) {
  if (n >= -2147483647LL && n <= 2147483647LL) return true;
  *code = LS_ROUND_BIG;
  return false;
}

// round(np.float64(x), n): np.round's PyArray_Round, rint(x * 10**n) / 10**n
// (n < 0: rint(x / 10**-n) * 10**-n), each step a float64 ufunc
LS_DEV double ls_np_round_f64(double x, long long n, int* code) {
  if (!ls_np_ndigits_ok(n, code)) return x;
  if (n == 0) return rint(x);
  double f = ls_np_pow10(n < 0 ? -n : n);
  double y = n > 0 ? x * f : x / f;
  if (ls_np_round_reports(y, x, f)) *code = LS_ROUND_NPWARN;
  double r = rint(y);
  double z = n > 0 ? r / f : r * f;
  if (ls_np_round_reports(z, r, f)) *code = LS_ROUND_NPWARN;
  return z;
}
// round(np.float32(x), n): the same steps, but the 0-d float32 operand and
// the Python float 10**n promote to a float64 multiply (and divide) whose
// result is cast to float32 (rint itself runs in float32)
LS_DEV float ls_np_round_f32(float x, long long n, int* code) {
  if (!ls_np_ndigits_ok(n, code)) return x;
  if (n == 0) return rintf(x);
  double f = ls_np_pow10(n < 0 ? -n : n);
  double xd = (double)x;
  double y = n > 0 ? xd * f : xd / f;
  float yf = (float)y;
  if (ls_np_round_reports(y, xd, f) || ls_np_round_reports((double)yf, y, y)) *code = LS_ROUND_NPWARN;
  float r = rintf(yf);
  double rd = (double)r;
  double z = n > 0 ? rd / f : rd * f;
  float zf = (float)z;
  if (ls_np_round_reports(z, rd, f) || ls_np_round_reports((double)zf, z, z)) *code = LS_ROUND_NPWARN;
  return zf;
}
// round(np.int64(x), n) / round(np.int32(x), n): x itself for n >= 0, else
// through float64 (x / 10**-n, rint, * 10**-n) cast back to the type; a
// result out of the type's range (or NaN) is left to Python.
LS_DEV long long ls_np_round_int(long long x, long long n, int bits, int* code) {
  if (!ls_np_ndigits_ok(n, code) || n >= 0) return x;
  double f = ls_np_pow10(-n);
  double xd = (double)x;
  double y = xd / f;
  if (ls_np_round_reports(y, xd, f)) *code = LS_ROUND_NPWARN;
  double r = rint(y);
  double z = r * f;
  if (ls_np_round_reports(z, r, f)) *code = LS_ROUND_NPWARN;
  double lim = bits == 64 ? 9223372036854775808.0 : 2147483648.0;
  if (!(z >= -lim && z < lim)) {
    *code = LS_ROUND_BIG;
    return x;
  }
  return (long long)z;
}
// round(x, n) of a Python int (int.__round__): x for n >= 0, else the
// nearest multiple of 10**-n, half to even (_PyLong_DivmodNear), exactly;
// one beyond int64 is left to Python.
LS_DEV long long ls_py_round_int(long long x, long long n, int* code) {
  if (n >= 0) return x;
  if (n < -19) return 0;  // |x| < 2**63 < 10**20 / 2
  if (n == -19) {
    // 10**19 is beyond int64: 0 up to 5 * 10**18 (a tie goes to the even 0)
    const long long half = 5000000000000000000LL;
    if (x <= half && x >= -half) return 0;
    *code = LS_ROUND_BIG;
    return x;
  }
  long long p = 1;
  for (long long k = 0; k < -n; k++) p *= 10;
  long long q = x / p, r = x % p;
  if (r < 0) {  // floor division
    r += p;
    q -= 1;
  }
  if (2 * r > p || (2 * r == p && (q & 1) != 0)) q += 1;
  if (q > 9223372036854775807LL / p || q < (-9223372036854775807LL - 1) / p) {
    *code = LS_ROUND_BIG;
    return x;
  }
  return q * p;
}
