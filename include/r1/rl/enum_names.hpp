#pragma once
// Names of the option enums of r1/rl, as they appear in JSON configs: parsing a
// name back, with an r1::Error listing the accepted names.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "r1/core/error.hpp"

namespace r1::detail {

template <class Enum, std::size_t N>
Enum parse_enum_name(const std::array<std::string_view, N>& names, std::string_view name, std::string_view where) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == name) return static_cast<Enum>(i);
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) expected += (i ? ", " : "") + std::string(names[i]);
  fail(where, ": unknown value '", name, "' (expected one of: ", expected, ")");
}

}  // namespace r1::detail
