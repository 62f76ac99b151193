// The host side of r1::gpu::gemm's plan cache, without a device: which calls share a plan
// (the key), that a plan is made once per key and found afterwards (hit/miss counts, with a
// fake plan that counts how often it was made), and which split-K reductions a GEMM may use.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "r1/cuda/cublaslt.hpp"
#include "r1/cuda/gemm_plan.hpp"

using r1::gpu::GemmPlanKey;
using r1::gpu::GemmPlanKeyHash;

namespace {
const void* address(std::uintptr_t value) { return reinterpret_cast<const void*>(value); }

GemmPlanKey key_at(std::uintptr_t a, std::uintptr_t b, std::uintptr_t c, std::uintptr_t d, std::uintptr_t bias = 0) {
  return r1::gpu::gemm_plan_key(8192, 896, 4864, false, true, CUDA_R_16BF, CUDA_R_16BF, address(a), address(b),
                                address(c), address(d), bias == 0 ? nullptr : address(bias));
}
}  // namespace

static_assert(std::is_nothrow_move_constructible_v<r1::gpu::CublasLt> && std::is_nothrow_move_assignable_v<r1::gpu::CublasLt>,
              "a CublasLt moves (a model that owns one can be moved)");
static_assert(!std::is_copy_constructible_v<r1::gpu::CublasLt>, "a CublasLt owns its handle and workspace");

TEST_CASE("pointer_alignment is the largest power of two up to 256 dividing the address") {
  CHECK(r1::gpu::pointer_alignment(address(0x10000)) == 256);
  CHECK(r1::gpu::pointer_alignment(address(0x10100)) == 256);
  CHECK(r1::gpu::pointer_alignment(address(0x10080)) == 128);
  CHECK(r1::gpu::pointer_alignment(address(0x10008)) == 8);
  CHECK(r1::gpu::pointer_alignment(address(0x10002)) == 2);  // a bf16 weight one element past an aligned start
  CHECK(r1::gpu::pointer_alignment(address(0x10001)) == 1);
}

TEST_CASE("gemm_plan_key: equal for calls that may share a plan, different otherwise") {
  const GemmPlanKeyHash hash;
  const GemmPlanKey in_place = key_at(0x100000, 0x200000, 0x300000, 0x300000);
  const GemmPlanKey separate = key_at(0x100100, 0x200200, 0x400000, 0x500000);  // other pointers, same alignments
  CHECK(in_place == separate);
  CHECK(hash(in_place) == hash(separate));
  CHECK(in_place.alignment_a == 256);

  // One bf16 element off an aligned address: an algorithm chosen for 256-byte operands must not be reused.
  const GemmPlanKey shifted_a = key_at(0x100002, 0x200000, 0x300000, 0x300000);
  CHECK(shifted_a != in_place);
  CHECK(shifted_a.alignment_a == 2);
  CHECK(key_at(0x100000, 0x200002, 0x300000, 0x300000) != in_place);
  CHECK(key_at(0x100000, 0x200000, 0x300004, 0x300000) != in_place);  // C's alignment alone
  CHECK(key_at(0x100000, 0x200000, 0x300000, 0x300004) != in_place);  // D's alignment alone
  CHECK(key_at(0x100000, 0x200000, 0x300000, 0x300000, 0x600000) != in_place);  // a bias epilogue

  GemmPlanKey other = in_place;
  other.transpose_a = true;
  CHECK(other != in_place);
  other = in_place;
  other.output_type = CUDA_R_32F;
  CHECK(other != in_place);
  other = in_place;
  other.k = 4863;
  CHECK(other != in_place);
  CHECK(hash(other) != hash(in_place));  // a one-off shape difference changes the hash (boost's mixing)
}

TEST_CASE("PlanCache makes a plan once per key, counts hits and misses, and keeps nothing a failed make left") {
  struct FakePlan {
    int serial = 0;
  };
  r1::gpu::PlanCache<GemmPlanKey, FakePlan, GemmPlanKeyHash> cache;
  int made = 0;
  const auto make = [&] { return FakePlan{++made}; };
  const GemmPlanKey first = key_at(0x100000, 0x200000, 0x300000, 0x300000);
  FakePlan& plan = cache.find_or_make(first, make);
  CHECK(plan.serial == 1);
  CHECK((cache.misses() == 1 && cache.hits() == 0 && cache.size() == 1));
  // A train step's second micro-batch: the same GEMMs again, no new plan.
  for (int i = 0; i < 5; ++i) CHECK(&cache.find_or_make(first, make) == &plan);
  CHECK((made == 1 && cache.misses() == 1 && cache.hits() == 5));

  // Many other keys (rehashes) leave the first plan where it was.
  for (int k = 1; k <= 1000; ++k) {
    GemmPlanKey key = first;
    key.k = k;
    (void)cache.find_or_make(key, make);
  }
  CHECK((made == 1001 && cache.misses() == 1001 && cache.size() == 1001));
  CHECK(&cache.find_or_make(first, make) == &plan);
  CHECK(cache.hits() == 6);
  CHECK(cache.find(first) == &plan);  // inspection counts nothing
  GemmPlanKey absent = first;
  absent.n = 1;
  CHECK(cache.find(absent) == nullptr);
  CHECK((cache.hits() == 6 && cache.misses() == 1001));

  // A make that throws (cuBLASLt found no algorithm) caches and counts nothing; the next call tries again.
  GemmPlanKey failing = first;
  failing.m = 7;
  CHECK_THROWS_AS(cache.find_or_make(failing, []() -> FakePlan { throw std::runtime_error("no algorithm"); }),
                  std::runtime_error);
  CHECK((cache.size() == 1001 && cache.misses() == 1001));
  CHECK(cache.find_or_make(failing, make).serial == 1002);
  cache.clear();
  CHECK(cache.size() == 0);
}

TEST_CASE("reduction_scheme_mask: a bf16 output never reduces split-K partial sums in bf16") {
  // cublasLtReductionScheme_t: INPLACE and OUTPUT_TYPE keep partial sums in the output type, COMPUTE_TYPE in fp32.
  const std::uint32_t bf16_mask = r1::gpu::reduction_scheme_mask(CUDA_R_16BF);
  CHECK((bf16_mask & CUBLASLT_REDUCTION_SCHEME_INPLACE) == 0);
  CHECK((bf16_mask & CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE) == 0);
  CHECK((bf16_mask & CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE) != 0);
  // An fp32 output's type is the compute type: every scheme reduces in fp32.
  CHECK(r1::gpu::reduction_scheme_mask(CUDA_R_32F) == CUBLASLT_REDUCTION_SCHEME_MASK);
}
