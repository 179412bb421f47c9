#include "pycnn/gemm.h"

#include <algorithm>
#include <utility>

#include "pycnn/int_math.h"
#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

// Each thread packs into its own buffers; they grow to the largest block seen and are reused.
struct PackBuffers {
  AlignedBuffer a, b;
};
thread_local PackBuffers t_buffers;

// Up to this depth, C's traffic outweighs B's: a tile's FMAs are few, and with NR columns outside, each panel
// writes MR-row strips of C (and reads the residual's) across every row of the block — hundreds of streams no
// prefetcher follows. Rows outside instead walk C (and the residual) row by row, with B packed for the block and
// read from L2.
constexpr int64_t kRowsOuterMaxK = 256;

// B's panel at a column: where it starts, and its row stride.
using PanelRef = std::pair<const float*, int64_t>;

// The kernel arguments every tile of a problem shares.
UkernelArgs problem_args(const GemmProblem& pr) {
  UkernelArgs args{};
  args.ldc = pr.ldc;
  args.ldr = pr.ldr;
  args.transpose_c = pr.transpose_c;
  return args;
}

// The tiles of rows [mb, mb + mc) × columns [n0, n1) for the K block of depth args.kc at k0 (the last one when
// `last`: the epilogue is applied): A's block packed in `ap`, B's panel at column j from b_panel(j). NR columns
// outside, MR rows inside; for shallow products the other way round (see kRowsOuterMaxK).
// With B's panels laid out in `b_packed` (data non-null), each panel's row tiles bring the next panel into L2,
// a slice each, so that the next panel's first tile does not wait on L3 for it — filters prepacked as B (the
// transposed convolution) as well.
template <class BPanel>
void multiply_block(const GemmKernel& kern, const GemmProblem& pr, UkernelArgs& args, bool last, bool rows_outer,
                    const Panels& ap, int64_t mb, int64_t mc, int64_t n0, int64_t n1, BPanel b_panel,
                    Panels b_packed = {}) {
  const int mr = kern.mr, nr = kern.nr;
  const int64_t panel_floats = args.kc * nr;
  const int64_t slice = round_up(ceil_div(panel_floats, ceil_div(mc, mr)), 16);
  auto run = [&](int64_t i, int64_t j, PanelRef b) {
    args.a = ap.data + (i - mb) / mr * ap.stride;
    args.m = static_cast<int>(std::min<int64_t>(mr, mb + mc - i));
    args.b = b.first;
    args.ldb = b.second;
    args.n = static_cast<int>(std::min<int64_t>(nr, n1 - j));
    auto at = [&](int64_t ld) { return pr.transpose_c ? j * ld + i : i * ld + j; };  // element (i, j)
    args.c = pr.c + at(pr.ldc);
    args.bias_row = last && pr.bias_row ? pr.bias_row + i : nullptr;
    args.bias_col = last && pr.bias_col ? pr.bias_col + j : nullptr;
    args.residual = last && pr.residual ? pr.residual + at(pr.ldr) : nullptr;
    const int64_t ahead = std::min(panel_floats, (i - mb) / mr * slice);
    const bool next_panel = b_packed.data && !rows_outer && j + nr < n1;
    args.prefetch = next_panel ? b_packed.data + ((j - n0) / nr + 1) * b_packed.stride + ahead : nullptr;
    args.prefetch_floats = std::min(slice, panel_floats - ahead);
    kern.ukernel(args);
  };
  if (rows_outer) {
    for (int64_t i = mb; i < mb + mc; i += mr) {
      for (int64_t j = n0; j < n1; j += nr) run(i, j, b_panel(j));
    }
    return;
  }
  for (int64_t j = n0; j < n1; j += nr) {
    const PanelRef b = b_panel(j);
    for (int64_t i = mb; i < mb + mc; i += mr) run(i, j, b);
  }
}

