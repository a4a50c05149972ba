//===- Passes.td - Conversions out of the st dialect -------*- tablegen -*-===//

#ifndef ST_CONVERSION_PASSES_TD
#define ST_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertStToLinalg : Pass<"convert-st-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower st model ops (not attention) to linalg/tensor/arith/math";
  let description = [{
    Lowers the element-wise, normalisation, embedding, linear, dropout and
    loss ops of the st dialect to upstream tensor-level ops (linalg.generic,
    linalg.matmul, tensor, arith, math), so that one-shot bufferization and
    the upstream CPU pipeline can take them the rest of the way.
    `st.attention` and its lowered forms are left alone (they have their own
    structure-aware lowering).
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def ConvertStAttentionToLoops
    : Pass<"convert-st-attention-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower attention parts to tiled online-softmax loop nests";
  let description = [{
    The tiled form of attention. Each `st.attention_part` becomes an
    `scf.parallel` over (batch x head, query tile) whose rows walk only the
    key tiles the part's structure can reach, clipped per row to the
    factor's interval (band, own block, shifted causal, compact summary
    prefix), with a two-pass online softmax per key tile and a
    `vector<D>` accumulator. `st.attention_merge` becomes a row loop that
    combines the parts by log-sum-exp. Each `st.attention_part_grad` becomes
    two nests without atomics: dq parallel over query tiles, each row
    walking its keys, and dk/dv parallel over key tiles, each key walking
    the rows that attend it (the transposed structure); both recompute the
    probabilities from the forward's log-sum-exp. Results come back as
    tensors through `bufferization.to_tensor`, so the rest of the function
    bufferizes normally.
  }];
  let options = [
    Option<"blockQ", "block-q", "int64_t", /*default=*/"64",
           "Query rows per parallel tile">,
    Option<"blockK", "block-k", "int64_t", /*default=*/"64",
           "Keys per tile of the online softmax (and per parallel tile of "
           "the dk/dv gradient nest)">,
    Option<"countWork", "count-work", "bool", /*default=*/"false",
           "Add every visited (row, key) pair to the global counter "
           "@st_attention_work (for tests)">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect", "::mlir::math::MathDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect"
  ];
}

def ConvertStAttentionRowToLoops
    : Pass<"convert-st-attention-row-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower one-row attention against a key/value cache to loops";
  let description = [{
    The decoding form of attention. Each `st.attention_row` becomes, per
    group of heads that share a pattern, an `scf.parallel` over (batch,
    head) whose body walks exactly the keys of row `position` of every
    disjoint part of the head's pattern, as an arithmetic progression of
    cache rows: the row's interval for bands, own blocks and dense causal
    attention; `position mod L` in steps of L for a column of stride L; the
    summary positions of a summary factor, found through the compact index
    and read in place from the full-sequence cache. Only parts that no
    structural rule made disjoint test exclusion masks. All parts of a head
    update one online softmax state (max, sum, `vector<D>` accumulator)
    with one `exp` per key; the parts are disjoint, so no merge is needed.
    The result comes back through `bufferization.to_tensor`.
  }];
  let options = [
    Option<"countWork", "count-work", "bool", /*default=*/"false",
           "Add every visited (row, key) pair to the global counter "
           "@st_attention_work (for tests)">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect", "::mlir::math::MathDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect"
  ];
}

def StSplitEmptyTensors : Pass<"st-split-empty-tensors"> {
  let summary = "Give each use of a tensor.empty its own tensor.empty";
  let description = [{
    CSE merges identical `tensor.empty` ops, so one empty tensor becomes
    the destination of every same-shaped op of a function (583 linalg ops
    of one training step at 32 layers of models/cifar10.mlir). One-Shot
    Bufferize then sees all of them in one alias set and checks each
    write against the others: its time grew about tenfold per doubling of
    the layers (165 s of 325 at 128 layers). An empty tensor has no
    contents to share, so each use gets a copy of the op, created where
    the original is (its dynamic sizes dominate every use); each then
    bufferizes to its own allocation, as the conflicts made most of them
    anyway. Run it right before bufferization, after the last CSE.
  }];
}

