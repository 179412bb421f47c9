#pragma once
// pycnn's own worker threads. A call hands out tasks to the workers and the calling thread; workers spin
// only briefly after a call and then sleep, so they never keep cores from other work in the process.
#include <cstdint>
#include <functional>

namespace pycnn {

int get_num_threads();
// n ≥ 1. Safe while other calls run: it waits for the call in flight to finish.
void set_num_threads(int n);

// Runs fn(i) for every i in [0, n) on up to get_num_threads() threads, the caller among them, and returns
// when all are done, rethrowing the first exception a task threw. A call made while the pool is busy
// (another Python thread, or a task itself) runs its tasks on the calling thread alone.
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace pycnn
