// JSONL files: the line reader (blank lines, '\r\n', the line-length cap), task
// datasets (records to Problems: prompt text or chat messages, answers, countdown
// numbers and target, tests, language) and the metrics log (reading it, and the
// resume path that keeps the lines through a step and drops a cut last line).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/tasks/jsonl_dataset.hpp"
#include "r1/train/metrics_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = r1::fuzz::as_text(data, size);
  const std::string path = r1::fuzz::write_scratch_file("data.jsonl", text);
  r1::fuzz::run_expecting_errors([&] { (void)r1::load_jsonl_problems(path); });
  r1::fuzz::run_expecting_errors([&] {
    r1::JsonlColumns columns;
    columns.prompt = "messages";
    columns.answer = {"solution"};
    (void)r1::load_jsonl_problems(path, columns);
  });
  r1::fuzz::run_expecting_errors([&] { (void)r1::read_jsonl(path, /*max_line_bytes=*/64); });
  r1::fuzz::run_expecting_errors([&] { (void)r1::read_metrics_log(path); });
  r1::fuzz::run_expecting_errors([&] {
    r1::keep_metrics_through_step(path, 3);
    (void)r1::read_metrics_log(path);  // what resume keeps must read back
  });
  return 0;
}
