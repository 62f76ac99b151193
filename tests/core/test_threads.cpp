#include <doctest/doctest.h>

#include <cstdlib>

#include "r1/core/threads.hpp"

TEST_CASE("ThreadLimit sets oneTBB's parallelism; R1_THREADS is validated") {
  {
    r1::ThreadLimit limit{1};
    CHECK(limit.count() == 1);
    CHECK(r1::active_threads() == 1);
  }
  ::setenv("R1_THREADS", "3", 1);
  CHECK(r1::threads_from_environment() == 3);
  ::setenv("R1_THREADS", "two", 1);
  CHECK_THROWS_WITH_AS(r1::threads_from_environment(), doctest::Contains("R1_THREADS='two'"), r1::Error);
  ::setenv("R1_THREADS", "2", 1);
}