// Rows [m0, m1) × columns [n0, n1) of one problem, m0 and n0 on tile boundaries, on the calling thread. Loop order
// as in BLIS: K blocks outside, then row blocks of A, then the tiles (multiply_block). B is packed a K block at a
// time when several row blocks or row tiles reuse it; when one row block covers the rows, each panel is used once,
// right before its row tiles: read where it lies when its source allows (a 1×1 convolution's input; the partial
// last panel is packed), else packed then (it stays in L1 instead of passing through L2).
void gemm_tile(const GemmKernel& kern, const GemmShape& shape, const GemmProblem& pr, int64_t m0, int64_t m1,
               int64_t n0, int64_t n1) {
  if (kern.prepare) kern.prepare();
  const int mr = kern.mr, nr = kern.nr;
  const int64_t kc_max = std::max<int64_t>(1, std::min(kern.kc, shape.k));
  const bool rows_outer = shape.k <= kRowsOuterMaxK && !pr.transpose_c;
  // Each B panel serves one row block, right away: packed at that moment, or read in place. (Several row blocks,
  // or rows outside, re-read B: packed, it is compact.)
  const bool panel_at_a_time = m1 - m0 <= kern.mc && !rows_outer;
  const bool b_in_place = pr.b->readable_in_place() && panel_at_a_time;
  // B's panels for the whole K block at once: packed for it, or packed already (weights).
  const bool b_whole = !b_in_place && (!panel_at_a_time || !pr.b->packs());
  const int64_t whole_end = n0 + (n1 - n0) / nr * nr;  // the columns of whole panels end here
  const int64_t b_width = panel_at_a_time ? nr : round_up(n1 - n0, nr);
  float* b_scratch = pr.b->packs() ? t_buffers.b.reserve(static_cast<size_t>(b_width * kc_max)) : nullptr;
  float* a_scratch = pr.a->packs()
                         ? t_buffers.a.reserve(static_cast<size_t>(round_up(std::min(kern.mc, m1 - m0), mr) * kc_max))
                         : nullptr;

  UkernelArgs args = problem_args(pr);
  bool last = false;
  for (int64_t k0 = 0; !last; k0 += kern.kc) {  // runs once even for k = 0, to write bias and zeros
    const int64_t kc = std::min(kern.kc, shape.k - k0);
    last = k0 + kc == shape.k;
    args.kc = kc;
    args.accumulate = k0 > 0;
    args.relu = last && pr.relu;
    Panels bp{};  // B's panels for this K block: all of them, or (read in place) the partial last one
    if (b_in_place && whole_end < n1) {
      bp = pr.b->panels(k0, kc, whole_end, n1 - whole_end, nr, b_scratch);
    } else if (b_whole) {
      bp = pr.b->panels(k0, kc, n0, n1 - n0, nr, b_scratch);
    }
    auto b_panel = [&](int64_t j) -> PanelRef {
      if (b_in_place) return j < whole_end ? std::make_pair(pr.b->in_place(k0, j), pr.b->row_stride())
                                           : std::make_pair(bp.data, int64_t{nr});
      if (!b_whole) return {pr.b->panels(k0, kc, j, std::min<int64_t>(nr, n1 - j), nr, b_scratch).data, nr};
      return {bp.data + (j - n0) / nr * bp.stride, nr};
    };
    for (int64_t mb = m0; mb < m1; mb += kern.mc) {
      const int64_t mc = std::min(kern.mc, m1 - mb);
      const Panels ap = pr.a->panels(k0, kc, mb, mc, mr, a_scratch);
      multiply_block(kern, pr, args, last, rows_outer, ap, mb, mc, n0, n1, b_panel,
                     b_whole && !ukernel_streams_b(mr) ? bp : Panels{});
    }
  }
}

// One large product on every thread, in BLIS's order: for each block of B (K block × up to nc columns) the threads
// pack its panels together, then share out A's row blocks, each thread packing the blocks it takes. Against tiles of
// columns (gemm_tile per thread), A is packed once instead of once per thread, and the row blocks go to whichever
// thread is free.
void gemm_shared_b(const GemmKernel& kern, const GemmShape& shape, const GemmProblem& pr, int threads) {
  const int mr = kern.mr, nr = kern.nr;
  const int64_t kc_max = std::max<int64_t>(1, std::min(kern.kc, shape.k));
  // Row blocks of at most mc rows, as many as a multiple of the thread count, with row tiles shared out evenly.
  const int64_t row_tiles = ceil_div(shape.m, mr);
  const int64_t blocks = round_up(ceil_div(shape.m, kern.mc), threads);
  auto block_start = [&](int64_t b) { return std::min(shape.m, b * row_tiles / blocks * mr); };
  thread_local AlignedBuffer t_b_block;
  float* b_block = t_b_block.reserve(static_cast<size_t>(round_up(std::min(kern.nc, shape.n), nr) * kc_max));
  for (int64_t n0 = 0; n0 < shape.n; n0 += kern.nc) {
    const int64_t n1 = std::min(shape.n, n0 + kern.nc);
    bool last = false;
    for (int64_t k0 = 0; !last; k0 += kern.kc) {
      const int64_t kc = std::min(kern.kc, shape.k - k0);
      last = k0 + kc == shape.k;
      parallel_for(ceil_div(n1 - n0, nr), [&](int64_t p) {
        const int64_t j = n0 + p * nr;
        pr.b->panels(k0, kc, j, std::min<int64_t>(nr, n1 - j), nr, b_block + p * nr * kc);
      });
      parallel_for(blocks, [&](int64_t b) {
        const int64_t mb = block_start(b), mc = block_start(b + 1) - mb;
        if (mc == 0) return;
        if (kern.prepare) kern.prepare();
        float* a_scratch = pr.a->packs() ? t_buffers.a.reserve(static_cast<size_t>(round_up(mc, mr) * kc_max))
                                         : nullptr;
        UkernelArgs args = problem_args(pr);
        args.kc = kc;
        args.accumulate = k0 > 0;
        args.relu = last && pr.relu;
        const Panels ap = pr.a->panels(k0, kc, mb, mc, mr, a_scratch);
        multiply_block(
            kern, pr, args, last, false, ap, mb, mc, n0, n1,
            [&](int64_t j) -> PanelRef { return {b_block + (j - n0) / nr * nr * kc, nr}; }, Panels{b_block, nr * kc});
      });
    }
  }
}

