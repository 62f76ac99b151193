// Memory bandwidth of this machine at 1 and 2 of r1's threads (issue 26): the roofline a decode step is
// held to. Decoding streams every weight matrix once per token and writes almost nothing, so its roof is
// the read-only sum; the triad is McCalpin's STREAM kernel, for comparison with published figures.
//
//   triad  a[i] = b[i] + s * c[i]   STREAM counts 3 x 4 bytes per element (two reads, one write). Plain
//                                   stores first read the line they write (write-allocate), so the memory
//                                   moves 4 x 4 bytes: the counter triad_with_write_allocate_GB_per_s.
//   sum    s += b[i]                4 bytes per element, read only (Eigen's vectorised reduction).
//
//   bench_bandwidth                          # arrays of 4 x the last-level cache each (STREAM's rule)
//   R1_BANDWIDTH_ARRAY_MIB=64 bench_bandwidth   # smaller arrays (a quick check; in-cache on a big L3)
//
// The last-level cache size comes from sysfs (/sys/devices/system/cpu/cpu0/cache/index*/size, the largest).
// Each array is allocated uninitialised and first touched by the same chunking of r1's pool
// (r1::parallel_chunks) that then runs the kernel, as STREAM's OpenMP version does so that pages land on the
// touching thread's NUMA node. oneTBB does not pin a chunk to a thread, so on a multi-node machine the
// placement is only likely, not certain; on one node (this project's CI machines) it does not matter.
// Counters: GB/s (1e9 bytes per second), median and max (STREAM reports the best) of 5 repetitions.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/parallel_chunks.hpp"

namespace {

// The largest cache of cpu0 in bytes, from sysfs sizes such as "491520K"; 0 when sysfs does not say.
std::int64_t last_level_cache_bytes() {
  std::int64_t largest = 0;
  const std::filesystem::path caches = "/sys/devices/system/cpu/cpu0/cache";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(caches, error)) {
    if (!entry.path().filename().string().starts_with("index")) continue;
    std::ifstream file(entry.path() / "size");
    std::string text;
    if (!(file >> text) || text.empty()) continue;
    std::int64_t scale = 1;
    switch (text.back()) {
      case 'K': scale = std::int64_t{1} << 10; break;
      case 'M': scale = std::int64_t{1} << 20; break;
      case 'G': scale = std::int64_t{1} << 30; break;
      default: break;
    }
    largest = std::max<std::int64_t>(largest, std::strtoll(text.c_str(), nullptr, 10) * scale);
  }
  return largest;
}

// Elements per array: R1_BANDWIDTH_ARRAY_MIB when set, else 4 x the last-level cache (STREAM's rule: each
// array at least 4 x the sum of the caches it could sit in), at least 256 MiB, and at most 2.5 GiB so the
// triad's three arrays stay under 8 GB.
std::int64_t array_elements() {
  std::int64_t bytes = 0;
  if (const char* mib = std::getenv("R1_BANDWIDTH_ARRAY_MIB"); mib != nullptr && *mib != '\0') {
    bytes = static_cast<std::int64_t>(std::strtoll(mib, nullptr, 10)) << 20;
    r1::require(bytes > 0, "R1_BANDWIDTH_ARRAY_MIB='", mib, "': expected a positive number of MiB");
  } else {
    bytes = std::clamp<std::int64_t>(4 * last_level_cache_bytes(), std::int64_t{256} << 20, std::int64_t{5} << 29);
  }
  return bytes / static_cast<std::int64_t>(sizeof(float)) / 64 * 64;  // whole cache lines
}

struct FreeDeleter {
  void operator()(float* data) const { std::free(data); }
};
using Array = std::unique_ptr<float[], FreeDeleter>;

