// A missing or mistyped command is one error line that names the three
// commands (not llvm::cl's "Unknown subcommand" for the model's path, nor a
// suggestion of one of LLVM's own flags), and --help lists ST's commands
// without LLVM's code generation flags.
// RUN: not st-run 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not st-run %s 2>&1 | FileCheck %s --check-prefix=AFTER
// RUN: not st-run %s --data %s 2>&1 | FileCheck %s --check-prefix=AFTER
// RUN: not st-run %s trian --data %s 2>&1 | FileCheck %s --check-prefix=TYPO
// RUN: not st-run %s frobnicate 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: st-run --help | FileCheck %s --check-prefix=HELP
// RUN: st-run %s eval --help | FileCheck %s --check-prefix=EVAL-HELP

// NONE: st-run: error: no command; usage: st-run MODEL.mlir train|eval|sample [options]
// AFTER: st-run: error: no command after '{{.*}}command-errors.mlir'; usage: st-run MODEL.mlir train|eval|sample
// AFTER-NOT: Did you mean
// TYPO: st-run: error: unknown command 'trian' (did you mean 'train'?); usage:
// UNKNOWN: st-run: error: unknown command 'frobnicate'; usage:
// UNKNOWN-NOT: did you mean

// HELP: SUBCOMMANDS:
// HELP-DAG: eval - Mean loss and bits per byte on held-out data
// HELP-DAG: sample - Generate text
// HELP-DAG: train - Train on text, images or audio with AdamW
// HELP: OPTIONS:
// HELP-NOT: --{{[a-z0-9]+}}-
// HELP: Generic Options:
// EVAL-HELP: USAGE: st-run eval [options] <model.mlir>
// EVAL-HELP: --data=<path>
