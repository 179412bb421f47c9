#pragma once
// Runtime CPU dispatch: which micro-kernels this process uses, chosen once from CPUID/XGETBV and capped
// by PYCNN_ISA (or by tests through set_isa_cap).
#include <cstdint>
#include <string>

#include "pycnn/bf16.h"
#include "pycnn/ukernel.h"
#include "pycnn/winograd.h"

namespace pycnn {

// Each level runs everything the one below it runs. avx512_bf16 adds bf16 multiply-adds (vdpbf16ps) to avx512's
// kernels, whose float32 kernels it shares; amx adds AMX tiles (tdpbf16ps) for bf16 products.
enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2, avx512_bf16 = 3, amx = 4 };

const char* isa_name(Isa isa);
// Parses "generic" | "avx2" | "avx512" | "avx512_bf16" | "amx"; throws std::invalid_argument naming the accepted values.
Isa parse_isa(const std::string& name);

// The best ISA that both the CPU and the operating system support (cpuinfo.cpp).
Isa cpu_isa();

// A GEMM micro-kernel with its register tile and the cache blocking that suits it (BLIS's names).
struct GemmKernel {
  GemmUkernelFn ukernel;  // computes one mr × nr tile of C per call
  int mr;                 // rows of the register tile: A is packed in panels mr rows wide
  int nr;                 // columns of the register tile: B is packed in panels nr columns wide
  int64_t kc;             // depth of a packed block: K is cut into blocks of kc
  int64_t mc;             // rows of a packed A block, kept in L2
  int64_t nc;             // widest column range one task packs
  // Readies the calling thread for ukernel, or null. The GEMM driver calls it on each thread before a task's tiles,
  // not once per thread for good: other code on the thread (oneDNN inside torch, say) may change what it set — AMX's
  // tile configuration.
  void (*prepare)();
};

// A direct-convolution micro-kernel: mr output positions × nr output channels per call.
struct DirectConvKernel {
  DirectConvUkernelFn ukernel;
  int mr;  // output positions per tile
  int nr;  // output channels per tile: the filters are packed in panels nr channels wide
};

// The bf16 GEMM of one ISA: its kernels multiply bf16 pairs (bf16.h) and accumulate in float32.
struct Bf16Kernels {
  GemmKernel gemm;           // the main tile; filters prepacked as A are packed for it; kc and mc count pairs
  GemmKernel gemm_few_rows;  // same nr, fewer rows
  PackPairsFn pack_pairs;    // rounds float32 panels to pair panels
  int a_chunk;               // 0: A panels k-major like B's; kAmxChunkPairs: A in AMX chunks (bf16.h)
  int k_align;               // products' depth in pairs is padded with zeros to a multiple of this
  const char* path;          // what does the multiply-adds: "amx", "avx512_bf16", or "emulated" in float32 FMAs
};

// Every kernel of one ISA. Filled once per ISA in dispatch.cpp, field by field.
struct KernelTable {
  Isa isa;
  GemmKernel gemm;           // the main tile; filters prepacked as A are packed for it
  GemmKernel gemm_few_rows;  // same nr, fewer rows: for products whose M is below gemm.mr (linear at batch 1)
  GemmKernel gemm_narrow;    // same mr, nr at most gemm's: for products with few columns (gemm_kernel_for_columns)
  WinogradTransforms winograd_transforms;  // F(4×4, 3×3) input and output tile transforms
  DirectConvKernel direct_conv;
  MaxPassFn max_pool_pass;  // one separable pass of max pooling (pool2d.cpp)
  FmaPeakFn fma_peak_loop;  // independent FMAs: the yardstick for "% of peak"
  Bf16Kernels bf16;
};

// The table in use: the best ISA not above the cap.
const KernelTable& kernels();
// The table of one ISA; throws std::invalid_argument if this CPU cannot run it.
const KernelTable& kernels_for(Isa isa);

// Caps the ISA in use (kernels() becomes the best ISA ≤ cap). Returns the ISA now in use.
Isa set_isa_cap(Isa cap);
// Reads PYCNN_ISA once at import; throws std::invalid_argument for an unknown value.
void init_isa_cap_from_env();

}  // namespace pycnn
