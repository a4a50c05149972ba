// span-forward=S: strided's forward (a band kernel that starts the chain
// o_acc, a column kernel that finishes it) is one kernel whose blocks take
// tickets (thread 0: an atomic add on span_flags[0], handed to the block
// through shared memory) that name band and column tiles in span order.
// A band tile, after its stores and a block barrier, releases its span's
// flag; a column tile's thread 0 spins on that flag (acquire) before the
// block reads lse and the chain. The manifest launches one kernel of
// BH * 2 * 128 * spans blocks and asks for span_flags zeroed. Layouts
// whose forward is not such a pair (fixed: one query view) keep their
// kernels. Off by default. After its output, a column tile discards the
// L2 lines of the chain rows it read (a whole 128-byte line a row at d =
// 64 in f16), so that they are never written back (discard-chain).
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-forward=2" | FileCheck %s
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64" | FileCheck %s --check-prefix=OFF
// RUN: st-opt %s --st-gpu-kernels="chip=sm_90a span-forward=1" | FileCheck %s --check-prefix=NVVM
// RUN: st-opt %s --convert-st-attention-to-gpu="wgmma-head-dims=64 span-forward=2 discard-chain=false" | FileCheck %s --check-prefix=KEEP

// The manifest (the module's attribute, printed first).
// CHECK: st.gpu_manifest
// CHECK-SAME: \22forward\22:[{\22args\22:[\22q\22,\22k\22,\22v\22,\22o\22,\22lse\22,\22o_acc\22,\22o_acc_scale\22,\22span_flags\22,\22N\22,\22H\22]
// CHECK-SAME: \22grid\22:[{\22args\22:[\22BH\22,{\22args\22:[256,{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},64],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22}],\22op\22:\22mul\22},1,1],\22kernel\22:\22st_attn_strided_fwd0\22
// CHECK-SAME: {\22bytes\22:{\22args\22:[{\22args\22:[1,{\22args\22:[\22BH\22,{\22args\22:[{\22args\22:[\22N\22,128],\22op\22:\22ceildiv\22},64],\22op\22:\22ceildiv\22}],\22op\22:\22mul\22}],\22op\22:\22add\22},4],\22op\22:\22mul\22},\22name\22:\22span_flags\22,\22zeroed\22:true}
// CHECK-LABEL: gpu.func @st_attn_strided_fwd0(
// CHECK-SAME: %arg7: memref<?xi32>
// CHECK: scf.if
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "atom.relaxed.gpu.add.u32 $0, [$1], $2;"
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<4xi32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>>
// CHECK: scf.if %{{.*}} {
// The band tile: its stores, a block barrier, then the release.
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "fence.acq_rel.gpu;\0A\09red.relaxed.gpu.add.u32 [$0], $1;"
// CHECK: } else {
// The column tile waits for its span's flag to count 128 band tiles.
// CHECK: scf.while
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "ld.acquire.gpu.u32 $0, [$1];"
// CHECK: arith.cmpi slt, %{{.*}}, %c128_i32
// CHECK: gpu.barrier
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: llvm.inline_asm has_side_effects asm_dialect = att "{\0A\09.reg .u64 g;\0A\09cvta.to.global.u64 g, $0;\0A\09discard.global.L2 [g], 128;\0A\09}", "l"
// CHECK: gpu.return
// CHECK-NOT: gpu.func @st_attn_strided_fwd1
// CHECK-LABEL: gpu.func @st_attn_strided_dq1(
// CHECK-LABEL: gpu.func @st_attn_fixed_fwd0(
// CHECK-NOT: atom.relaxed
// CHECK-LABEL: gpu.func @st_attn_fixed_dq1(

// OFF-NOT: span_flags
// OFF-LABEL: gpu.func @st_attn_strided_fwd1(
// OFF-NOT: span_flags

// KEEP-LABEL: gpu.func @st_attn_strided_fwd0(
// KEEP: ld.acquire.gpu
// KEEP-NOT: discard.global
// KEEP: gpu.func @st_attn_strided_dq1(

// NVVM-LABEL: llvm.func @st_attn_strided_fwd0(
// NVVM: atom.relaxed.gpu.add.u32
// NVVM: red.relaxed.gpu.add.u32
// NVVM: ld.acquire.gpu.u32
// NVVM: nanosleep.u32
// NVVM-NOT: llvm.func @st_attn_strided_fwd1(

func.func @strided(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                   %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 128>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

func.func @fixed(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>,
                 %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = st.attention %q, %k, %v layout(#st.fixed<stride = 128, summary = 32>)
      : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
      -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// f32 inputs (mma.sync, static shared memory): the ticket's word is a
// fourth workgroup attribution beside the two staged tiles.
// RUN: st-opt %s --convert-st-attention-to-gpu="span-forward=1" | FileCheck %s --check-prefix=F32
// F32-LABEL: gpu.func @st_attn_tf32_fwd0(
// F32-SAME: workgroup(%{{.*}} : memref<{{.*}}xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<{{.*}}xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4xi32, #gpu.address_space<workgroup>>)
// F32: atom.relaxed.gpu.add.u32
// F32-NOT: gpu.func @st_attn_tf32_fwd1(
// F32: gpu.func @st_attn_tf32_dq1(

func.func @tf32(%q: tensor<?x?x?x32xf32>, %k: tensor<?x?x?x32xf32>,
                %v: tensor<?x?x?x32xf32>) -> tensor<?x?x?x32xf32> {
  %o = st.attention %q, %k, %v layout(#st.strided<stride = 64>)
      : tensor<?x?x?x32xf32>, tensor<?x?x?x32xf32>, tensor<?x?x?x32xf32>
      -> tensor<?x?x?x32xf32>
  return %o : tensor<?x?x?x32xf32>
}