// How many row and column tiles to cut each problem into: enough for every thread, and a count that shares out
// evenly. Every column tile goes over all of A's rows again, every row tile over all of B's columns, so the axis
// cut first is the one whose crossing operand costs less to go over again: a packed one a read and a write (a
// convolution's input, packed by im2col), a prepacked one a read (weights). At equal cost, columns.
struct Tiling {
  int64_t m_tile, n_tile, m_tiles, n_tiles;
};

bool rows_first(const GemmShape& s, const GemmProblem& pr) {
  const int64_t a_cost = s.m * (pr.a->packs() ? 2 : 1), b_cost = s.n * (pr.b->packs() ? 2 : 1);
  return b_cost < a_cost;
}

Tiling choose_tiling(const GemmKernel& kern, const GemmShape& s, int64_t problems, bool cut_rows_first,
                     int threads) {
  constexpr int64_t kSerialMacs = int64_t{1} << 18;  // below this, waking threads costs more than it saves
  // Rows outside re-read a task's packed B for every row tile: keep it to 1 MB, so that it stays in L2.
  constexpr int64_t kRowsOuterBFloats = int64_t{1} << 18;
  const int64_t rows_outer_nc = kRowsOuterBFloats / std::max<int64_t>(1, s.k) / kern.nr * kern.nr;
  const int64_t nc = s.k <= kRowsOuterMaxK ? std::clamp<int64_t>(rows_outer_nc, 4 * kern.nr, kern.nc) : kern.nc;
  int64_t n_tiles = ceil_div(s.n, nc), m_tiles = 1;
  if (threads > 1 && problems * s.m * s.n * s.k >= kSerialMacs) {
    const int64_t min_n_tile = 4 * kern.nr;
    auto even = [&] {
      const int64_t tiles = problems * m_tiles * n_tiles;
      return tiles % threads == 0 || tiles >= 8 * threads;
    };
    auto cut_rows = [&] {
      while (!even() && ceil_div(s.m, m_tiles + 1) >= kern.mr) ++m_tiles;
    };
    if (cut_rows_first) cut_rows();
    while (!even() && ceil_div(s.n, n_tiles + 1) >= min_n_tile) ++n_tiles;
    cut_rows();
  }
  const int64_t n_tile = round_up(ceil_div(s.n, n_tiles), kern.nr);
  const int64_t m_tile = round_up(ceil_div(s.m, m_tiles), kern.mr);
  return {m_tile, n_tile, ceil_div(s.m, m_tile), ceil_div(s.n, n_tile)};
}

}  // namespace

void gemm_batched(const GemmKernel& kern, GemmShape shape, const std::vector<GemmProblem>& problems) {
  if (shape.m == 0 || shape.n == 0 || problems.empty()) return;
  const int threads = get_num_threads();
  // One product with rows for at least two blocks per thread (B is then packed, read in place or not), not shallow.
  const GemmProblem& first = problems[0];
  if (problems.size() == 1 && threads > 1 && shape.m >= 2 * threads * kern.mc && shape.k > kRowsOuterMaxK &&
      first.b->packs()) {
    gemm_shared_b(kern, shape, first, threads);
    return;
  }
  const Tiling t = choose_tiling(kern, shape, static_cast<int64_t>(problems.size()), rows_first(shape, first),
                                 threads);
  const int64_t per_problem = t.m_tiles * t.n_tiles;
  parallel_for(static_cast<int64_t>(problems.size()) * per_problem, [&](int64_t task) {
    const GemmProblem& pr = problems[task / per_problem];
    const int64_t mi = task % per_problem / t.n_tiles, ni = task % t.n_tiles;
    const int64_t m0 = mi * t.m_tile, n0 = ni * t.n_tile;
    gemm_tile(kern, shape, pr, m0, std::min(shape.m, m0 + t.m_tile), n0, std::min(shape.n, n0 + t.n_tile));
  });
}

}  // namespace pycnn
