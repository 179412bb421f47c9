// The direct-convolution micro-kernel, written once over a vector-traits type V (see gemm_ukernel_impl.h for
// V and for why this file is included inside an anonymous namespace of each ISA's translation unit; max_pool_impl.h
// for the masked loads and stores it also needs).
//
// One call computes MR output positions × NR output channels: the channels run along the vectors, and each
// input value is broadcast straight from the padded input — no im2col. The positions are kRows output rows of
// MR / kRows neighbours (two rows when the image is too narrow to fill the tile with one). Neighbours are
// `stride` floats apart in the input; a stride the compiler knows turns each broadcast's address into a
// constant offset from one pointer per row.

template <class V, int MR, int NV, int kRows, int kStride>
void direct_conv_tile(const pycnn::DirectConvArgs& p) {
  using T = typename V::T;
  constexpr int W = V::width;
  constexpr int NR = NV * W;
  constexpr int Q = MR / kRows;  // positions per row
  const int64_t step = kStride > 0 ? kStride : p.stride;

  T acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  }
  const float* w = p.w;
  constexpr int64_t kAhead = 4;  // planes
  constexpr int64_t kLine = 16;  // floats per cache line
  const int64_t span = (Q - 1) * step + (p.kernel_w - 1) * p.tap_col + 1;
  const int64_t prefetch_step = p.prefetch ? (p.prefetch_floats + p.channels - 1) / p.channels : 0;
  for (int64_t c = 0; c < p.channels; ++c) {
    const float* plane = p.x + c * p.x_plane;
#if defined(__GNUC__)
    // The input the tile will read kAhead planes on. A tile row of more than a line (strided tiles) is several
    // streams per plane that the hardware does not run ahead on; one line is enough for the rest.
    if (span <= kLine) {
      __builtin_prefetch(plane + kAhead * p.x_plane);
    } else if (c + kAhead < p.channels) {
      for (int r = 0; r < kRows; ++r) {
        for (int kh = 0; kh < p.kernel_h; ++kh) {
          const float* first = plane + kAhead * p.x_plane + r * p.x_row + kh * p.tap_row;
          for (int64_t f = 0; f < span; f += kLine) __builtin_prefetch(first + f);
          __builtin_prefetch(first + span - 1);
        }
      }
    }
    if (prefetch_step > 0) {
      const int64_t end = (c + 1) * prefetch_step < p.prefetch_floats ? (c + 1) * prefetch_step : p.prefetch_floats;
      for (int64_t f = c * prefetch_step; f < end; f += kLine) __builtin_prefetch(p.prefetch + f, 0, 2);
    }
#endif
    for (int kh = 0; kh < p.kernel_h; ++kh) {
      const float* row = plane + kh * p.tap_row;
      for (int kw = 0; kw < p.kernel_w; ++kw) {
        const float* x = row + kw * p.tap_col;
        T wv[NV];
        for (int j = 0; j < NV; ++j) wv[j] = V::load(w + j * W);
        for (int i = 0; i < MR; ++i) {
          const T xv = V::set1(x[i / Q * p.x_row + i % Q * step]);
          for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(xv, wv[j], acc[i][j]);
        }
        w += NR;
      }
    }
  }

  // The tile holds positions × channels; the output is channels × positions. Spill it with the bias added
  // (along the channels), then gather each channel's run of positions into a vector for the rest of the epilogue
  // and the store.
  alignas(64) float tile[MR][NR];
  for (int j = 0; j < NV; ++j) {
    const T bias = p.bias ? V::load_first(p.bias + j * W, p.n - j * W) : V::zero();
    for (int i = 0; i < MR; ++i) V::store(&tile[i][j * W], V::add(acc[i][j], bias));
  }
  for (int j = 0; j < p.n; ++j) {
    for (int r = 0; r < p.rows; ++r) {
      const int64_t at = j * p.y_plane + r * p.y_row;
      for (int q = 0; q < p.cols; q += W) {
        const int64_t left = p.cols - q;
        T v = V::load_strided(&tile[r * Q + q][j], NR, left);
        if (p.residual) v = V::add(v, V::load_first(p.residual + at + q, left));
        if (p.relu) v = V::relu(v);
        V::store_first(p.y + at + q, v, left);
      }
    }
  }
}

// The tile for this call's stride: the first layers' 2 and 4 and the common 1 get their own instances.
template <class V, int MR, int NV, int kRows>
void direct_conv_rows(const pycnn::DirectConvArgs& p) {
  switch (p.stride) {
    case 1:
      return direct_conv_tile<V, MR, NV, kRows, 1>(p);
    case 2:
      return direct_conv_tile<V, MR, NV, kRows, 2>(p);
    case 4:
      return direct_conv_tile<V, MR, NV, kRows, 4>(p);
    default:
      return direct_conv_tile<V, MR, NV, kRows, 0>(p);
  }
}

template <class V, int MR, int NV>
void direct_conv_ukernel(const pycnn::DirectConvArgs& p) {
  if (p.tile_rows == 2) return direct_conv_rows<V, MR, NV, 2>(p);
  direct_conv_rows<V, MR, NV, 1>(p);
}
