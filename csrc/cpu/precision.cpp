#include <stdexcept>
#include <string>

#include "pycnn/bf16.h"

namespace pycnn {

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

Precision parse_precision(const char* name) {
  const std::string text(name);
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    if (text == precision_name(p)) return p;
  }
  throw std::invalid_argument("precision must be 'fp32' or 'bf16', got '" + text + "'");
}

}  // namespace pycnn