// `count` floats, 2 MiB-aligned (whole huge pages where the kernel backs them so), not yet touched.
Array uninitialised_array(std::int64_t count) {
  constexpr std::size_t kAlignment = std::size_t{2} << 20;
  const auto bytes = (static_cast<std::size_t>(count) * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
  auto* data = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
  r1::require(data != nullptr, "bench_bandwidth: cannot allocate ", bytes >> 20, " MiB");
  return Array(data);
}

// One chunk per thread of the pool, as the kernels split the work.
template <class Fn>
void for_each_chunk(std::int64_t count, Fn&& fn) {
  r1::parallel_chunks(count, r1::chunk_count(count), [&](int, std::int64_t begin, std::int64_t end) { fn(begin, end); });
}

void set_counters(benchmark::State& state, std::int64_t elements, double stream_bytes_per_element,
                  const char* name, double actual_bytes_per_element, const char* actual_name) {
  const double passes = static_cast<double>(state.iterations());
  state.counters["threads"] = r1::active_threads();
  state.counters["array_MiB"] = static_cast<double>(elements) * sizeof(float) / (1 << 20);
  state.counters["llc_MiB"] = static_cast<double>(last_level_cache_bytes()) / (1 << 20);
  state.counters[name] = benchmark::Counter(passes * static_cast<double>(elements) * stream_bytes_per_element / 1e9,
                                            benchmark::Counter::kIsRate);
  if (actual_name != nullptr)
    state.counters[actual_name] = benchmark::Counter(
        passes * static_cast<double>(elements) * actual_bytes_per_element / 1e9, benchmark::Counter::kIsRate);
}

void BM_triad(benchmark::State& state) {
  const tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const std::int64_t n = array_elements();
  Array a = uninitialised_array(n), b = uninitialised_array(n), c = uninitialised_array(n);
  for_each_chunk(n, [&](std::int64_t begin, std::int64_t end) {
    std::fill(a.get() + begin, a.get() + end, 0.0f);
    std::fill(b.get() + begin, b.get() + end, 1.0f);
    std::fill(c.get() + begin, c.get() + end, 2.0f);
  });
  const float scalar = 3.0f;
  for (auto _ : state) {
    for_each_chunk(n, [&](std::int64_t begin, std::int64_t end) {
      float* __restrict out = a.get();
      const float* __restrict left = b.get();
      const float* __restrict right = c.get();
      for (std::int64_t i = begin; i < end; ++i) out[i] = left[i] + scalar * right[i];
    });
    benchmark::ClobberMemory();
  }
  r1::require(a[n - 1] == 7.0f, "triad: a[n-1] = ", a[n - 1], ", expected 1 + 3 x 2");
  set_counters(state, n, 3.0 * sizeof(float), "triad_GB_per_s", 4.0 * sizeof(float), "triad_with_write_allocate_GB_per_s");
}

void BM_read_sum(benchmark::State& state) {
  const tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const std::int64_t n = array_elements();
  Array b = uninitialised_array(n);
  for_each_chunk(n, [&](std::int64_t begin, std::int64_t end) { std::fill(b.get() + begin, b.get() + end, 1.0f); });
  std::vector<double> partial(static_cast<std::size_t>(r1::chunk_count(n)));  // one per chunk
  double total = 0.0;  // over all passes, checked below, so no pass can be optimised away
  for (auto _ : state) {
    r1::parallel_chunks(n, static_cast<int>(partial.size()), [&](int chunk, std::int64_t begin, std::int64_t end) {
      partial[static_cast<std::size_t>(chunk)] = Eigen::Map<const Eigen::VectorXf>(b.get() + begin, end - begin).sum();
    });
    total = std::accumulate(partial.begin(), partial.end(), total);
  }
  // Each pass sums n ones: exactly n while each of Eigen's fp32 lane accumulators stays under 2^24; past that
  // an accumulator stops growing, so a pass can only fall short. Half of n per pass proves every chunk was read.
  const double passes = static_cast<double>(state.iterations()), ones = static_cast<double>(n);
  r1::require(total >= 0.5 * ones * passes && total <= ones * passes, "read_sum: ", total, " after ", passes,
              " passes over ", n, " ones");
  set_counters(state, n, sizeof(float), "read_GB_per_s", 0.0, nullptr);
}

double max_of(const std::vector<double>& values) { return *std::max_element(values.begin(), values.end()); }

BENCHMARK(BM_triad)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Repetitions(5)->ReportAggregatesOnly(true)->ComputeStatistics("max", max_of);
BENCHMARK(BM_read_sum)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Repetitions(5)->ReportAggregatesOnly(true)->ComputeStatistics("max", max_of);

}  // namespace

int main(int argc, char** argv) {
  r1::ThreadLimit threads{r1::threads_from_environment(2)};
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
