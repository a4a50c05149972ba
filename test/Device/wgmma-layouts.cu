// The hardware contract behind lib/Conversion/AttentionToGpu/Wgmma.{h,cpp}:
// wgmma.mma_async with A in registers (bf16, mma.sync's fragment layout) and
// B in shared memory, read through matrix descriptors, in the two tile
// layouts the compiler stages (the 128-byte swizzle for rows of 128 bytes,
// core matrices without swizzle for narrower rows), K-major (S = A X^T) and
// MN-major (A X, trans-b). A hand-written reference, independent of the
// compiler: the layouts, descriptor fields and k-step offsets are written
// here from the PTX ISA and checked against a CPU product, exactly (the
// inputs are multiples of 1/8, so every sum is exact in f32).
//
//   nvcc -O2 -gencode arch=compute_90a,code=sm_90a -o wgmma-layouts \
//        test/Device/wgmma-layouts.cu && ./wgmma-layouts
//
// scripts/gpu-run.sh runs it as its `probe` step. Exit status 1 if any case
// is wrong; the last two cases are the swapped MN-major strides, which must
// be wrong (so the probe can tell the two assignments apart).
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// acc (m64 x N f32, this thread's N/2) += A (4 regs) . B (descriptor).
template <int N, int TRANS> struct Wgmma;

template <int TRANS> struct Wgmma<64, TRANS> {
  static __device__ void run(float (&d)[32], const uint32_t (&a)[4],
                             uint64_t desc) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %38, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,"
        "%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, "
        "{%32,%33,%34,%35}, %36, p, 1, 1, %37;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]),
          "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]),
          "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),
          "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
          "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
          "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
          "+f"(d[30]), "+f"(d[31])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(TRANS),
          "r"(1));
  }
};

template <int TRANS> struct Wgmma<128, TRANS> {
  static __device__ void run(float (&d)[64], const uint32_t (&a)[4],
                             uint64_t desc) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %70, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,"
        "%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,"
        "%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,"
        "%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, "
        "{%64,%65,%66,%67}, %68, p, 1, 1, %69;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]),
          "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]),
          "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),
          "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
          "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
          "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]),
          "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
          "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]),
          "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]),
          "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]),
          "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]),
          "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(TRANS),
          "r"(1));
  }
};

// One warpgroup: D (64 x N) = A (64 x K, row-major bf16) . B, with B staged
// as `image` in shared memory and read with descs[k16 step] (address field
// added here).
template <int N, int TRANS>
__global__ void product(const __nv_bfloat16 *A, int K, const uint16_t *image,
                        int imageElems, const uint64_t *descs, float *D) {
  __shared__ __align__(1024) uint16_t tile[128 * 128];
  int tid = threadIdx.x;
  for (int i = tid; i < imageElems; i += 128)
    tile[i] = image[i];
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  int w = tid / 32, lane = tid % 32, g = lane / 4, t = lane % 4;
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i)
    d[i] = 0.f;
  uint32_t base = static_cast<uint32_t>(__cvta_generic_to_shared(tile));
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  for (int s = 0; s < K / 16; ++s) {
    // mma.sync's m16n8k16 A fragment, warp w holding rows 16w..16w+15.
    uint32_t a[4];
    for (int k = 0; k < 4; ++k) {
      int row = 16 * w + g + 8 * (k % 2), col = 16 * s + 2 * t + 8 * (k / 2);
      __nv_bfloat162 p =
          __halves2bfloat162(A[row * K + col], A[row * K + col + 1]);
      a[k] = *reinterpret_cast<uint32_t *>(&p);
    }
    Wgmma<N, TRANS>::run(d, a, descs[s] + ((base >> 4) & 0x3FFF));
  }
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
  // mma.sync's m16n8 accumulator order, eight columns at a time.
  for (int i = 0; i < N / 2; ++i)
    D[(16 * w + g + 8 * ((i / 2) % 2)) * N + 8 * (i / 4) + 2 * t + i % 2] =
        d[i];
}

uint16_t toBf16(float x) {
  __nv_bfloat16 h = __float2bfloat16(x);
  return *reinterpret_cast<uint16_t *>(&h);
}
float fromBf16(uint16_t v) {
  return __bfloat162float(*reinterpret_cast<__nv_bfloat16 *>(&v));
}

// Element offset of (row, col) of a rows x cols tile, as Wgmma.h lays it.
int swizzled(int row, int col, int rows) {
  int c = (col % 64) / 8;
  return (col / 64) * rows * 64 + row * 64 + ((c ^ (row % 8)) * 8) + col % 8;
}
int coreMatrices(int row, int col, int cols) {
  return ((row / 8) * (cols / 8) + col / 8) * 64 + (row % 8) * 8 + col % 8;
}
uint64_t fields(uint32_t leading, uint32_t stride, uint64_t swizzle) {
  return (uint64_t((leading >> 4) & 0x3FFF) << 16) |
         (uint64_t((stride >> 4) & 0x3FFF) << 32) | (swizzle << 62);
}

