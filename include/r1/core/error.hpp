#pragma once
// r1::Error: the one exception type of r1. Its message names what was wrong
// (a file, a field, a tensor, an argument) and what was expected.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace r1 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}
}  // namespace detail

// Throws r1::Error with the parts streamed together: fail("config.json: field 'hidden_size': expected a positive integer").
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(detail::concat(std::forward<Parts>(parts)...));
}

// Throws r1::Error when `condition` is false.
template <class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) fail(std::forward<Parts>(parts)...);
}

}  // namespace r1
