# Compiler launcher and linker choices that keep clean builds short on 2 cores.

find_program(ST_CCACHE ccache)
if(ST_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${ST_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${ST_CCACHE})
endif()

# Debian's /usr/bin/ld.lld is lld 14; prefer LLD 22 from the LLVM 22 tree.
if(EXISTS /usr/lib/llvm-22/bin/ld.lld AND NOT ST_NO_LLD)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_link_options(-fuse-ld=lld)
  else()
    add_link_options(-B/usr/lib/llvm-22/bin -fuse-ld=lld)
  endif()
  message(STATUS "Linking with LLD 22")
endif()
