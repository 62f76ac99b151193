// A program outside r1 that uses it through find_package(r1).
#include <r1/core/error.hpp>
#include <r1/core/rng.hpp>

#include <cstdio>

int main() {
  r1::Philox generator{42};
  const auto first = generator();
  try {
    r1::fail("consumer: expected failure");
  } catch (const r1::Error& e) {
    std::printf("r1 consumer ok: %u %s\n", first, e.what());
    return 0;
  }
  return 1;
}