struct Case {
  const char *name;
  bool swizzle, kMajor, swapped; // swapped: MN-major strides exchanged
  int K;                         // the product's K (multiple of 16)
};

template <int N> bool run(const Case &c) {
  int K = c.K;
  std::vector<uint16_t> a(64 * K), b(K * N), image(K * N);
  for (auto &x : a)
    x = toBf16((std::rand() % 17 - 8) / 8.f);
  for (auto &x : b)
    x = toBf16((std::rand() % 17 - 8) / 8.f);
  std::vector<uint64_t> descs(K / 16);
  // The staged tile: X = B^T (N rows of K) for K-major, X = B (K rows of N)
  // for MN-major.
  int rows = c.kMajor ? N : K, cols = c.kMajor ? K : N;
  for (int r = 0; r < rows; ++r)
    for (int col = 0; col < cols; ++col) {
      int k = c.kMajor ? col : r, n = c.kMajor ? r : col;
      image[c.swizzle ? swizzled(r, col, rows) : coreMatrices(r, col, cols)] =
          b[k * N + n];
    }
  for (int s = 0; s < K / 16; ++s) {
    uint64_t bits, offset;
    if (c.swizzle && c.kMajor) {
      bits = fields(16, 1024, 1);
      offset = (s / 4) * rows * 128 + (s % 4) * 32;
    } else if (c.swizzle) {
      bits = c.swapped ? fields(1024, rows * 128, 1)
                       : fields(rows * 128, 1024, 1);
      offset = s * 16 * 128;
    } else if (c.kMajor) {
      bits = fields(128, cols * 16, 0);
      offset = s * 256;
    } else {
      bits = c.swapped ? fields(128, cols * 16, 0) : fields(cols * 16, 128, 0);
      offset = s * 2 * cols * 16;
    }
    descs[s] = bits + (offset >> 4);
  }
  __nv_bfloat16 *dA;
  uint16_t *dImage;
  uint64_t *dDescs;
  float *dD;
  cudaMalloc(&dA, a.size() * 2);
  cudaMalloc(&dImage, image.size() * 2);
  cudaMalloc(&dDescs, descs.size() * 8);
  cudaMalloc(&dD, 64 * N * 4);
  cudaMemcpy(dA, a.data(), a.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dImage, image.data(), image.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(dDescs, descs.data(), descs.size() * 8, cudaMemcpyHostToDevice);
  cudaMemset(dD, 0, 64 * N * 4);
  if (c.kMajor)
    product<N, 0><<<1, 128>>>(dA, K, dImage, int(image.size()), dDescs, dD);
  else
    product<N, 1><<<1, 128>>>(dA, K, dImage, int(image.size()), dDescs, dD);
  cudaError_t e = cudaDeviceSynchronize();
  std::vector<float> out(64 * N);
  cudaMemcpy(out.data(), dD, out.size() * 4, cudaMemcpyDeviceToHost);
  double err = 0;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < N; ++j) {
      double ref = 0;
      for (int k = 0; k < K; ++k)
        ref += fromBf16(a[i * K + k]) * fromBf16(b[k * N + j]);
      err = std::fmax(err, std::fabs(out[i * N + j] - ref));
    }
  cudaFree(dA);
  cudaFree(dImage);
  cudaFree(dDescs);
  cudaFree(dD);
  bool exact = e == cudaSuccess && err == 0;
  std::printf("%-46s n%-3d k%-3d %s, max abs error %g\n", c.name, N, K,
              cudaGetErrorString(e), err);
  return exact;
}

} // namespace

int main() {
  int device = 0, major = 0, minor = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (major != 9 || minor != 0) {
    std::printf("wgmma-layouts: needs an sm_90 GPU (found sm_%d%d); skipped\n",
                major, minor);
    return 0;
  }
  std::srand(1);
  bool ok = true;
  ok &= run<64>({"128-byte swizzle, K-major (d = 64)", true, true, false, 64});
  ok &= run<64>({"128-byte swizzle, K-major (d = 128, two atoms)", true, true,
                 false, 128});
  ok &= run<64>({"128-byte swizzle, MN-major (d = 64)", true, false, false, 64});
  ok &= run<128>({"128-byte swizzle, MN-major (d = 128, two atoms)", true,
                  false, false, 64});
  ok &= run<64>({"core matrices, K-major (d = 32)", false, true, false, 32});
  ok &= run<64>({"core matrices, K-major (d = 64)", false, true, false, 64});
  ok &= run<64>({"core matrices, MN-major (N = 64)", false, false, false, 32});
  // The other assignment of the MN-major strides must compute wrong (or
  // fault; then it runs last, as a fault ends the context).
  bool swapped = run<128>({"swapped MN-major strides (must be wrong)", true,
                           false, true, 64});
  ok &= !swapped;
  std::printf("wgmma-layouts: %s\n", ok ? "all layouts exact" : "FAILED");
  return ok ? 0 : 1;
}
