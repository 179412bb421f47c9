// The FMA-throughput loop behind measure_fma_peak(), written once over a vector-traits type V (see
// gemm_ukernel_impl.h for V and for why this is included inside an anonymous namespace).
//
// ACC independent accumulator chains hide the FMA latency (latency × FMA ports ≤ ACC), so the loop runs at
// the core's FMA throughput. Returns the flops done: 2 · V::width · ACC per iteration.

template <class V, int ACC>
int64_t fma_peak_loop(int64_t iterations, float* sink) {
  using T = typename V::T;
  T acc[ACC];
  for (int j = 0; j < ACC; ++j) acc[j] = V::set1(static_cast<float>(j));
  const T a = V::set1(0.999f);
  const T b = V::set1(1e-3f);
  for (int64_t i = 0; i < iterations; ++i) {
    // Unrolled so that the accumulators live in registers: left rolled, GCC interchanges the loops and
    // streams acc[] through memory, which measures the store-forwarding latency instead of the FMA ports.
#pragma GCC unroll 32
    for (int j = 0; j < ACC; ++j) acc[j] = V::fmadd(acc[j], a, b);
  }
  float lanes[V::width];
  float sum = 0.0f;
  for (int j = 0; j < ACC; ++j) {
    V::store(lanes, acc[j]);
    for (float x : lanes) sum += x;
  }
  *sink = sum;  // so that the compiler cannot drop the loop
  return 2 * int64_t{V::width} * ACC * iterations;
}
