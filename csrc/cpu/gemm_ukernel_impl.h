// The register-tile GEMM micro-kernel, written once over a vector-traits type V and instantiated by
// each ISA's translation unit (see ukernel.h for the contract).
//
// Include this file only inside an anonymous namespace, after <cstdint> and "pycnn/ukernel.h": every ISA
// then compiles its own internal copy with its own flags, so the linker can never hand an AVX-512
// instantiation to the generic path. For the same reason it uses no standard-library templates.
//
// V provides: type T; int width; T zero(); T load(const float*) and store(float*, T), both unaligned;
// T set1(float); T fmadd(T a, T b, T c) = a*b + c; T add(T, T); T sub(T, T); T mul(T, T); T relu(T), a max(0, x)
// that keeps NaN; load_first(p, n) and store_first(p, v, n), which touch only the lanes below n; transpose(T[width]),
// in place.

// C (and the residual) are read and written only after the k loop: ask for their lines before it, so they arrive
// while the multiply-adds run instead of stalling the stores.
template <int NR>
void prefetch_tile_c(const pycnn::UkernelArgs& p) {
#if defined(__GNUC__)
  if (p.transpose_c) {  // a column of the tile is a run of m floats: its first and last line
    for (int j = 0; j < p.n; ++j) {
      __builtin_prefetch(p.c + j * p.ldc, 1);
      __builtin_prefetch(p.c + j * p.ldc + p.m - 1, 1);
      if (p.residual) __builtin_prefetch(p.residual + j * p.ldr);
    }
  } else {
    for (int i = 0; i < p.m; ++i) {
      for (int j = 0; j < NR; j += 16) __builtin_prefetch(p.c + i * p.ldc + j, 1);
      if (p.residual) {
        for (int j = 0; j < NR; j += 16) __builtin_prefetch(p.residual + i * p.ldr + j);
      }
    }
  }
#endif
}

// The epilogue of a tile: acc (+ C when accumulating) + biases + residual, then ReLU, written to the m×n corner of
// the tile that exists — transposed when p.transpose_c.
template <class V, int MR, int NV>
void store_tile(const pycnn::UkernelArgs& p, typename V::T (&acc)[MR][NV]) {
  using T = typename V::T;
  constexpr int W = V::width;
  constexpr int NR = NV * W;
  if (p.transpose_c) {
    // Each W×W block of the tile transposes in registers (rows past MR are zero); then every channel's run of
    // positions is one vector.
    for (int i0 = 0; i0 < MR && i0 < p.m; i0 += W) {
      const int64_t left = p.m - i0;
      for (int jv = 0; jv < NV; ++jv) {
        T block[W];
        for (int r = 0; r < W; ++r) block[r] = i0 + r < MR ? acc[i0 + r][jv] : V::zero();
        V::transpose(block);
        for (int c = 0; c < W && jv * W + c < p.n; ++c) {
          const int j = jv * W + c;
          float* out = p.c + j * p.ldc + i0;
          T v = block[c];
          if (p.accumulate) v = V::add(v, V::load_first(out, left));
          if (p.bias_row) v = V::add(v, V::load_first(p.bias_row + i0, left));
          if (p.bias_col) v = V::add(v, V::set1(p.bias_col[j]));
          if (p.residual) v = V::add(v, V::load_first(p.residual + j * p.ldr + i0, left));
          if (p.relu) v = V::relu(v);
          V::store_first(out, v, left);
        }
      }
    }
    return;
  }

  if (p.m == MR && p.n == NR) {
    for (int i = 0; i < MR; ++i) {
      for (int j = 0; j < NV; ++j) {
        float* c = p.c + i * p.ldc + j * W;
        T v = acc[i][j];
        if (p.accumulate) v = V::add(v, V::load(c));
        if (p.bias_row) v = V::add(v, V::set1(p.bias_row[i]));
        if (p.bias_col) v = V::add(v, V::load(p.bias_col + j * W));
        if (p.residual) v = V::add(v, V::load(p.residual + i * p.ldr + j * W));
        if (p.relu) v = V::relu(v);
        V::store(c, v);
      }
    }
    return;
  }

  // Edge tile: spill the registers, then write the corner that exists with the same operations in scalar.
  alignas(64) float tile[MR][NR];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NV; ++j) V::store(&tile[i][j * W], acc[i][j]);
  }
  for (int i = 0; i < p.m; ++i) {
    float* c = p.c + i * p.ldc;
    for (int j = 0; j < p.n; ++j) {
      float v = tile[i][j];
      if (p.accumulate) v += c[j];
      if (p.bias_row) v += p.bias_row[i];
      if (p.bias_col) v += p.bias_col[j];
      if (p.residual) v += p.residual[i * p.ldr + j];
      if (p.relu) v = v < 0.0f ? 0.0f : v;
      c[j] = v;
    }
  }
}

template <class V, int MR, int NV>
void gemm_ukernel(const pycnn::UkernelArgs& p) {
  using T = typename V::T;
  constexpr int W = V::width;
  constexpr int NR = NV * W;
  prefetch_tile_c<NR>(p);
  T acc[MR][NV];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  }
  const float* a = p.a;
  const float* b = p.b;
  // p.prefetch's lines, one every `every` k-steps (a power of two): spread over the loop, they arrive in time
  // without crowding the tile's own loads.
  const float* ahead = p.prefetch;
  const float* const ahead_end = p.prefetch ? p.prefetch + p.prefetch_floats : nullptr;
  int64_t every = 1;
  while (ahead < ahead_end && every * 2 * ((p.prefetch_floats + 15) / 16) <= p.kc) every *= 2;
#pragma GCC unroll 4
  for (int64_t k = 0; k < p.kc; ++k) {
    T bv[NV];
#if defined(__GNUC__)
    // Weights used for few positions stream from memory: fetch them into L2 256 k-steps ahead and on into L1 a few
    // steps ahead. They are B when the tile has few rows (B then streams faster than the FMAs use it), else A. (The
    // transposed convolution's filters are B as well, but every row tile of a panel reads them: the driver brings
    // the next panel into L2 instead, once.)
    if (pycnn::ukernel_streams_b(MR)) {
      for (int j = 0; j < NR; j += 16) {
        __builtin_prefetch(b + 256 * p.ldb + j, 0, 1);
        __builtin_prefetch(b + 16 * p.ldb + j);
      }
    } else {
      __builtin_prefetch(a + 256 * MR, 0, 1);
      __builtin_prefetch(a + 32 * MR);
    }
    if ((k & (every - 1)) == 0 && ahead < ahead_end) {
      __builtin_prefetch(ahead, 0, 1);
      ahead += 16;
    }
#endif
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
    for (int i = 0; i < MR; ++i) {
      const T av = V::set1(a[i]);
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
    }
    a += MR;
    b += p.ldb;
  }

  store_tile<V, MR, NV>(p, acc);
}
