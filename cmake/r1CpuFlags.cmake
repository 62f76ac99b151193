# Resolves R1_CPU_FLAGS (CMakeLists.txt) into R1_CPU_FLAGS_RESOLVED, the instruction-set flags of r1's own
# targets. "auto" reads the building machine's /proc/cpuinfo (Linux); anything else is taken as given.
include(CheckCXXCompilerFlag)

function(r1_detect_cpu_flags out)
  set(${out} "" PARENT_SCOPE)
  if(CMAKE_CROSSCOMPILING OR NOT EXISTS /proc/cpuinfo)
    return()
  endif()
  # The first processor's lines are enough: every core of a machine has the same vendor and flags.
  file(STRINGS /proc/cpuinfo vendor_line REGEX "^vendor_id[ \t]*:" LIMIT_COUNT 1)
  file(STRINGS /proc/cpuinfo flags_line REGEX "^flags[ \t]*:" LIMIT_COUNT 1)
  string(REGEX REPLACE "^[^:]*:[ \t]*" "" vendor "${vendor_line}")
  string(REGEX REPLACE "^[^:]*:" " " flags "${flags_line}")
  string(APPEND flags " ")
  check_cxx_compiler_flag(-march=native R1_COMPILER_HAS_MARCH_NATIVE)
  check_cxx_compiler_flag("-mavx2 -mfma" R1_COMPILER_HAS_AVX2_FMA)
  if(vendor STREQUAL "GenuineIntel" AND flags MATCHES " avx512f " AND R1_COMPILER_HAS_MARCH_NATIVE)
    set(chosen -march=native)
    # GCC 12 warns "may be used uninitialized" inside its own AVX-512 intrinsics as Eigen uses them.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      list(APPEND chosen -Wno-maybe-uninitialized)
    endif()
    set(${out} "${chosen}" PARENT_SCOPE)
  elseif(flags MATCHES " avx2 " AND flags MATCHES " fma " AND R1_COMPILER_HAS_AVX2_FMA)
    set(${out} "-mavx2;-mfma" PARENT_SCOPE)
  endif()
endfunction()

if(R1_CPU_FLAGS STREQUAL "auto")
  r1_detect_cpu_flags(R1_CPU_FLAGS_RESOLVED)
else()
  set(R1_CPU_FLAGS_RESOLVED "${R1_CPU_FLAGS}")
endif()
if("-march=native" IN_LIST R1_CPU_FLAGS_RESOLVED)
  set(R1_CPU_FLAGS_NATIVE ON)
else()
  set(R1_CPU_FLAGS_NATIVE OFF)
endif()
# The other of r1's two instruction-set choices, for the suites that CI also builds with it (tests/CMakeLists.txt,
# r1_add_test's OTHER_ISA): AVX2 + FMA where the chosen flags are -march=native, -march=native where they are not
# and the machine has AVX-512; empty (those twins report themselves skipped) where the machine has only one choice.
set(R1_CPU_FLAGS_OTHER "")
if(NOT CMAKE_CROSSCOMPILING AND EXISTS /proc/cpuinfo)
  file(STRINGS /proc/cpuinfo r1_flags_line REGEX "^flags[ \t]*:" LIMIT_COUNT 1)
  string(REGEX REPLACE "^[^:]*:" " " r1_machine_flags "${r1_flags_line} ")
  check_cxx_compiler_flag("-mavx2 -mfma" R1_COMPILER_HAS_AVX2_FMA)
  check_cxx_compiler_flag(-march=native R1_COMPILER_HAS_MARCH_NATIVE)
  if(R1_CPU_FLAGS_NATIVE AND r1_machine_flags MATCHES " avx2 " AND r1_machine_flags MATCHES " fma "
     AND R1_COMPILER_HAS_AVX2_FMA)
    set(R1_CPU_FLAGS_OTHER -mavx2 -mfma)
  elseif(NOT R1_CPU_FLAGS_NATIVE AND r1_machine_flags MATCHES " avx512f " AND R1_COMPILER_HAS_MARCH_NATIVE)
    set(R1_CPU_FLAGS_OTHER -march=native)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      list(APPEND R1_CPU_FLAGS_OTHER -Wno-maybe-uninitialized)
    endif()
  endif()
endif()
message(STATUS "r1: the other instruction-set choice, for the OTHER_ISA test twins: "
               "${R1_CPU_FLAGS_OTHER}")
# Kept in the cache (rewritten at every configure) so bench/*/compare_with_torch.py can print it.
set(R1_CPU_FLAGS_RESOLVED "${R1_CPU_FLAGS_RESOLVED}" CACHE INTERNAL "r1's resolved instruction-set flags")
message(STATUS "r1: instruction-set flags of r1's own targets (R1_CPU_FLAGS=${R1_CPU_FLAGS}): "
               "${R1_CPU_FLAGS_RESOLVED}")
