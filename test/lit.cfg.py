# lit configuration for ST's FileCheck tests.
import os
import shutil
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "ST"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.st_obj_root, "test")
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.st_tools_dir, append_path=True)
config.substitutions.append(("%st_src_root", config.st_src_root))
llvm_config.add_tool_substitutions(["st-opt", "st-run"], [config.st_tools_dir])
config.substitutions.append(("%python", sys.executable))
if config.st_enable_cuda:
    config.available_features.add("st-cuda")
    config.substitutions.append(("%st_cuda_lib", config.st_cuda_lib))

# Speech for the audio tests comes from espeak-ng (scripts/setup.sh).
if shutil.which("espeak-ng"):
    config.available_features.add("espeak-ng")
