//===- Passes.td - Passes over the st dialect --------------*- tablegen -*-===//

#ifndef ST_TRANSFORMS_PASSES_TD
#define ST_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def StLayoutStats : Pass<"st-layout-stats"> {
  let summary = "Report the work of every st.attention's sparse layout";
  let description = [{
    For every `st.attention`, prints (to stdout, one block per op, in program
    order) the layout, the shape, the nonzeros of the pattern (per batch
    element, summed over heads), its density relative to dense causal
    attention, the number of empty / full / partial tiles for each tile size
    in `tile-sizes` (square tiles, counted per head over the whole n x n
    grid), and the FLOPs of the forward pass (4 * D * nonzeros * B: QK^T and
    PV) and of forward plus backward (3.5x forward, the usual convention).
    With `annotate`, also attaches `st.nonzeros` and `st.density` to the op.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Square tile sizes to classify (default 64,128)">,
    Option<"annotate", "annotate", "bool", /*default=*/"false",
           "Attach st.nonzeros and st.density attributes to each op">
  ];
}

#endif // ST_TRANSFORMS_PASSES_TD
