//===- Pipelines.cpp - ST's named pass pipelines --------------------------===//

#include "st/Pipelines/Pipelines.h"

#include "st/Conversion/Passes.h"
#include "st/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::st;

void mlir::st::buildTrainingPipeline(OpPassManager &pm,
                                     const TrainingPipelineOptions &options) {
  pm.addPass(createStExpandModel());
  pm.addPass(createStAutodiff());
  StRematOptions remat;
  remat.policy = options.remat;
  pm.addPass(createStRemat(remat));
  StOptimizerOptions optimizer;
  optimizer.lr = options.lr;
  optimizer.warmup = options.warmup;
  optimizer.totalSteps = options.totalSteps;
  pm.addPass(createStOptimizer(optimizer));
}

void mlir::st::buildStToLoopsPipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  // The training step calls the gradient function; inline it so that its
  // parameter reads become the step's own.
  pm.addPass(createInlinerPass());
  pm.addPass(createStParamsToArgs());
  pm.addPass(createStDecomposeAttention());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  ConvertStAttentionToLoopsOptions loops;
  loops.blockQ = options.blockQ;
  loops.blockK = options.blockK;
  loops.countWork = options.countWork;
  pm.addPass(createConvertStAttentionToLoops(loops));
  ConvertStAttentionRowToLoopsOptions rows;
  rows.countWork = options.countWork;
  pm.addPass(createConvertStAttentionRowToLoops(rows));
  pm.addPass(createConvertStToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::st::buildStToCpuPipeline(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  buildStToLoopsPipeline(pm, options);
  // After the last CSE: one empty tensor a destination keeps One-Shot
  // Bufferize's alias sets small (its time grew tenfold per doubling of a
  // model's layers without it; Passes.td).
  pm.addPass(createStSplitEmptyTensors());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Callers allocate results (the runtime owns every buffer it reads), and
  // intermediate buffers are freed inside the program.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  outParams.hoistStaticAllocs = true;
  outParams.hoistDynamicAllocs = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // CSE first: row updates of scatters otherwise keep a copy of the row
  // onto itself.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createStCopiesToLinalg());
  if (options.blas) {
    // With OpenMP, the GEMMs run in row blocks on its threads (the BLAS
    // itself is single-threaded): one thread pool for the whole program.
    StLinalgToBlasOptions blas;
    if (options.parallel)
      blas.rowBlocks = 8;
    pm.addPass(createStLinalgToBlas(blas));
  }
  if (options.parallel)
    pm.addPass(createStLinalgToCpuLoops());
  else
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createStApproximateMath());
  if (options.parallel) {
    // Each parallel region is extracted from a small function (Passes.td).
    pm.addPass(createStOutlineParallelLoops());
    pm.addPass(createConvertSCFToOpenMPPass());
    // Inlines the alloca scopes around loop bodies that allocate nothing.
    pm.addPass(createCanonicalizerPass());
  }
  // Strided-metadata expansion emits affine.apply for dynamic shapes; it
  // must come before affine is lowered.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  // Without rollback: each loop's conversion splits its block, and with
  // rollback the conversion records every operation that a split moves, so
  // a training step (one function of every layer's loops) took memory
  // quadratic in the layers (2.5 GB at 32 layers of models/cifar10.mlir,
  // out of memory at its 128). These patterns never fail once they match,
  // so there is nothing to roll back; the output is the same.
  SCFToControlFlowPassOptions scfToCf;
  scfToCf.allowPatternRollback = false;
  pm.addPass(createSCFToControlFlowPass(scfToCf));
  if (options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::st::registerStPipelines() {
  PassPipelineRegistration<TrainingPipelineOptions>(
      "st-training-pipeline",
      "Expand the model, differentiate its loss and add the AdamW step",
      buildTrainingPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "st-to-loops",
      "Lower st ops to tensors, linalg and the tiled attention loops",
      buildStToLoopsPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "st-to-cpu", "Lower st ops all the way to the LLVM dialect for the CPU",
      buildStToCpuPipeline);
}
