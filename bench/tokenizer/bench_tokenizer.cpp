// Encode throughput of r1::BpeTokenizer in MB/s of UTF-8 input, one thread and
// batch-parallel (oneTBB), on a JSONL corpus of {"text": ...} lines.
//   R1_TOKENIZER_JSON=.../tokenizer.json R1_TOKENIZER_CORPUS=corpus.jsonl bench_tokenizer
// bench/tokenizer/run_with_peer.sh runs it beside HF's Rust tokenizers on the same corpus.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/core/threads.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

namespace {

struct Inputs {
  std::unique_ptr<r1::BpeTokenizer> tokenizer;
  std::vector<std::string> texts;
  std::int64_t bytes = 0;
  std::string missing;
};

const Inputs& inputs() {
  static const Inputs loaded = [] {
    Inputs result;
    const char* tokenizer_path = std::getenv("R1_TOKENIZER_JSON");
    const char* corpus_path = std::getenv("R1_TOKENIZER_CORPUS");
    if (tokenizer_path == nullptr || corpus_path == nullptr) {
      result.missing = "set R1_TOKENIZER_JSON and R1_TOKENIZER_CORPUS (see bench/tokenizer/run_with_peer.sh)";
      return result;
    }
    result.tokenizer = std::make_unique<r1::BpeTokenizer>(r1::BpeTokenizer::from_file(tokenizer_path));
    std::ifstream in(corpus_path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      result.texts.push_back(r1::json_field<std::string>(r1::parse_json(line, corpus_path), "text", corpus_path));
      result.bytes += static_cast<std::int64_t>(result.texts.back().size());
    }
    return result;
  }();
  return loaded;
}

void encode_single_thread(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.missing.empty()) {
    state.SkipWithError(in.missing.c_str());
    return;
  }
  std::size_t tokens = 0;
  for (auto _ : state) {
    tokens = 0;
    for (const auto& text : in.texts) tokens += in.tokenizer->encode(text).size();
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens) * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void encode_batch_parallel(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.missing.empty()) {
    state.SkipWithError(in.missing.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(in.tokenizer->encode_batch(in.texts));
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.counters["threads"] = r1::active_threads();
}

BENCHMARK(encode_single_thread)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(encode_batch_parallel)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  r1::ThreadLimit threads{0};  // R1_THREADS or all cores
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
