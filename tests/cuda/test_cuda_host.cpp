// Host-side error handling that needs the CUDA runtime library but no device:
// status codes become r1::Error naming the call, the op and the runtime's message,
// and an empty arena refuses allocations by name.
#include <doctest/doctest.h>

#include <string>

#include "r1/cuda/arena.hpp"
#include "r1/cuda/check.hpp"

TEST_CASE("check_cuda turns a status into r1::Error naming the call, the op and the error") {
  CHECK_NOTHROW(r1::gpu::check_cuda(cudaSuccess, "cudaMemcpy(...)", "upload"));
  try {
    r1::gpu::check_cuda(cudaErrorInvalidValue, "cudaMemcpy(dst, src, n)", "embedding upload");
    FAIL("expected r1::Error");
  } catch (const r1::Error& e) {
    const std::string message = e.what();
    CHECK(message.find("embedding upload") != std::string::npos);
    CHECK(message.find("cudaMemcpy(dst, src, n)") != std::string::npos);
    CHECK(message.find("cudaErrorInvalidValue") != std::string::npos);
  }
  try {
    r1::gpu::check_cublas(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatmul", "gemm");
    FAIL("expected r1::Error");
  } catch (const r1::Error& e) {
    CHECK(std::string(e.what()).find("gemm: cublasLtMatmul failed") != std::string::npos);
  }
}

TEST_CASE("an arena of zero bytes allocates nothing and names the refused buffer") {
  r1::gpu::DeviceArena arena;  // no cudaMalloc happens for zero bytes
  CHECK(arena.allocate<float>(0, "empty").size == 0);
  try {
    (void)arena.allocate<float>(1, "weights");
    FAIL("expected r1::Error");
  } catch (const r1::Error& e) {
    CHECK(std::string(e.what()).find("'weights'") != std::string::npos);
  }
  r1::gpu::DeviceSpan<float> span{nullptr, 10};
  CHECK(span.subspan(2, 8).size == 8);
  CHECK_THROWS_AS((void)span.subspan(3, 8), r1::Error);
}
