// The kernel tables, one per ISA, and the choice among them.
#include "pycnn/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace pycnn {
namespace {

// Blocking: deep K blocks (kc 512 and more, past a B panel that fits L1) — fewer passes over C, and each B panel
// serves mc / mr row tiles; wide column ranges (nc), so that A is packed once per range. (docs/kernel-rules.md)
// The few-rows kernels take all of K in one block: their A is a sliver, and the weights (B) of a fully connected
// layer at batch 1 then stream through once, panel after contiguous panel.
// The narrow kernels block like the main ones; where no narrower tile exists the main one is its own narrow one.
constexpr int64_t kWholeK = 65536;

constexpr KernelTable generic_kernels() {
  KernelTable t{};
  t.isa = Isa::generic;
  t.gemm.ukernel = f32_gemm_ukernel_4x8__generic;
  t.gemm.mr = 4;
  t.gemm.nr = 8;
  t.gemm.kc = 256;
  t.gemm.mc = 64;
  t.gemm.nc = 4096;
  t.gemm_few_rows = t.gemm;
  t.gemm_few_rows.kc = kWholeK;
  t.gemm_narrow = t.gemm;
  t.winograd_transforms.input_transform = f32_winograd_4x4_3x3_input__generic;
  t.winograd_transforms.output_transform = f32_winograd_4x4_3x3_output__generic;
  t.direct_conv.ukernel = f32_dconv_ukernel_4x8__generic;
  t.direct_conv.mr = 4;
  t.direct_conv.nr = 8;
  t.max_pool_pass = f32_maxpool_pass__generic;
  t.fma_peak_loop = f32_fma_peak__generic;
  t.bf16.gemm = t.gemm;
  t.bf16.gemm.ukernel = bf16_gemm_ukernel_4x8__generic;
  t.bf16.gemm.kc = 128;
  t.bf16.gemm_few_rows = t.bf16.gemm;
  t.bf16.gemm_few_rows.kc = kWholeK;
  t.bf16.pack_pairs = bf16_pack_pairs__generic;
  t.bf16.k_align = 1;
  t.bf16.path = "emulated";
  return t;
}
constexpr KernelTable kGeneric = generic_kernels();

#if defined(PYCNN_X86)
constexpr KernelTable avx2_kernels() {
  KernelTable t{};
  t.isa = Isa::avx2;
  t.gemm.ukernel = f32_gemm_ukernel_6x16__avx2_fma;
  t.gemm.mr = 6;
  t.gemm.nr = 16;
  t.gemm.kc = 512;
  t.gemm.mc = 72;
  t.gemm.nc = 4096;
  t.gemm_few_rows = t.gemm;
  t.gemm_few_rows.ukernel = f32_gemm_ukernel_2x16__avx2_fma;
  t.gemm_few_rows.mr = 2;
  t.gemm_few_rows.kc = kWholeK;
  t.gemm_narrow = t.gemm;
  t.winograd_transforms.input_transform = f32_winograd_4x4_3x3_input__avx2_fma;
  t.winograd_transforms.output_transform = f32_winograd_4x4_3x3_output__avx2_fma;
  t.direct_conv.ukernel = f32_dconv_ukernel_6x16__avx2_fma;
  t.direct_conv.mr = 6;
  t.direct_conv.nr = 16;
  t.max_pool_pass = f32_maxpool_pass__avx2_fma;
  t.fma_peak_loop = f32_fma_peak__avx2_fma;
  t.bf16.gemm = t.gemm;
  t.bf16.gemm.ukernel = bf16_gemm_ukernel_6x16__avx2_fma;
  t.bf16.gemm.kc = 256;
  t.bf16.gemm_few_rows = t.bf16.gemm;
  t.bf16.pack_pairs = bf16_pack_pairs__generic;
  t.bf16.k_align = 1;
  t.bf16.path = "emulated";
  return t;
}
constexpr KernelTable kAvx2 = avx2_kernels();

constexpr KernelTable avx512_kernels() {
  KernelTable t{};
  t.isa = Isa::avx512;
  t.gemm.ukernel = f32_gemm_ukernel_14x32__avx512f;
  t.gemm.mr = 14;
  t.gemm.nr = 32;
  t.gemm.kc = 1024;
  t.gemm.mc = 280;
  t.gemm.nc = 4096;
  t.gemm_few_rows = t.gemm;
  t.gemm_few_rows.ukernel = f32_gemm_ukernel_4x32__avx512f;
  t.gemm_few_rows.mr = 4;
  t.gemm_few_rows.kc = kWholeK;
  t.gemm_narrow = t.gemm;
  t.gemm_narrow.ukernel = f32_gemm_ukernel_14x16__avx512f;
  t.gemm_narrow.nr = 16;
  t.winograd_transforms.input_transform = f32_winograd_4x4_3x3_input__avx512f;
  t.winograd_transforms.output_transform = f32_winograd_4x4_3x3_output__avx512f;
  t.direct_conv.ukernel = f32_dconv_ukernel_14x32__avx512f;
  t.direct_conv.mr = 14;
  t.direct_conv.nr = 32;
  t.max_pool_pass = f32_maxpool_pass__avx512f;
  t.fma_peak_loop = f32_fma_peak__avx512f;
  t.bf16.gemm = t.gemm;
  t.bf16.gemm.ukernel = bf16_gemm_ukernel_14x32__avx512f;
  t.bf16.gemm.kc = 512;
  t.bf16.gemm_few_rows = t.bf16.gemm;
  t.bf16.pack_pairs = bf16_pack_pairs__generic;
  t.bf16.k_align = 1;
  t.bf16.path = "emulated";
  return t;
}
constexpr KernelTable kAvx512 = avx512_kernels();

// A pair of bf16 values per float32 lane: K blocks of 512 pairs hold what the float32 kernels' 1024 floats hold.
constexpr KernelTable avx512_bf16_kernels() {
  KernelTable t = avx512_kernels();
  t.isa = Isa::avx512_bf16;
  t.bf16.gemm.ukernel = bf16_gemm_ukernel_14x32__avx512bf16;
  t.bf16.gemm_few_rows = t.bf16.gemm;
  t.bf16.gemm_few_rows.ukernel = bf16_gemm_ukernel_4x32__avx512bf16;
  t.bf16.gemm_few_rows.mr = 4;
  t.bf16.gemm_few_rows.kc = kWholeK;
  t.bf16.pack_pairs = bf16_pack_pairs__avx512bf16;
  t.bf16.path = "avx512_bf16";
  return t;
}
constexpr KernelTable kAvx512Bf16 = avx512_bf16_kernels();

// Row blocks of 9 tiles of 32 rows: an A block of 288 rows × 512 pairs fills 0.6 MB of L2, like the float32 one.
constexpr KernelTable amx_kernels() {
  KernelTable t = avx512_bf16_kernels();
  t.isa = Isa::amx;
  t.bf16.gemm.ukernel = bf16_gemm_ukernel_32x32__amx;
  t.bf16.gemm.mr = 32;
  t.bf16.gemm.mc = 288;
  t.bf16.gemm.prepare = bf16_amx_configure_tiles;
  t.bf16.gemm_few_rows = t.bf16.gemm;
  t.bf16.gemm_few_rows.ukernel = bf16_gemm_ukernel_16x32__amx;
  t.bf16.gemm_few_rows.mr = 16;
  t.bf16.gemm_few_rows.kc = kWholeK;
  t.bf16.a_chunk = kAmxChunkPairs;
  t.bf16.k_align = kAmxChunkPairs;
  t.bf16.path = "amx";
  return t;
}
constexpr KernelTable kAmx = amx_kernels();
#endif

const KernelTable* table_of(Isa isa) {
  switch (isa) {
#if defined(PYCNN_X86)
    case Isa::amx:
      return &kAmx;
    case Isa::avx512_bf16:
      return &kAvx512Bf16;
    case Isa::avx512:
      return &kAvx512;
    case Isa::avx2:
      return &kAvx2;
#endif
    default:
      return &kGeneric;
  }
}

Isa min_isa(Isa a, Isa b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

std::atomic<const KernelTable*> g_active{nullptr};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::amx:
      return "amx";
    case Isa::avx512_bf16:
      return "avx512_bf16";
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "generic";
  }
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512, Isa::avx512_bf16, Isa::amx}) {
    if (name == isa_name(isa)) return isa;
  }
  throw std::invalid_argument("unknown ISA '" + name + "': expected one of generic, avx2, avx512, avx512_bf16, amx");
}

const KernelTable& kernels() {
  const KernelTable* t = g_active.load(std::memory_order_acquire);
  return t != nullptr ? *t : *table_of(cpu_isa());
}

const KernelTable& kernels_for(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(cpu_isa())) {
    throw std::invalid_argument(std::string("this CPU cannot run ") + isa_name(isa) + " kernels (best: " +
                                isa_name(cpu_isa()) + ")");
  }
  return *table_of(isa);
}

Isa set_isa_cap(Isa cap) {
  const KernelTable* t = table_of(min_isa(cap, cpu_isa()));
  g_active.store(t, std::memory_order_release);
  return t->isa;
}

void init_isa_cap_from_env() {
  const char* env = std::getenv("PYCNN_ISA");
  if (env == nullptr || *env == '\0') {
    set_isa_cap(Isa::amx);
    return;
  }
  try {
    set_isa_cap(parse_isa(env));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("PYCNN_ISA: ") + e.what());
  }
}

}  // namespace pycnn
