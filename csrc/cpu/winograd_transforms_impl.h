// The Winograd F(4×4, 3×3) tile transforms, written once over a vector-traits type V (see
// gemm_ukernel_impl.h for V and for why this file is included inside an anonymous namespace).
//
// Lanes are tiles: every row below holds one value for each of `lanes` tiles (a multiple of V::width), so a
// transform runs on V::width tiles per instruction. With Bᵀ, G and Aᵀ of Lavin & Gray (2016), interpolation
// points 0, ±1, ±2, ∞:
//   input   V = Bᵀ d B   (6×6 patch d → 6×6)
//   output  Y = Aᵀ M A   (6×6 product M → 4×4)
// Each applies its 1-D transform to the columns, then to the rows of the result.

// Bᵀ x for one column x0..x5 (stride `s` apart in `in`), written `s` apart in `out`.
template <class V>
inline void winograd_bt_column(const typename V::T* x, typename V::T* out, int s) {
  using T = typename V::T;
  const T four = V::set1(4.0f), minus_five = V::set1(-5.0f), two = V::set1(2.0f);
  const T x0 = x[0], x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s], x5 = x[5 * s];
  const T a = V::sub(x4, V::mul(four, x2));  // x4 − 4·x2
  const T b = V::sub(x3, V::mul(four, x1));  // x3 − 4·x1
  const T c = V::sub(x4, x2);
  const T d = V::mul(two, V::sub(x3, x1));
  out[0] = V::add(V::fmadd(four, x0, x4), V::mul(minus_five, x2));  // 4·x0 − 5·x2 + x4
  out[s] = V::add(a, b);                                                // −4·x1 − 4·x2 + x3 + x4
  out[2 * s] = V::sub(a, b);                                            //  4·x1 − 4·x2 − x3 + x4
  out[3 * s] = V::add(c, d);                                            // −2·x1 − x2 + 2·x3 + x4
  out[4 * s] = V::sub(c, d);                                            //  2·x1 − x2 − 2·x3 + x4
  out[5 * s] = V::add(V::fmadd(four, x1, x5), V::mul(minus_five, x3));  // 4·x1 − 5·x3 + x5
}

// Aᵀ x for one column x0..x5 (stride `s`), four values written `t` apart.
template <class V>
inline void winograd_at_column(const typename V::T* x, typename V::T* out, int s, int t) {
  using T = typename V::T;
  const T x1 = x[s], x2 = x[2 * s], x3 = x[3 * s], x4 = x[4 * s];
  const T p12 = V::add(x1, x2), m12 = V::sub(x1, x2);
  const T p34 = V::add(x3, x4), m34 = V::sub(x3, x4);
  out[0] = V::add(V::add(x[0], p12), p34);
  out[t] = V::fmadd(V::set1(2.0f), m34, m12);
  out[2 * t] = V::fmadd(V::set1(4.0f), p34, p12);
  out[3 * t] = V::add(V::fmadd(V::set1(8.0f), m34, m12), x[5 * s]);
}

// The patches of the lanes' tiles (winograd.h) → v: 36 rows (ξ = r·6 + c) of `lanes` floats, row ξ at
// v + ξ·v_stride.
template <class V>
void winograd_input_transform(const float* x, const pycnn::WinogradLanes& at, int lanes, float* v, int64_t v_stride) {
  using T = typename V::T;
  for (int l = 0; l < lanes; l += V::width) {
    T d[36], t[36];
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 6; ++c) {
        d[r * 6 + c] = V::gather(x + r * at.row + c, at.offset + l, (at.rows[r] & at.cols[c]) >> l);
      }
    }
    for (int c = 0; c < 6; ++c) winograd_bt_column<V>(d + c, t + c, 6);     // Bᵀ d: down each column
    for (int r = 0; r < 6; ++r) winograd_bt_column<V>(t + 6 * r, d + 6 * r, 1);  // (Bᵀ d) B: along each row
    for (int i = 0; i < 36; ++i) V::store(v + i * v_stride + l, d[i]);
  }
}

// m: 36 rows (ξ) of `lanes` floats, row ξ at m + ξ·m_stride → the lanes' 4×4 output blocks in y (winograd.h),
// plus `bias`, plus the residual at the same places unless null, then max(0, ·) if `relu`.
template <class V>
void winograd_output_transform(const float* m, int64_t m_stride, int lanes, float bias, const float* residual,
                               bool relu, float* y, const pycnn::WinogradLanes& at) {
  using T = typename V::T;
  const T b = V::set1(bias);
  for (int l = 0; l < lanes; l += V::width) {
    T x[36], t[24], o[16];
    for (int i = 0; i < 36; ++i) x[i] = V::load(m + i * m_stride + l);
    for (int c = 0; c < 6; ++c) winograd_at_column<V>(x + c, t + c, 6, 6);  // Aᵀ M: 4 rows × 6
    for (int r = 0; r < 4; ++r) winograd_at_column<V>(t + 6 * r, o + 4 * r, 1, 1);  // (Aᵀ M) A: 4 × 4
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        const uint32_t mask = (at.rows[i] & at.cols[j]) >> l;
        const int64_t place = i * at.row + j;
        T v = V::add(o[i * 4 + j], b);
        if (residual) v = V::add(v, V::gather(residual + place, at.offset + l, mask));
        if (relu) v = V::relu(v);
        V::scatter(y + place, at.offset + l, mask, v);
      }
    }
  }
}
