#include "pycnn/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "denormals.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#if defined(PYCNN_X86)
#include <immintrin.h>
#endif

namespace pycnn {
namespace {

// After a call, a worker polls this long for the next one before it sleeps: long enough to catch the next
// layer of a network without a wake-up, short enough not to take a core from anyone else for long.
constexpr auto kSpin = std::chrono::microseconds(100);

void cpu_relax() {
#if defined(PYCNN_X86)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Polls `busy` for up to kSpin; returns early once it is false.
template <class Busy>
void spin_while(Busy busy) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  while (busy() && std::chrono::steady_clock::now() < until) cpu_relax();
}

// The tasks are cut into one part per thread taking part, and each thread first takes the tasks of its own part
// — the same part in every call, so a layer split like the one before it (halves of the positions) finds its input
// in the cache of the core that wrote it — then helps with what is left of the others'.
struct Job {
  const std::function<void(int64_t)>* fn;
  int64_t count;
  int parts;  // the caller and the workers that help
  struct alignas(64) Next {
    std::atomic<int64_t> task;
  };
  std::unique_ptr<Next[]> next;  // per part: its next task
  std::mutex error_mutex;
  std::exception_ptr error;

  Job(const std::function<void(int64_t)>& f, int64_t n, int participants)
      : fn(&f), count(n), parts(participants), next(new Next[participants]) {
    for (int p = 0; p < parts; ++p) next[p].task.store(start(p));
  }

  int64_t start(int part) const { return count * part / parts; }

  // Tasks are taken a chunk at a time, about 8 chunks per part: with thousands of small tasks (a pool's planes) a
  // shared counter taken per task costs more than the tasks themselves.
  void run_tasks(int self) {
    const int64_t step = std::max<int64_t>(1, count / (8 * parts));
    for (int k = 0; k < parts; ++k) {
      const int p = (self + k) % parts;
      const int64_t end = start(p + 1);
      for (int64_t i = next[p].task.fetch_add(step); i < end; i = next[p].task.fetch_add(step)) {
        try {
          for (const int64_t stop = std::min(end, i + step); i < stop; ++i) (*fn)(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
          for (int q = 0; q < parts; ++q) next[q].task.store(count);  // the call has failed: hand out no more tasks
        }
      }
    }
  }
};

// The cores this process may run on (its CPU affinity), at least 1: the count until pycnn's Python layer sets its
// own (pycnn/_threads.py).
int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

class Pool {
 public:
  explicit Pool(int num_threads) : num_threads_(num_threads) {}

  int num_threads() const { return num_threads_.load(); }

  void set_num_threads(int n) {
    if (n < 1) throw std::invalid_argument("number of threads must be at least 1");
    std::lock_guard<std::mutex> call(call_mutex_);
    num_threads_.store(n);
  }

  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    const SubnormalsAsZero flush;
    std::unique_lock<std::mutex> call(call_mutex_, std::try_to_lock);
    const int threads = static_cast<int>(std::min<int64_t>(num_threads_.load(), n));
    if (!call.owns_lock() || threads <= 1) {
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    const int helpers = start_workers(threads - 1);
    if (helpers == 0) {
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }

    Job job(fn, n, helpers + 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      pending_.store(static_cast<int>(workers_.size()));
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    job.run_tasks(0);
    // The workers finish their last tasks within microseconds of the caller: poll for them first, since
    // sleeping until one wakes us costs tens of microseconds per call.
    spin_while([&] { return pending_.load(std::memory_order_acquire) != 0; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load() == 0; });
      job_ = nullptr;
    }
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  // Starts workers until there are `count`, and returns how many help: when the OS refuses another thread
  // (a process limit, no address space for its stack), the pool carries on with those it has.
  int start_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int index = static_cast<int>(workers_.size());
      // Register under the lock so a worker never misses a generation or the pending count.
      std::lock_guard<std::mutex> lock(mutex_);
      try {
        workers_.emplace_back([this, index, seen = generation_.load()] { worker_loop(index, seen); });
      } catch (const std::system_error&) {
        break;
      }
    }
    return std::min(count, static_cast<int>(workers_.size()));
  }

  void worker_loop(int index, uint64_t seen) {
    const SubnormalsAsZero flush;
    for (;;) {
      spin_while([&] { return generation_.load(std::memory_order_acquire) == seen; });
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        job = job_;
      }
      if (job != nullptr && index + 1 < job->parts) job->run_tasks(index + 1);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // Under the lock, so the caller is either still polling or already asleep on done_.
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  std::mutex call_mutex_;  // one parallel_for at a time uses the workers
  std::atomic<int> num_threads_;
  std::vector<std::thread> workers_;

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  Job* job_ = nullptr;
  std::atomic<int> pending_{0};
};

// The pool is never destroyed: at exit its workers sleep in the kernel, and joining them from a static
// destructor would race with interpreter shutdown. A forked child has none of the parent's threads (and
// possibly locked mutexes), so it starts a fresh pool with the parent's thread count and leaves the old one alone.
Pool* g_pool = nullptr;

Pool& pool() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_pool = new Pool(available_cores());
#if defined(__linux__)
    pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(g_pool->num_threads()); });
#endif
  });
  return *g_pool;
}

}  // namespace

int get_num_threads() { return pool().num_threads(); }
void set_num_threads(int n) { pool().set_num_threads(n); }
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) { pool().parallel_for(n, fn); }

}  // namespace pycnn
