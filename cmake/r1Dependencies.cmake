# What a consumer of r1::r1 needs; included by the build and by r1Config.cmake.
include(CMakeFindDependencyMacro)
find_dependency(Eigen3 3.4 NO_MODULE)
find_dependency(TBB)
find_dependency(nlohmann_json 3)
find_dependency(Threads)
# PCRE2 (8-bit, UTF + UCP + JIT) for the tokenizers' Unicode pre-tokenizer regexes.
if(NOT TARGET r1::pcre2)
  find_path(R1_PCRE2_INCLUDE_DIR pcre2.h)
  find_library(R1_PCRE2_LIBRARY NAMES pcre2-8)
  if(NOT R1_PCRE2_INCLUDE_DIR OR NOT R1_PCRE2_LIBRARY)
    message(FATAL_ERROR "r1: PCRE2 not found (install libpcre2-dev)")
  endif()
  add_library(r1::pcre2 UNKNOWN IMPORTED)
  set_target_properties(r1::pcre2 PROPERTIES
    IMPORTED_LOCATION "${R1_PCRE2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${R1_PCRE2_INCLUDE_DIR}")
  # No PCRE2_CODE_UNIT_WIDTH here: r1's one header that includes pcre2.h defines it (8) when the consumer has not.
endif()