def StOutlineParallelLoops
    : Pass<"st-outline-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Each outermost scf.parallel of a function becomes a call";
  let description = [{
    Translating `omp.parallel` to LLVM IR outlines each region with LLVM's
    CodeExtractor, which first scans the whole enclosing function: time
    quadratic in a function's parallel loops. A training step holds every
    layer's loops, and at 128 layers (models/cifar10.mlir) the translation
    had not finished after 18 minutes. This pass moves each outermost
    `scf.parallel` of a `func.func` into its own private function
    (`<function>_parallel_<i>`, the values it uses from outside as
    arguments) and calls it, so that each region is extracted from a small
    function. Run it before `convert-scf-to-openmp`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect"];
}

def StCopiesToLinalg : Pass<"st-copies-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    Bufferization emits `memref.copy`, which the LLVM lowering turns into a
    call to the `memrefCopy` helper of MLIR's C runner library. Rewriting
    copies as `linalg.copy` lets them become plain loops, so compiled
    programs need no runtime library besides libc, libm and OpenMP.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def StLinalgToBlas : Pass<"st-linalg-to-blas", "::mlir::ModuleOp"> {
  let summary = "Bufferized f32 matrix products become BLAS calls";
  let description = [{
    Dense GEMMs may be library calls. Every 2-D f32 contraction on buffers
    (`linalg.matmul` and its transposed forms) becomes a call to
    `st_blas_sgemm(transA, transB, A, B, C)` (C interface), which the
    runtime implements with the system BLAS, accumulating into C.

    With `row-blocks` = P > 1, the rows of C (and the matching rows of A)
    are split into at most P blocks of at least `min-block-rows` rows, and
    the calls on the blocks form an `scf.parallel` loop: the program's
    OpenMP threads run the GEMMs too (the runtime's BLAS computes on the
    calling thread), so that no second thread pool competes with OpenMP's
    for the cores. Every element of C is still computed by one call with
    the whole reduction, so the split does not change results.
  }];
  let options = [
    Option<"rowBlocks", "row-blocks", "int64_t", /*default=*/"1",
           "Split each product into at most this many row blocks run in "
           "parallel (1: one call)">,
    Option<"minBlockRows", "min-block-rows", "int64_t", /*default=*/"32",
           "Fewest rows of C per block">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def StLinalgToCpuLoops : Pass<"st-linalg-to-cpu-loops"> {
  let summary = "Bufferized linalg ops become loops, parallel where it pays";
  let description = [{
    Like `convert-linalg-to-loops`, but a linalg op that is not itself inside
    a loop gets its leading parallel dimensions as one `scf.parallel` (which
    `convert-scf-to-openmp` spreads over the cores), as long as its
    iteration space has at least `min-parallel-work` points. The innermost
    dimension stays a sequential `scf.for`, so that LLVM can vectorise it;
    reduction dimensions stay sequential and in order, so every result is
    computed by one thread in the same order as before (bit-for-bit the
    same on any number of threads). Ops inside loops (the scatter-adds of
    the embedding gradients, the attention kernels' own loops) and ops whose
    outermost dimension is a reduction get sequential loops only: a
    parallel region per iteration of an enclosing loop costs more than it
    saves.
  }];
  let options = [
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"8192",
           "Smallest static iteration space (dynamic sizes count as 1) that "
           "gets a parallel loop">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect"];
}

def StApproximateMath : Pass<"st-approximate-math"> {
  let summary = "f32 exp and erf as inline polynomials instead of libm calls";
  let description = [{
    Rewrites f32 `math.exp` and `math.erf` (scalars and vectors) with MLIR's
    polynomial approximations (exp: Cephes range reduction and a degree-6
    polynomial, relative error below 2^-22.5 for normal results, results
    below 2^-126 flushed to zero; erf: rational approximations on three
    intervals, absolute error about 2.5e-7). Unlike calls to libm's
    `expf`/`erff`, they are plain arithmetic that LLVM can inline and
    vectorise in the softmax, loss and GELU loops.
  }];
  let dependentDialects = ["::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

def ConvertStAttentionToGpu
    : Pass<"convert-st-attention-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower st.attention to block-sparse tensor-core GPU kernels";
  let description = [{
    For every `st.attention` (bf16 or f16, static head dimension; batch,
    heads and length may be dynamic) creates a `gpu.module` of kernels: the
    forward (O and log-sum-exp) and the backward (delta = rowsum(dO * O),
    dQ, dK/dV recomputing P from the log-sum-exp). Each disjoint part of the
    layout is walked in its view (identity, one residue class of a strided
    column, or the compact summary positions), so only the pattern's tiles
    are visited; parts that share a view share a kernel and one online
    softmax. The launch schedule (kernel order, grid as expressions of N, B,
    H, arguments, scratch) is the module attribute `st.gpu_manifest`, the
    JSON of docs/gpu-kernel-abi.md. Kernels use warp-level
    `nvvm.mma.sync` (m16n8k16) with f32 accumulation, or at the head dims
    of `wgmma-head-dims` Hopper's warpgroup MMA (the four warps of a block
    are one warpgroup).
  }];
  let options = [
    Option<"prefix", "prefix", "std::string", /*default=*/"\"st_attn_\"",
           "Prefix of the gpu.module names (followed by the function name "
           "when the module holds one attention, else by its index)">,
    ListOption<"wgmmaHeadDims", "wgmma-head-dims", "int64_t",
               "Head dims whose bf16/f16 products are Hopper warpgroup MMA "
               "(wgmma.mma_async, sm_90a PTX; docs/gpu.md); the others, and "
               "f32 (tf32), use mma.sync">,
    Option<"wgmmaKeyTile", "wgmma-key-tile", "int64_t", /*default=*/"64",
           "Keys (queries, for dK/dV) per staged tile of the warpgroup-MMA "
           "kernels, 64 or 128, where the score accumulators (and the "
           "tiles' shared memory) allow it">,
    Option<"forwardWarpgroups", "forward-warpgroups", "int64_t",
           /*default=*/"1",
           "Warpgroups a block of the warpgroup-MMA forward kernels, 1 or "
           "2: two take 128 query rows and stage each key tile once for "
           "both (half the L2 traffic of the key tiles)">,
    Option<"forwardProducer", "forward-producer", "int64_t",
           /*default=*/"1",
           "The warpgroup-MMA forward kernels with a producer warpgroup "
           "(blocks of 128 query rows in two consumer warpgroups, a "
           "producer warpgroup copying 128-key tiles of K and V into "
           "mbarrier-tracked stages): 0 never, 1 where it pays (d >= 128 "
           "over a long walk: fixed's summaries), 2 always">,
    Option<"splitForwardMinN", "split-forward-min-n", "int64_t",
           /*default=*/"16384",
           "With forward-producer=1: the layout's forward also carries its "
           "kernel without the split, launched below this sequence length "
           "(the manifest gates both grids on N), where the split's walks "
           "are too short to pay; 0: the split at every N">,
    Option<"dqProducer", "dq-producer", "int64_t", /*default=*/"1",
           "The warpgroup-MMA dQ kernels as the producer forward (blocks "
           "of 128 query rows in two consumer warpgroups, a producer "
           "warpgroup copying K and V into mbarrier-tracked stages): 0 "
           "never, 1 where it pays (d >= 128 over a long walk: fixed's "
           "summaries), 2 always">,
    Option<"dkvProducer", "dkv-producer", "int64_t", /*default=*/"0",
           "The warpgroup-MMA dK/dV kernels with a producer warpgroup "
           "(blocks of 128 keys in two consumer warpgroups, a producer "
           "warpgroup copying the query tiles: Q, dO, lse2 and delta into "
           "mbarrier-tracked stages): 0 never, 1 where it pays (d >= 128 "
           "over a long walk: fixed's summaries), 2 always">,
    Option<"dqOwnBlockDkv", "dq-own-block-dkv", "bool", /*default=*/"false",
           "Where the dQ kernel has the producer split and the first dK/dV "
           "kernel's parts are blocks inside its 128 query rows (fixed's "
           "own block), the dQ kernel also computes their dK and dV from "
           "the tiles it holds (its Q and dO, the block's K and V walked "
           "last), and that dK/dV kernel is not emitted (exact; slower "
           "on the H100 so far: docs/gpu.md)">,
    Option<"pipelinedDq", "pipelined-dq", "bool", /*default=*/"true",
           "Where dQ has the producer split: each consumer issues a tile's "
           "update dQ += "
           "dS K with the next tile's score products and computes that "
           "tile's P and dS while they run">,
    Option<"forwardPingPong", "forward-ping-pong", "bool",
           /*default=*/"false",
           "With forward-producer and pipelined-forward: the two consumer "
           "warpgroups take turns at issuing their products (named "
           "barriers), so that one's softmax overlaps the other's "
           "products">,
    Option<"pipelinedForward", "pipelined-forward", "bool",
           /*default=*/"false",
           "The warpgroup-MMA forward kernels keep two tiles' products in "
           "flight (S of tile j with the P V update of tile j - 1) and "
           "compute a tile's softmax while the update runs">,
    Option<"classStats", "class-stats", "bool", /*default=*/"true",
           "Where the query rows are walked in residue classes of one "
           "stride (strided columns), the dK/dV kernels stage lse2 and "
           "delta from class-major copies that the dQ kernel over that "
           "view writes (contiguous rows instead of one sector a row)">,
    Option<"walkStart", "walk-start", "bool", /*default=*/"true",
           "A forward kernel that continues a chain (o_acc, its rows' "
           "lse) and the first dQ kernel (delta's rows of O and dO) issue "
           "their walk's first copies before they load those values, so "
           "that both are in flight together (KernelEmitter::startWalk)">,
    Option<"serpentineHeads", "serpentine-heads", "bool",
           /*default=*/"true",
           "The kernels of a chain alternate the order of their blocks' "
           "(batch, head) pairs, so that each starts on the heads that "
           "the one before it touched last (still in L2)">,
    Option<"headGroups", "head-groups", "bool", /*default=*/"false",
           "Blocks take their (tile, head) pairs tile-major within groups "
           "of heads just large enough to fill the GPU (as many tiles as "
           "blocks run at once), instead of head after head, so that the "
           "long walks of every head start early and the short ones end "
           "the launch (KernelEmitter::groupHeads). Measured slower on an "
           "H100 at n <= 16384 (docs/performance.md, session 17)">,
    Option<"dependentLaunch", "dependent-launch", "bool", /*default=*/"true",
           "Kernels end their prologue with griddepcontrol (sm_90 and "
           "later) and their launches say early_launch, so the runtime "
           "may start each one while the kernel before it finishes "
           "(programmatic dependent launch; docs/gpu-kernel-abi.md)">,
    Option<"spanForward", "span-forward", "int64_t", /*default=*/"0",
           "Where the forward is a chain of a band kernel and a residue-"
           "column kernel (strided), 0 keeps the two kernels; a lag of S > "
           "0 spans runs both views in one kernel whose blocks take band "
           "and column tiles by ticket, the column tiles of a span S spans "
           "after its band tiles, so that the chain is read from L2 "
           "(SpanOrder.cpp)">,
    Option<"spanDq", "span-dq", "int64_t", /*default=*/"0",
           "As span-forward, for the dQ kernels (SpanOrder.cpp)">,
    Option<"spanDkv", "span-dkv", "int64_t", /*default=*/"0",
           "As span-forward, for the dK/dV kernels of the band keys and the "
           "key residue classes (SpanOrder.cpp)">,
    Option<"mixedDkv", "mixed-dkv", "bool", /*default=*/"false",
           "Where the dK/dV pass is fixed's chain of an own-block kernel "
           "(bound by DRAM) and a summary kernel (bound by the tensor "
           "cores), one kernel whose blocks take own-block and summary "
           "tiles by ticket, mixed in each head, so that the two run side "
           "by side (SpanOrder.cpp, \"Mixed\"); it keeps the chain, so it "
           "takes precedence over whole-summary-keys. Measured no faster "
           "timed back to back on an H100 at d = 128, slower at d = 64 "
           "(docs/performance.md, session 18)">,
    Option<"wholeSummaryKeys", "whole-summary-keys", "bool",
           /*default=*/"true",
           "Where the dK/dV pass is fixed's chain of an own-block kernel and "
           "a summary kernel: the summary kernel takes each summary key's "
           "whole column (its own block's rows too) and the own-block "
           "kernel leaves the summary keys out, so that no chain joins "
           "them; the summary kernel runs after dQ on the first stream and "
           "the own-block kernel on the second, its short tiles filling "
           "the summary kernel's tail. Fixed's fwd+bwd 0.933-0.989 of the "
           "chain's on an H100 (docs/performance.md, session 18)">,
    Option<"bandBackward", "band-backward", "int64_t", /*default=*/"0",
           "S > 0: where a head group's first dQ and dK/dV kernels are a "
           "band part's (identity views, a bounded window: strided's band, "
           "local) with warpgroup MMA, one kernel computes both (and delta "
           "and lse2): a block takes S key tiles, walks them from the last "
           "with dK, dV in registers and carries the dQ of the query tiles "
           "they meet in shared memory (BandBackward.cpp, "
           "emitBandBackward); 5 products a pair instead of 7, and Q, K, V "
           "and dO read once instead of twice (docs/gpu.md, \"The band's "
           "backward as one kernel\"). Exact, but measured slower on an "
           "H100 (fwd+bwd 1.04-1.06x at d = 64, 1.19-1.22x at d = 128 "
           "with f16 carries for two blocks an SM; docs/performance.md, "
           "session 22). 0: off">,
    Option<"pairedBackward", "paired-backward", "bool", /*default=*/"true",
           "Where the last dQ kernel and the last dK/dV kernel walk one "
           "residue part (strided's columns), one kernel whose blocks "
           "alternate a dQ tile and a dK/dV tile of the same class, so that "
           "the class's Q, K, V and dO are read from DRAM once for both "
           "instead of once a kernel; the band's dQ kernel then writes the "
           "class-major statistics (class-stats). H100, strided fwd+bwd "
           "against off (docs/performance.md, session 24): 0.95-0.96 of the "
           "time at n = 4096 and 16384, the same at 65536. (The band's "
           "first dQ and dK/dV as such a pair, with waits on flags, was "
           "1.03-1.08 of the time and was removed in session 25.)">,
    Option<"discardChain", "discard-chain", "bool", /*default=*/"true",
           "With span-forward, span-dq or span-dkv: the column tiles "
           "discard the chain rows' L2 lines once read "
           "(discard.global.L2), so that they are never written back to "
           "DRAM">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::vector::VectorDialect",
    "::mlir::math::MathDialect", "::mlir::arith::ArithDialect"
  ];
}

def StWriteGpuLibrary : Pass<"st-write-gpu-library", "::mlir::ModuleOp"> {
  let summary = "Write compiled GPU kernels and their manifest to a folder";
  let description = [{
    After `gpu-module-to-binary`: writes every `gpu.binary` named by the
    module's `st.gpu_manifest` as `<dir>/<name>.ptx` or `.cubin`, and
    `<dir>/manifest.json`, the kernel library the CUDA runtime loads.
  }];
  let options = [
    Option<"dir", "dir", "std::string", /*default=*/"\"st-kernels\"",
           "Output folder (created if missing)">
  ];
}

#endif // ST_CONVERSION_PASSES_TD
