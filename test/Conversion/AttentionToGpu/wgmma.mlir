// --convert-st-attention-to-gpu="wgmma-head-dims=128,256": bf16/f16
// products at those head dims as Hopper warpgroup MMA, the staged operands
// read from shared memory through matrix descriptors; other head dims, and
// f32, keep mma.sync. --st-gpu-kernels lists 64 and 128 by default with
// chip=sm_90a, none with sm_90.
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=128,256" -split-input-file | FileCheck %s
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a wgmma-head-dims=128" -split-input-file | FileCheck %s --check-prefix=NVVM
// RUN: st-opt %s --st-gpu-kernels -split-input-file | FileCheck %s --check-prefix=SYNC
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a" -split-input-file | FileCheck %s --check-prefix=HOPPER
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 wgmma-key-tile=128" -split-input-file | FileCheck %s --check-prefix=TILE128

// The tiles are views of dynamic shared memory from its first 1024-byte
// boundary: the block's 64 rows of Q (the A operand of S = Q K^T, staged
// once), then 2 stages x 64 rows x 128 of K and one of V (at d >= 128 the
// forward stages V once: 65 KiB, three blocks an SM), all in the 128-byte
// swizzle: the copy of chunk c of row r lands in column atom c / 8, at
// chunk (c % 8) ^ (r % 8) of the row.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22kernel\22:\22st_attn_strided_fwd0\22,\22shared_bytes\22:66560
// CHECK-LABEL: gpu.func @st_attn_strided_fwd0(
// CHECK-NOT: workgroup(
// CHECK-NEXT: %[[RAW:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK-NEXT: %[[START:.*]] = memref.extract_aligned_pointer_as_index %[[RAW]]
// CHECK: %[[MOD:.*]] = arith.remsi %[[START]], %c1024
// CHECK: %[[GAP:.*]] = arith.subi %c1024{{.*}}, %[[MOD]]
// CHECK: %[[PAD:.*]] = arith.remsi %[[GAP]], %c1024
// CHECK: %[[QOFF:.*]] = arith.addi %[[PAD]], %c0
// CHECK: %[[Q:.*]] = memref.view %[[RAW]][%[[QOFF]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1x8192xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[KOFF:.*]] = arith.addi %[[PAD]], %c16384
// CHECK: %[[K:.*]] = memref.view %[[RAW]][%[[KOFF]]][] : {{.*}} to memref<2x8192xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[VOFF:.*]] = arith.addi %[[PAD]], %c49152
// CHECK: %[[V:.*]] = memref.view %[[RAW]][%[[VOFF]]][] : {{.*}} to memref<1x8192xbf16, #gpu.address_space<workgroup>>
// CHECK: %[[ROW:.*]] = arith.floordivsi %[[ID:.*]], %c16{{.*}} : index
// CHECK: %[[CHUNK:.*]] = arith.remsi %[[ID]], %c16{{.*}} : index
// CHECK: %[[C8:.*]] = arith.remsi %[[CHUNK]], %c8{{.*}} : index
// CHECK: %[[R8:.*]] = arith.remsi %[[ROW]], %c8{{.*}} : index
// CHECK: %[[SW:.*]] = arith.xori %[[C8]], %[[R8]] : index
// CHECK: %[[ATOM:.*]] = arith.floordivsi %[[CHUNK]], %c8{{.*}} : index
// CHECK: arith.muli %[[ATOM]], %c4096
// CHECK: arith.muli %[[ROW]], %c64
// CHECK: arith.muli %[[SW]], %c8
// The source row's offset within the (batch, head) in 32 bits (N d < 2^31),
// zero-extended onto the 64-bit base:
// CHECK: %[[R32:.*]] = arith.minsi %{{.*}}, %{{.*}} : i32
// CHECK-NEXT: %[[D32:.*]] = arith.constant 128 : i32
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[R32]], %[[D32]] : i32
// CHECK: %[[SUM:.*]] = arith.addi %[[OFF]], %{{.*}} : i32
// CHECK-NEXT: %[[WIDE:.*]] = arith.index_castui %[[SUM]] : i32 to index
// CHECK-NEXT: %[[SRC:.*]] = arith.addi %{{.*}}, %[[WIDE]] : index
// CHECK-NEXT: nvgpu.device_async_copy %{{.*}}[%[[SRC]]], %[[Q]][%{{.*}}, %{{.*}}], 8 {bypassL1}
// Q's copies are committed as a group of their own, not waited for: the
// first K tile, then the first V tile, each its own group, are copied at
// once, and the loop's first wait completes Q and K, leaving V and the
// next K in flight.
// CHECK-NOT: nvgpu.device_async_wait
// CHECK: nvgpu.device_async_create_group
// CHECK-NOT: nvgpu.device_async_wait
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[K]][%{{.*}}, %{{.*}}], 8 {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK-NOT: nvgpu.device_async_wait
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[V]][%c0{{.*}}, %{{.*}}], 8 {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK: scf.for
// The next K tile into the other stage; the copies are fenced for the
// async proxy before the barrier; then all four warps run the tile (no
// per-warp branch around the products).
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[K]][%{{.*}}, %{{.*}}], 8 {bypassL1}
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "fence.proxy.async.shared::cta;"
// CHECK-NEXT: gpu.barrier
// S = Q K^T: A (Q) and B (K) both K-major, descriptor = (address >> 4) |
// LBO 16 | SBO 1024 | 128-byte swizzle (1 << 62); k16 steps 32 bytes (2 in
// address units) within a 64-column atom, the next atom 8192 bytes on
// (512).
// CHECK-NEXT: memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: %[[FIXED:.*]] = arith.constant 4611686293305360384 : i64
// CHECK: %[[A0:.*]] = arith.ori %{{.*}}, %[[FIXED]] : i64
// CHECK: memref.extract_aligned_pointer_as_index %[[K]]
// CHECK: %[[D0:.*]] = arith.ori %{{.*}}, %{{.*}}4611686293305360384{{.*}} : i64
// CHECK: arith.addi %[[A0]], %c2_i64 : i64
// CHECK: arith.addi %[[D0]], %c2_i64{{.*}} : i64
// CHECK: arith.addi %[[A0]], %c512_i64 : i64
// CHECK: arith.addi %[[D0]], %c512_i64{{.*}} : i64
// S starts from zero: its accumulators are outputs only and its first k16
// step overwrites them (scale-d z = false), the others accumulate (p).
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "{\0A.reg .pred p, z;\0Asetp.ne.b32 p, $48, 0;\0Asetp.eq.b32 z, $48, 0;\0Awgmma.fence.sync.aligned;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {$0, {{.*}}, $31}, $32, $40, z, 1, 1, 0, 0;
// CHECK-SAME: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {$0, {{.*}}, $31}, $33, $41, p, 1, 1, 0, 0;
// CHECK-SAME: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}, $39, $47, p, 1, 1, 0, 0;\0Awgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 0;\0A}\0A", "=f,{{(=f,)+}}l,{{(l,)+}}r"
// Lazy rescaling: a row's reference max moves only when the tile's max
// passes it by more than 8 (log2 units); the output accumulators are
// rescaled only if some row of the block moved, a branch that a barrier
// with an or reduction makes uniform over the warpgroup.
// CHECK: %[[SLACK:.*]] = arith.addf %{{.*}}, %cst{{.*}} : f32
// CHECK-NEXT: %[[UP:.*]] = arith.cmpf ogt, %{{.*}}, %[[SLACK]] : f32
// CHECK-NEXT: arith.select %[[UP]]
// CHECK: %[[EITHER:.*]] = arith.ori %[[UP]], %{{.*}} : i1
// CHECK-NEXT: %[[WORD:.*]] = arith.extui %[[EITHER]] : i1 to i32
// CHECK-NEXT: %[[VOTE:.*]] = nvvm.barrier #nvvm.reduction<or> %[[WORD]] -> i32
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[VOTE]], %c0_i32
// CHECK-NEXT: scf.if %[[ANY]] -> (f32,
// CHECK-NEXT: arith.mulf
// Before P.V, V's copy group completes (an empty group committed, at
// most two left: the next K and it).
// CHECK: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// CHECK-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "fence.proxy.async.shared::cta;"
// CHECK-NEXT: gpu.barrier
// P.V: m64n128k16, MN-major B (trans-b), LBO 8192 (the atoms along N) |
// SBO 1024 | swizzle; k16 steps 2048 bytes (128).
// CHECK: memref.extract_aligned_pointer_as_index %[[V]]
// CHECK: arith.constant 4611686293338849280 : i64
// CHECK: arith.addi %{{.*}}, %c128_i64 : i64
// CHECK: llvm.inline_asm {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {$0, {{.*}}, $63}, {{.*}}, p, 1, 1, 1;
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// Then V's next tile goes into its only stage, a group of its own.
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}], %[[V]][%c0{{.*}}, %{{.*}}], 8 {bypassL1}
// CHECK: nvgpu.device_async_create_group
// After the walk no copy is left in flight (an empty walk never waited for
// Q):
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[LAST:.*]] = nvgpu.device_async_create_group
// CHECK-NEXT: nvgpu.device_async_wait %[[LAST]] {numGroups = 0 : i32}
// CHECK: gpu.func @st_attn_strided_fwd1(
// NVVM: gpu.module @st_attn_strided [#nvvm.target<O = 3, chip = "sm_90a"
// NVVM: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16
// SYNC: gpu.module @st_attn_strided [#nvvm.target<O = 3, chip = "sm_90"
// SYNC-NOT: wgmma
// SYNC: nvvm.mma.sync
// HOPPER: gpu.module @st_attn_strided [#nvvm.target<O = 3, chip = "sm_90a"
// HOPPER-NOT: nvvm.mma.sync
// The d = 128 forward, V single-staged (65 KiB), asks ptxas for 3 blocks:
// HOPPER: llvm.func @st_attn_strided_fwd0({{.*}}nvvm.minctasm = 3 : i32}
// HOPPER: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16
func.func @strided(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>) : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// f16 at d = 128: the block's 64 keys of K and of V (the A operands of S^T
// and dP^T), two stages of two 64 x 128 tiles (Q and dO) plus the
// lse/delta rows (99328 bytes, and 1024 to align) in dynamic shared
// memory, whose size the manifest gives; n128 for P.V; the dK/dV kernel's
// four products (S^T, dP^T, then dV and dK MN-major) are all warpgroup MMA.
// CHECK-LABEL: module attributes
// CHECK-SAME: \22kernel\22:\22st_attn_fixed_dkv2\22,\22shared_bytes\22:100352
// dQ: S and dP are two commit groups and only S is waited for; P's
// exponentials run while dP does; a block that is only a wait completes
// dP (its 32 accumulators tied through), then dS . K.
// CHECK-LABEL: gpu.func @st_attn_fixed_dq1(
// CHECK: wgmma.commit_group.sync.aligned;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$32, {{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 1;\0A}\0A"
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: "{\0Awgmma.wait_group.sync.aligned 0;\0A}\0A", "{{(=f,)+}}0,1,{{.*}},31"
// CHECK: arith.subf
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {$0, {{.*}}, p, 1, 1, 1;\0Awgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 0;
// CHECK-LABEL: gpu.func @st_attn_fixed_dkv2(
// CHECK-NOT: workgroup(
// CHECK-NEXT: %[[RAW:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<1x8192xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : {{.*}} to memref<1x8192xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : {{.*}} to memref<2x8192xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : {{.*}} to memref<2x8192xf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : {{.*}} to memref<2x64xf32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[RAW]][%{{.*}}][] : {{.*}} to memref<2x64xf32, #gpu.address_space<workgroup>>
// The products run as a pipeline, one commit group each: S^T
// (accumulators $0..$31) and dP^T ($32..$63), A from descriptors, waiting
// until only dP^T runs; then dV ($0..$63, A = P^T from registers) with
// dP^T tied through ($64..$95), waiting until only dV runs, so dS is
// computed while dV's product runs; then dK with dV tied through
// ($64..$127), waiting for all.
// CHECK: "{\0A.reg .pred p, z;{{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, {{.*}}}, ${{[0-9]+}}, ${{[0-9]+}}, z, 1, 1, 0, 0;{{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$32, {{.*}}}, ${{[0-9]+}}, ${{[0-9]+}}, z, 1, 1, 0, 0;{{.*}}wgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 1;\0A}\0A", "{{(=f,)+}}l,
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: "{\0A.reg .pred p, z;{{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {$0, {{.*}}, p, 1, 1, 1;\0Awgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 1;\0A}\0A", "{{(=f,)+}}0,1,{{.*}},63,64,{{.*}},95,r,
// CHECK: arith.subf
// CHECK: "{\0A.reg .pred p, z;{{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {$0, {{.*}}, p, 1, 1, 1;\0Awgmma.commit_group.sync.aligned;\0Awgmma.wait_group.sync.aligned 0;\0A}\0A", "{{(=f,)+}}0,1,{{.*}},127,r,
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.return
func.func @fixed(%q: tensor<?x?x?x128xf16>, %k: tensor<?x?x?x128xf16>, %v: tensor<?x?x?x128xf16>) -> tensor<?x?x?x128xf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>) : tensor<?x?x?x128xf16>, tensor<?x?x?x128xf16>, tensor<?x?x?x128xf16> -> tensor<?x?x?x128xf16>
  return %o : tensor<?x?x?x128xf16>
}

