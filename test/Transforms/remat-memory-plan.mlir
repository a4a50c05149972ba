// Rematerialisation lowers the planned activation peak of the gradient
// function; --st-memory-plan prints the number.
// RUN: st-opt %s --st-expand-model --st-autodiff --st-remat=policy=none --st-memory-plan=batch=2 -o /dev/null | FileCheck %s --check-prefix=NONE
// RUN: st-opt %s --st-expand-model --st-autodiff --st-remat=policy=paper --st-memory-plan=batch=2 -o /dev/null | FileCheck %s --check-prefix=PAPER
// RUN: st-opt %s --st-expand-model --st-autodiff --st-remat=policy=paper | FileCheck %s --check-prefix=IR

// Four layers, width 32, context 64, batch 2: keeping every activation for
// the backward pass peaks at 1873032 bytes; keeping only block inputs and
// recomputing attention and feed-forward blocks peaks at 693896 bytes (2.7x
// less), at the price of more buffers (the recomputed copies).
// NONE: st-memory-plan: @m_grad: 305 buffers, peak 1873032 bytes
// PAPER: st-memory-plan: @m_grad: 351 buffers, peak 693896 bytes

// The recomputed attention (with its log-sum-exp) sits in the backward
// code, after the loss, right before the attention gradient that reads it.
// IR-LABEL: func.func @m_grad
// IR: st.cross_entropy_grad
// IR: %[[O:.*]], %[[L:.*]] = st.attention
// IR: st.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %[[O]], %[[L]]
module {
  st.transformer @m vocab = 256, context = 64, width = 32, heads = 2,
      layers = 4, ff_mult = 4, dropout = 0.1, position = [8, 8],
      layouts = [#st.fixed<stride = 8, summary = 2>]
}
