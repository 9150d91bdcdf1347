/* cpu_math.h - exp and the erf-based GELU in float, written so that loops over them vectorise.
 * Owns: the only approximations of the CPU backend, each within about 2e-7 relative (checked in the tests). */
#ifndef VM_CPU_MATH_H
#define VM_CPU_MATH_H

#include <stdint.h>
#include <string.h>

/* libm's expf and erff are calls the compiler cannot vectorise; softmax and GELU run them on every score and every
 * MLP activation, where they would cost more than the GEMMs around them. These versions are straight-line
 * arithmetic that GCC and clang turn into SIMD code inside the callers' loops. Selects are done on the bit patterns
 * as integers: a float comparison would keep GCC (under the default -ftrapping-math) from vectorising. */

static inline uint32_t cpu_float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float cpu_bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* x clamped to [-87, 88] on its bit pattern, NaN included (a float comparison here would not vectorise, and a
 * NaN reaching the float-to-int conversion below would be undefined behaviour). */
static inline float cpu_exp_range(float x) {
  uint32_t b = cpu_float_bits(x);
  b = b > 0xC2AE0000u ? 0xC2AE0000u : b; /* below -87.0f: negative and larger as bits */
  /* above 88.0f: positive, so larger as a signed integer; negative floats are negative integers (GCC and clang
   * convert modulo 2^32, as they document) */
  b = (int32_t)b > 0x42B00000 ? 0x42B00000u : b;
  return cpu_bits_float(b);
}

/* e^(hi + lo) for hi + lo in [-87, 88] (clamped outside: softmax and erfc only need values that vanish there), lo a
 * correction (|lo| < 2) that joins after the range reduction so that it is not lost in rounding hi + lo.
 * hi + lo = n ln2 + r with |r| <= ln2/2 (ln2 split in two so that hi - n ln2_high is exact), e^r by its Taylor
 * series to r^7 (truncation error < 6e-9), and 2^n put in the exponent bits. */
static inline float cpu_expf2(float hi, float lo) {
  hi = cpu_exp_range(hi);
  const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float n = (cpu_exp_range(hi + lo) * 1.44269504088896341f + round_magic) - round_magic;
  /* hi and n * ln2_high (8 significant bits in ln2_high) are multiples of ulp(hi) less than 2 apart: exact */
  float r = hi - n * 0.693359375f;
  r = (r + lo) - n * -2.12194440e-4f; /* ln2 low part */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * cpu_bits_float((uint32_t)((int32_t)n + 127) << 23);
}

static inline float cpu_expf(float x) { return cpu_expf2(x, 0.0f); }

/* GELU(x) = x/2 (1 + erf(x / sqrt 2)) = x/2 erfc(u), u = -x / sqrt 2: the erf form of nn.functional.gelu.
 * erfc by the Chebyshev-fitted form erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2), z = |u| (fractional error
 * < 1.2e-7 for all z >= 0; Numerical Recipes' "erfcc"), and erfc(-z) = 2 - erfc(z). It keeps its relative accuracy
 * in the tail, where GELU of a negative input is tiny. z^2 = x^2 / 2 is passed to exp as an exact head
 * (x split into 12 + 12 significant bits, so xh^2 is exact) and a small tail, since one rounding of z^2 ~ 50 would
 * already cost 3e-6 of relative accuracy. */
static inline float cpu_gelu(float x) {
  uint32_t xb = cpu_float_bits(x);
  float z = cpu_bits_float(xb & 0x7FFFFFFFu) * 0.70710678118654752f;
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  float xh = cpu_bits_float(xb & 0xFFFFF000u), xl = x - xh;
  const float hi = -0.5f * (xh * xh);
  /* where hi is past exp's range (|x| > ~13.2, erfc below float's) the tail goes too: for |x| over ~3e4 it would
   * itself leave float's range and turn e into inf or NaN. hi <= 0, so "hi >= -87" is "its bits <= -87's". */
  const uint32_t in_range = 0u - (uint32_t)(cpu_float_bits(hi) <= 0xC2AE0000u);
  const float lo = cpu_bits_float(cpu_float_bits(p - (xh * xl + 0.5f * (xl * xl))) & in_range);
  float e = t * cpu_expf2(hi, lo);
  /* erfc(u) = e for u >= 0 (x <= 0), 2 - e for u < 0 (x > 0); selected with a mask, which vectorises where a
   * conditional here does not */
  uint32_t negative = 0u - (xb >> 31);
  float erfc_u = cpu_bits_float((cpu_float_bits(e) & negative) | (cpu_float_bits(2.0f - e) & ~negative));
  return 0.5f * x * erfc_u;
}

/* An integer that orders like the float (negative floats have their magnitude bits flipped); its own inverse.
 * Integer max reductions vectorise with GCC and clang alike, float ones need -ffast-math under clang. */
static inline int32_t cpu_float_order(float f) {
  uint32_t b = cpu_float_bits(f);
  return (int32_t)(b ^ ((0u - (b >> 31)) >> 1));
}

static inline float cpu_order_float(int32_t k) {
  uint32_t b = (uint32_t)k;
  return cpu_bits_float(b ^ ((0u - (b >> 31)) >> 1));
}

static inline float cpu_sigmoid(float x) { return 1.0f / (1.0f + cpu_expf(-x)); }

static inline float cpu_relu(float x) {
  uint32_t b = cpu_float_bits(x);
  return cpu_bits_float(b & ~(0u - (b >> 31))); /* negative (and -0) -> +0 */
}

#endif
