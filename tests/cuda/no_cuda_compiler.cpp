// Built in place of the kernel suite when configure found no CUDA compiler, so the
// report says the suite was skipped and why instead of leaving it out silently.
#include "skip.hpp"

namespace {
[[maybe_unused]] const int skipped = (r1::test::skip_suite("no CUDA compiler at configure time: the CUDA backend was not built"), 0);
}
