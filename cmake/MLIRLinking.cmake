# How ST's binaries link MLIR.
#
# Default (ST_LINK_MLIR_DYLIB=ON): everything links libMLIR.so, which keeps
# links under a second and binaries tiny; this is what CI and users build.
# OFF: static MLIR and static LLVM, for binaries carried to machines without
# LLVM (the GPU device). Debian's imported MLIR targets name libLLVM.so and
# libMLIR.so in their interfaces; those are rewritten to the static LLVM
# components so only one copy of MLIR's global state is linked.
#
# st_link_mlir(<target> <visibility> <MLIR libs...>) links the given MLIR
# libraries in whichever form was chosen.

if(ST_LINK_MLIR_DYLIB)
  function(st_link_mlir target visibility)
    target_link_libraries(${target} ${visibility} MLIR LLVM)
  endfunction()
else()
  llvm_map_components_to_libnames(_st_llvm_libs Core Support Analysis BitReader
    BitWriter IRReader IRPrinter Linker Passes ipo TransformUtils MC MCParser
    Object Target TargetParser AsmParser AsmPrinter FrontendOpenMP
    FrontendOffloading OrcJIT ExecutionEngine JITLink PerfJITEvents NVPTX X86)
  add_library(st_llvm_static INTERFACE)
  target_link_libraries(st_llvm_static INTERFACE ${_st_llvm_libs})
  get_property(_st_mlir_libs GLOBAL PROPERTY MLIR_ALL_LIBS)
  foreach(_t IN LISTS _st_mlir_libs)
    if(TARGET ${_t})
      get_target_property(_deps ${_t} INTERFACE_LINK_LIBRARIES)
      if(_deps)
        list(TRANSFORM _deps REPLACE "^LLVM$" st_llvm_static)
        list(TRANSFORM _deps REPLACE "^\\$<LINK_ONLY:LLVM>$" st_llvm_static)
        list(REMOVE_ITEM _deps MLIR)
        set_target_properties(${_t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_deps}")
      endif()
    endif()
  endforeach()
  function(st_link_mlir target visibility)
    target_link_libraries(${target} ${visibility} ${ARGN})
  endfunction()
endif()
