#pragma once
// The convolution input seen as the im2col matrix B (K = C·KH·KW rows, one column per output position),
// packed straight into NR-wide panels block by block: the full im2col matrix never exists.
#include <cstdint>

#include "pycnn/conv_params.h"
#include "pycnn/panels.h"

namespace pycnn {

class Im2colPanels final : public PanelSource {
 public:
  // `image` points at the first input channel of one group of one image; `channels` is the group's count.
  Im2colPanels(const float* image, int64_t channels, const Conv2dParams& p)
      : image_(image), channels_(channels), p_(p) {}
  Panels panels(int64_t k0, int64_t kc, int64_t x0, int64_t xc, int r, float* scratch) const override;

 private:
  const float* image_;
  int64_t channels_;
  const Conv2dParams& p_;
};

}  // namespace pycnn
