// The max-pooling pass of ukernel.h, written once over a vector-traits type V (see gemm_ukernel_impl.h for V
// and for why this file is included inside an anonymous namespace). Besides gemm_ukernel_impl.h's V needs
// max_nan(a, b) (NaN if either is), load_first(p, n) and store_first(p, v, n) (only the lanes below n), and
// load_strided(p, stride, n) (p[0], p[stride], ... of which only the first n are read).

// kStep > 0 fixes the step between outputs at compile time (1: contiguous loads, 2: pooling's usual stride).
template <class V, int kStep>
void max_pass_plane(const pycnn::MaxPassArgs& a, const float* src, float* dst) {
  const int64_t step = kStep > 0 ? kStep : a.step;
  for (int64_t line = 0; line < a.lines; ++line, src += a.src_line, dst += a.dst_line) {
    for (int64_t i = 0; i < a.n; i += V::width) {
      const int64_t left = a.n - i;
      const float* s = src + i * step;
      typename V::T m = V::load_strided(s, step, left);
      for (int t = 1; t < a.taps; ++t) m = V::max_nan(V::load_strided(s + t * a.tap_stride, step, left), m);
      V::store_first(dst + i, m, left);
    }
  }
}

template <class V, int kStep>
void max_pass_lines(const pycnn::MaxPassArgs& a) {
  for (int64_t plane = 0; plane < a.planes; ++plane) {
    max_pass_plane<V, kStep>(a, a.src + plane * a.src_plane, a.dst + plane * a.dst_plane);
  }
}

template <class V>
void max_pass(const pycnn::MaxPassArgs& a) {
  if (a.step == 1) {
    max_pass_lines<V, 1>(a);
  } else if (a.step == 2) {
    max_pass_lines<V, 2>(a);
  } else {
    max_pass_lines<V, 0>(a);
  }
}
