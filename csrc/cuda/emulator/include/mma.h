#pragma once
// The CPU emulator's warp matrix functions. A real fragment is spread over the 32 lanes of a warp in a layout
// the API keeps opaque; here lane 0 of each warp holds the whole matrix and does the warp's work, and the other
// lanes do nothing — which is observably the same for code that only loads, multiplies and stores fragments.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_bf16.h"
#include "cuda_runtime.h"

namespace nvcuda::wmma {

struct matrix_a;
struct matrix_b;
struct accumulator;
struct row_major;
struct col_major;
namespace precision {
struct tf32;
}
enum layout_t { mem_row_major, mem_col_major };

template <class T>
struct storage {
  using type = T;
};
template <>
struct storage<precision::tf32> {
  using type = float;
};

template <class Use, int M, int N, int K>
struct extent;
template <int M, int N, int K>
struct extent<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct extent<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct extent<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  using element_type = typename storage<T>::type;
  static constexpr int rows = extent<Use, M, N, K>::rows, cols = extent<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols;
  element_type x[num_elements];
};

inline bool is_warp_leader() { return threadIdx.x % 32 == 0; }

template <class Use, int M, int N, int K, class T, class Layout>
void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, float value) {
  if (!is_warp_leader()) return;
  for (auto& v : f.x) v = typename fragment<Use, M, N, K, T, Layout>::element_type(value);
}

template <class Use, int M, int N, int K, class T, class Layout, class Element>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const Element* p, unsigned ldm) {
  if (!is_warp_leader()) return;
  using F = fragment<Use, M, N, K, T, Layout>;
  constexpr bool column_major = std::is_same_v<Layout, col_major>;
  for (int r = 0; r < F::rows; ++r) {
    for (int c = 0; c < F::cols; ++c) f.x[r * F::cols + c] = column_major ? p[c * ldm + r] : p[r * ldm + c];
  }
}

template <int M, int N, int K>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
  if (!is_warp_leader()) return;
  for (int r = 0; r < M; ++r) {
    for (int c = 0; c < N; ++c) (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[r * N + c];
  }
}

template <int M, int N, int K, class TA, class LA, class TB, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
              const fragment<matrix_b, M, N, K, TB, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
  if (!is_warp_leader()) return;
  float result[M * N];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float sum = c.x[i * N + j];
      for (int k = 0; k < K; ++k) sum += float(a.x[i * K + k]) * float(b.x[k * N + j]);
      result[i * N + j] = sum;
    }
  }
  std::memcpy(d.x, result, sizeof result);
}

// Round to nearest, ties away from zero, keeping 10 mantissa bits (cvt.rna.tf32.f32).
inline float __float_to_tf32(float in) {
  uint32_t u;
  std::memcpy(&u, &in, sizeof u);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  float out;
  std::memcpy(&out, &u, sizeof out);
  return out;
}

}  // namespace nvcuda::wmma
