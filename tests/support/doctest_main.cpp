#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "r1/core/threads.hpp"

int main(int argc, char** argv) {
  r1::ThreadLimit threads{0};  // R1_THREADS or all cores
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
