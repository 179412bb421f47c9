// measure_fma_peak(): the FMA throughput of this machine, the yardstick for "% of peak" in benchmarks.
#include <algorithm>
#include <chrono>
#include <vector>

#include "pycnn/dispatch.h"
#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {

double measure_fma_peak_gflops(int milliseconds) {
  using Clock = std::chrono::steady_clock;
  const FmaPeakFn run = kernels().fma_peak_loop;
  const int threads = get_num_threads();
  std::vector<float> sinks(static_cast<size_t>(threads) * 16);  // a cache line apart: no false sharing

  // Calibrate on one thread: iterations that take about a tenth of the time asked for.
  int64_t iterations = 1 << 12;
  for (;;) {
    const auto start = Clock::now();
    run(iterations, sinks.data());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (seconds * 1e3 >= 2.0 || iterations >= (int64_t{1} << 40)) {
      iterations = std::max<int64_t>(1, static_cast<int64_t>(iterations * milliseconds / 10.0 / (seconds * 1e3)));
      break;
    }
    iterations *= 4;
  }
  // Best of ten parallel rounds: a shared, noisy machine only ever makes a round slower.
  double best = 0.0;
  for (int round = 0; round < 10; ++round) {
    std::vector<int64_t> flops(static_cast<size_t>(threads));
    const auto start = Clock::now();
    parallel_for(threads, [&](int64_t t) { flops[t] = run(iterations, &sinks[t * 16]); });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    double total = 0.0;
    for (int64_t f : flops) total += static_cast<double>(f);
    best = std::max(best, total / seconds * 1e-9);
  }
  return best;
}

}  // namespace pycnn
