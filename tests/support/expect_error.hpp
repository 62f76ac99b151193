#pragma once
// A check that a call throws r1::Error with a given part in its message, for the suites that test error text.
#include <doctest/doctest.h>

#include <string>

#include "r1/core/error.hpp"

namespace r1::test {

// `fn` throws r1::Error whose message contains `expected`.
template <class Fn>
void expect_error(Fn&& fn, const std::string& expected) {
  INFO("expected message part '", expected, "'");
  try {
    fn();
    FAIL("no error");
  } catch (const r1::Error& e) {
    INFO("message: ", e.what());
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

}  // namespace r1::test
