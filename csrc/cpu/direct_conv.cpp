#include "pycnn/direct_conv.h"

#include <algorithm>
#include <cstring>

#include "pycnn/aligned_buffer.h"
#include "pycnn/int_math.h"
#include "pycnn/ops.h"
#include "pycnn/threadpool.h"

namespace pycnn {
namespace {

// The input with its padding written out as zeros, plane by plane, and room past the end for the positions
// a tile computes beyond the last one that exists (at most MR - 1 strides into the row after).
struct PaddedInput {
  const float* data;
  int64_t height, width;
};

PaddedInput pad_input(const Conv2dParams& p, const float* x, int mr) {
  const Window2d& w = p.window;
  const int64_t hp = p.in_h + w.pad_top + w.pad_bottom, wp = p.in_w + w.pad_left + w.pad_right;
  const int64_t plane = hp * wp, planes = p.batch * p.in_channels;
  thread_local AlignedBuffer buffer;  // the caller's, reused across calls
  float* out = buffer.reserve(static_cast<size_t>(planes * plane + mr * w.stride_w));
  std::fill(out + planes * plane, out + planes * plane + mr * w.stride_w, 0.0f);
  parallel_for(planes, [&](int64_t q) {
    float* dst = out + q * plane;
    const float* src = x + q * p.in_h * p.in_w;
    std::fill(dst, dst + w.pad_top * wp, 0.0f);
    for (int64_t r = 0; r < p.in_h; ++r) {
      float* row = dst + (w.pad_top + r) * wp;
      std::fill(row, row + w.pad_left, 0.0f);
      std::memcpy(row + w.pad_left, src + r * p.in_w, sizeof(float) * p.in_w);
      std::fill(row + w.pad_left + p.in_w, row + wp, 0.0f);
    }
    std::fill(dst + (w.pad_top + p.in_h) * wp, dst + plane, 0.0f);
  });
  return {out, hp, wp};
}

}  // namespace

void direct_conv2d(const Conv2dParams& p, const float* x, const ConvWeights& w, const Conv2dEpilogue& ep, float* y) {
  const DirectConvKernel& kern = w.kernels().direct_conv;
  const Window2d& win = p.window;
  const int64_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const int64_t depth = cin * win.kernel_h * win.kernel_w;
  const int64_t blocks = ceil_div(cout, kern.nr), out_plane = p.out_h * p.out_w;
  const PaddedInput in = pad_input(p, x, kern.mr);
  const int64_t in_plane = in.height * in.width;

  // Images too narrow to fill a tile with one output row (7×7) get tiles of two rows.
  const int tile_rows = 2 * p.out_w <= kern.mr ? 2 : 1;
  const int64_t row_tiles = ceil_div(p.out_h, tile_rows);

  // A work item: `chunk` rows of tiles of one image for one block of NR channels — the whole image when there are
  // enough blocks to share out, so that the block's filters are read into one core's cache once for all of them.
  // Items run images innermost (a block's filters stay in cache from one image to the next), and each is a task: a
  // thread works through its own part of them in order (threadpool.cpp), and while one item computes, its tiles
  // bring in from memory the filters of the next item's block, so that streaming filters (megabytes per layer at
  // batch 1) overlaps the FMAs instead of stalling them. Items rather than runs of them are the tasks, so that a
  // thread done with its part takes over the rest of another's instead of waiting for a preempted one.
  const int threads = get_num_threads();
  const int64_t units = p.batch * p.groups * blocks;
  const int64_t chunk = units >= 4 * threads ? row_tiles : std::max<int64_t>(1, row_tiles / 8);
  const int64_t chunks = ceil_div(row_tiles, chunk);
  const int64_t items = units * chunks;
  const int64_t per_row = kern.mr / tile_rows;
  const int64_t block_floats = depth * kern.nr;
  auto block_of = [&](int64_t item) { return item / (chunks * p.batch); };  // g · blocks + channel block
  auto filters_of = [&](int64_t block) {
    return w.group(block / blocks).panels(0, depth, block % blocks * kern.nr, kern.nr, kern.nr, nullptr).data;
  };
  parallel_for(items, [&](int64_t item) {
    const int64_t ci = item % chunks, n = item / chunks % p.batch, block = block_of(item);
    const int64_t cb = block % blocks, g = block / blocks;
    const int64_t c0 = g * cout + cb * kern.nr;  // first output channel of the block
    DirectConvArgs args{};
    args.channels = cin;
    args.x_plane = in_plane;
    args.tap_row = win.dilation_h * in.width;
    args.tap_col = win.dilation_w;
    args.stride = win.stride_w;
    args.kernel_h = static_cast<int>(win.kernel_h);
    args.kernel_w = static_cast<int>(win.kernel_w);
    args.tile_rows = tile_rows;
    args.w = filters_of(block);
    args.y_plane = out_plane;
    args.y_row = p.out_w;
    args.n = static_cast<int>(std::min<int64_t>(kern.nr, cout - cb * kern.nr));
    args.bias = ep.bias ? ep.bias + c0 : nullptr;
    args.relu = ep.relu;
    // The next item's filters, when it has other ones: a slice of them per tile of this item.
    const bool next_block = item + 1 < items && block_of(item + 1) != block;
    const float* next_w = next_block ? filters_of(block + 1) : nullptr;
    const int64_t t0 = ci * chunk, t1 = std::min(row_tiles, (ci + 1) * chunk);
    const int64_t tiles = (t1 - t0) * ceil_div(p.out_w, per_row);
    const int64_t slice = round_up(ceil_div(block_floats, tiles), 16);
    int64_t tile = 0;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t oh = t * tile_rows;
      args.rows = static_cast<int>(std::min<int64_t>(tile_rows, p.out_h - oh));
      args.x_row = args.rows == 2 ? win.stride_h * in.width : 0;
      const float* row = in.data + (n * p.in_channels + g * cin) * in_plane + oh * win.stride_h * in.width;
      const int64_t out_offset = (n * p.out_channels + c0) * out_plane + oh * p.out_w;
      for (int64_t ow = 0; ow < p.out_w; ow += per_row, ++tile) {
        args.x = row + ow * win.stride_w;
        args.y = y + out_offset + ow;
        args.residual = ep.residual ? ep.residual + out_offset + ow : nullptr;
        args.cols = static_cast<int>(std::min<int64_t>(per_row, p.out_w - ow));
        const int64_t from = std::min(block_floats, tile * slice);
        args.prefetch = next_w ? next_w + from : nullptr;
        args.prefetch_floats = std::min(block_floats - from, slice);
        kern.ukernel(args);
      }
    }
  });
}

}  // namespace pycnn