// -----

// bf16 at d = 64: warpgroup MMA by default on sm_90a; mma.sync (padded
// static tiles) where 64 is not listed.
// HOPPER-LABEL: gpu.module @st_attn_local
// HOPPER-NOT: nvvm.mma.sync
// The d = 64 kernels ask ptxas for 5, 4 and 3 blocks an SM:
// HOPPER: llvm.func @st_attn_local_fwd0({{.*}}nvvm.minctasm = 5 : i32}
// HOPPER: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// HOPPER: llvm.func @st_attn_local_dq1({{.*}}nvvm.minctasm = 4 : i32}
// HOPPER: llvm.func @st_attn_local_dkv2({{.*}}nvvm.minctasm = 3 : i32}
// NVVM-LABEL: gpu.module @st_attn_local
// NVVM-NOT: wgmma
// NVVM: nvvm.mma.sync
// With wgmma-key-tile=128 the forward and dQ stage 128 keys a tile: S (and
// dP) are m64n128k16 over the block's 64 rows, P.V (dS.K) takes 8 k16
// steps; dK/dV, whose S^T, dP^T, dK and dV would need 192 accumulator
// registers a thread, keeps 64.
// TILE128-LABEL: gpu.func @st_attn_local_fwd0(
// TILE128: memref.view {{.*}} to memref<1x4096xbf16, #gpu.address_space<workgroup>>
// TILE128: memref.view {{.*}} to memref<2x8192xbf16, #gpu.address_space<workgroup>>
// TILE128: scf.for {{.*}} step %c128
// TILE128: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// TILE128: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {$0, {{.*}}, {$92, $93, $94, $95}, $103, p, 1, 1, 1;\0Awgmma.commit_group
// TILE128-LABEL: gpu.func @st_attn_local_dq1(
// TILE128: scf.for {{.*}} step %c128
// TILE128-LABEL: gpu.func @st_attn_local_dkv2(
// TILE128: scf.for {{.*}} step %c64
// TILE128-NOT: m64n128k16
// TILE128: gpu.return
// CHECK-LABEL: gpu.func @st_attn_local_fwd0(
// CHECK-SAME: workgroup(%{{.*}} : memref<2x64x72xbf16, #gpu.address_space<workgroup>>
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync {{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 16>
func.func @local(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.local<window = 128>) : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// -----

// f32 (tf32) has no MN-major wgmma: it keeps mma.sync m16n8k8 and the
// padded tiles, on sm_90a too.
// HOPPER-LABEL: gpu.module @st_attn_dense
// HOPPER-NOT: wgmma
// HOPPER: nvvm.mma.sync
// CHECK-LABEL: gpu.func @st_attn_dense_fwd0(
// CHECK-SAME: workgroup(%{{.*}} : memref<1x64x68xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync {{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 8>
func.func @dense(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>, %v: tensor<?x?x?x64xf32>) -> tensor<?x?x?x64xf32> {
  %o = st.attention %q, %k, %v layout(#st.dense_causal) : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32> -> tensor<?x?x?x64xf32>
  return %o : tensor<?x?x?x64xf32>
}
