//===- st-opt.cpp - The ST optimizer driver -------------------------------===//
//
// mlir-opt with the st dialect and ST's passes, plus every upstream dialect
// and pass that ST lowers through.
//
//===----------------------------------------------------------------------===//

#include "st/Conversion/Passes.h"
#include "st/Dialect/StDialect.h"
#include "st/Pipelines/GpuPipeline.h"
#include "st/Pipelines/Pipelines.h"
#include "st/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::st::StDialect>();
  mlir::st::registerGradientExternalModels(registry);
  mlir::registerAllPasses();
  mlir::st::registerStPasses();
  mlir::st::registerStConversionPasses();
  mlir::st::registerStPipelines();
  mlir::st::registerStGpuPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ST optimizer driver\n", registry));
}
