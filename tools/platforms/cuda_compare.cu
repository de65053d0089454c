// One pass over a candidate output and its reference, as tools/harness/correctness.py judges them:
// both sides rounded to float32, the difference, its magnitude and the elementwise bound in float32 with
// no fused multiply-add (so every comparison comes out as torch's does), the squares summed in float64.
// Compiled at run time by NVRTC with no headers; half and bfloat16 arrive as their 16 bits.
//
// out, per output (5 x 8 bytes, zeroed before the launch):
//   [0] sum of reference^2 (double)   [1] sum of difference^2 (double)
//   [2] largest |difference| (a double's bits: non-negative doubles order as their bits do)
//   [3] elements outside atol + rtol * |reference| (integer)
//   [4] elements where either side, or their difference, is not finite (integer)

typedef unsigned long long u64;

struct half_bits { unsigned short v; };
struct bf16_bits { unsigned short v; };

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(double x) { return __double2float_rn(x); }
__device__ __forceinline__ float to_float(half_bits h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.v));
  return f;
}
__device__ __forceinline__ float to_float(bf16_bits b) { return __uint_as_float(((unsigned)b.v) << 16); }

__device__ __forceinline__ bool finite(float x) { return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u; }

constexpr int THREADS = 256;
constexpr int UNROLL = 4;

// The five figures summed (the largest kept) across a warp, into lane 0's.
__device__ __forceinline__ void warp_reduce(double& ref_sq, double& err_sq, float& max_abs, u64& outside, u64& nonfinite) {
  for (int o = 16; o > 0; o >>= 1) {
    ref_sq += __shfl_down_sync(0xffffffffu, ref_sq, o);
    err_sq += __shfl_down_sync(0xffffffffu, err_sq, o);
    max_abs = fmaxf(max_abs, __shfl_down_sync(0xffffffffu, max_abs, o));
    outside += __shfl_down_sync(0xffffffffu, outside, o);
    nonfinite += __shfl_down_sync(0xffffffffu, nonfinite, o);
  }
}

template <typename T>
__device__ void compare(const T* __restrict__ c, const T* __restrict__ r, long long n, float atol, float rtol,
                        double* __restrict__ out) {
  double ref_sq = 0.0, err_sq = 0.0;
  float max_abs = 0.0f;
  u64 outside = 0, nonfinite = 0;
  const long long step = (long long)gridDim.x * THREADS * UNROLL;
  for (long long base = (long long)blockIdx.x * THREADS * UNROLL + threadIdx.x; base < n; base += step) {
    float cv[UNROLL], rv[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const long long i = base + (long long)u * THREADS;
      cv[u] = i < n ? to_float(c[i]) : 0.0f;
      rv[u] = i < n ? to_float(r[i]) : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const float d = fabsf(__fsub_rn(cv[u], rv[u]));
      const float scale = fabsf(rv[u]);
      if (!(finite(cv[u]) && finite(rv[u]) && finite(d))) {
        nonfinite += 1;
        continue;
      }
      max_abs = fmaxf(max_abs, d);
      ref_sq += (double)rv[u] * (double)rv[u];
      err_sq += (double)d * (double)d;
      outside += d > __fadd_rn(__fmul_rn(scale, rtol), atol) ? 1 : 0;
    }
  }
  warp_reduce(ref_sq, err_sq, max_abs, outside, nonfinite);
  __shared__ double s_ref[THREADS / 32], s_err[THREADS / 32];
  __shared__ float s_max[THREADS / 32];
  __shared__ u64 s_out[THREADS / 32], s_bad[THREADS / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    s_ref[warp] = ref_sq;
    s_err[warp] = err_sq;
    s_max[warp] = max_abs;
    s_out[warp] = outside;
    s_bad[warp] = nonfinite;
  }
  __syncthreads();
  if (warp != 0) return;
  const bool has = lane < THREADS / 32;
  ref_sq = has ? s_ref[lane] : 0.0;
  err_sq = has ? s_err[lane] : 0.0;
  max_abs = has ? s_max[lane] : 0.0f;
  outside = has ? s_out[lane] : 0;
  nonfinite = has ? s_bad[lane] : 0;
  warp_reduce(ref_sq, err_sq, max_abs, outside, nonfinite);
  if (lane == 0) {
    atomicAdd(out + 0, ref_sq);
    atomicAdd(out + 1, err_sq);
    atomicMax((u64*)(out + 2), (u64)__double_as_longlong((double)max_abs));
    atomicAdd((u64*)(out + 3), outside);
    atomicAdd((u64*)(out + 4), nonfinite);
  }
}

#define COMPARE(NAME, T)                                                                                  \
  extern "C" __global__ void __launch_bounds__(THREADS)                                                   \
      NAME(const T* c, const T* r, long long n, float atol, float rtol, double* out) {                    \
    compare<T>(c, r, n, atol, rtol, out);                                                                 \
  }

COMPARE(compare_f32, float)
COMPARE(compare_f64, double)
COMPARE(compare_f16, half_bits)
COMPARE(compare_bf16, bf16_bits)
