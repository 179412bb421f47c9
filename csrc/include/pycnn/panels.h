#pragma once
// Packed panels: the operand layout the GEMM micro-kernels read.
//
// Both GEMM operands are seen as an X×K matrix whose X axis is cut into panels R wide (A: X = rows of C,
// R = MR; B: X = columns of C, R = NR). Inside a panel, element (x, k) sits at k*R + (x mod R), and the
// columns past the matrix edge are zero. A PanelSource produces the panels of any block on demand:
// a strided view packs by copying, the convolution input packs by im2col (im2col.h), and a PackedPanels
// hands out panels packed once up front (weights), and Bf16PairPanels rounds another source's panels to bf16 pairs.
#include <cstdint>
#include <memory>
#include <utility>

#include "pycnn/aligned_buffer.h"
#include "pycnn/bf16.h"

namespace pycnn {

struct Panels {
  const float* data;  // first panel
  int64_t stride;     // floats from one panel to the next
};

class PanelSource {
 public:
  virtual ~PanelSource() = default;
  // The panels covering [x0, x0 + xc) × [k0, k0 + kc); x0 is a multiple of r. Packs them into `scratch`
  // (room for ceil(xc / r) * r * kc floats) unless they already exist packed.
  virtual Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const = 0;
  // False when the panels already exist packed and `scratch` goes unused.
  virtual bool packs() const { return true; }
  // Whether whole panels (r columns that all exist) can be read where they lie, row k of the panel at x0 starting
  // at in_place(k0, x0) + (k - k0) * row_stride(): a matrix whose X axis is contiguous. Such panels need no
  // packing; a GEMM reads them as its B operand (its kernels take B's row stride; A is always packed).
  virtual bool readable_in_place() const { return false; }
  virtual const float* in_place(int64_t /*k0*/, int64_t /*x0*/) const { return nullptr; }
  virtual int64_t row_stride() const { return 0; }
};

// A dense matrix viewed as X×K: element (x, k) at data[x * x_stride + k * k_stride].
class StridedMatrix final : public PanelSource {
 public:
  StridedMatrix(const float* data, int64_t rows_x, int64_t x_stride, int64_t k_stride)
      : data_(data), rows_x_(rows_x), x_stride_(x_stride), k_stride_(k_stride) {}
  Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const override;
  bool readable_in_place() const override { return x_stride_ == 1; }
  const float* in_place(int64_t k0, int64_t x0) const override { return data_ + x0 + k0 * k_stride_; }
  int64_t row_stride() const override { return k_stride_; }

 private:
  const float* data_;
  int64_t rows_x_;
  int64_t x_stride_, k_stride_;
};

// Panels that already exist packed, r wide and depth_k deep, one after another in memory owned elsewhere.
class PackedPanelsView final : public PanelSource {
 public:
  PackedPanelsView(const float* data, int64_t depth_k, int r) : data_(data), depth_k_(depth_k), r_(r) {}
  Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const override;
  bool packs() const override { return false; }

 private:
  const float* data_;
  int64_t depth_k_;
  int r_;
};

// Every panel of an X×K source, packed once (weights reused across calls).
class PackedPanels final : public PanelSource {
 public:
  PackedPanels(const PanelSource& source, int64_t rows_x, int64_t depth_k, int r);
  Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const override {
    return view_.panels(k0, kc, x0, xc, r, scratch);
  }
  bool packs() const override { return false; }

 private:
  AlignedBuffer packed_;
  PackedPanelsView view_;
};

// Another source's panels as bf16 pair panels (bf16.h), k0 and kc counting pairs: pairs past the source's depth
// (ceil(depth_k / 2)) are zero. Each panel is packed in float32 by the source, then rounded by `pack` — and, with
// `chunk` (kAmxChunkPairs), laid out in AMX chunks, kc then being a multiple of it.
class Bf16PairPanels final : public PanelSource {
 public:
  Bf16PairPanels(std::unique_ptr<PanelSource> source, int64_t depth_k, PackPairsFn pack, int chunk)
      : source_(std::move(source)), depth_k_(depth_k), pack_(pack), chunk_(chunk) {}
  Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const override;

 private:
  std::unique_ptr<PanelSource> source_;
  int64_t depth_k_;
  PackPairsFn pack_;
  int chunk_;
};

}  // namespace pycnn
