#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "r1/core/error.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/train/metrics_log.hpp"
#include "scratch_dir.hpp"

namespace {
std::string read_stream(std::FILE* stream) {
  std::fflush(stream);
  std::rewind(stream);
  std::string text;
  for (int c = std::fgetc(stream); c != EOF; c = std::fgetc(stream)) text.push_back(static_cast<char>(c));
  return text;
}
}  // namespace

TEST_CASE("a step is one JSON line with TRL/verl names, in a fixed order, unset metrics left out") {
  r1::StepMetrics metrics;
  metrics.step = 3;
  metrics.reward = 0.5;
  metrics.reward_std = 0.25;
  metrics.completions_mean_length = 37.5;
  metrics.clip_ratio_low = 0.125;
  metrics.clip_ratio_high = 0.0625;
  metrics.frac_reward_zero_std = 0.75;
  metrics.lr = 1e-6;
  metrics.kl = std::numeric_limits<double>::quiet_NaN();
  metrics.reward_components = {{"accuracy", 0.375}, {"format", 0.125}};
  metrics.extra = {{"time/generation", 2.5}};
  CHECK(r1::to_json(metrics).dump() ==
        R"({"step":3,"reward":0.5,"reward_std":0.25,"completions/mean_length":37.5,"kl":null,)"
        R"("clip_ratio/low":0.125,"clip_ratio/high":0.0625,"frac_reward_zero_std":0.75,"lr":1e-06,)"
        R"("rewards/accuracy":0.375,"rewards/format":0.125,"time/generation":2.5})");

  metrics.extra = {{"reward", 1.0}};  // would shadow a named metric
  CHECK_THROWS_WITH_AS(r1::to_json(metrics), doctest::Contains("'reward' is already a metric"), r1::Error);
}

TEST_CASE("the metrics log is flushed per line and reads back") {
  r1::test::ScratchDir dir{"metrics"};
  const auto path = dir.file("metrics.jsonl");
  r1::MetricsLog log{path};
  for (int step = 1; step <= 3; ++step) {
    r1::StepMetrics metrics;
    metrics.step = step;
    metrics.reward = step * 0.25;
    metrics.accuracy = step * 0.125;
    metrics.grad_norm = step == 2 ? std::numeric_limits<double>::infinity() : 1.0;
    metrics.reward_components = {{"accuracy", step * 0.125}};
    log.write(metrics);
    // Readable while the log is still open: flushed per line.
    CHECK(r1::read_jsonl(path).size() == static_cast<std::size_t>(step));
  }
  const auto steps = r1::read_metrics_log(path);
  REQUIRE(steps.size() == 3);
  CHECK(steps[1].step == 2);
  CHECK(*steps[1].reward == 0.5);
  CHECK(*steps[2].accuracy == 0.375);
  CHECK(std::isnan(*steps[1].grad_norm));  // infinity was written as null
  CHECK(*steps[0].grad_norm == 1.0);
  REQUIRE(steps[2].reward_components.size() == 1);
  CHECK(steps[2].reward_components[0].first == "accuracy");
  CHECK(steps[2].reward_components[0].second == 0.375);
  CHECK(!steps[0].kl.has_value());

  const auto bad = dir.write("bad.jsonl", "{\"step\": 1, \"reward\": \"high\"}\n");
  CHECK_THROWS_WITH_AS(r1::read_metrics_log(bad), doctest::Contains("bad.jsonl:line 1: metric 'reward' must be a number"),
                       r1::Error);
  const auto no_step = dir.write("no_step.jsonl", "{\"reward\": 1}\n");
  CHECK_THROWS_WITH_AS(r1::read_metrics_log(no_step), doctest::Contains("missing field 'step'"), r1::Error);
}

TEST_CASE("resuming keeps the log through the checkpoint's step and drops a line cut by a crash") {
  r1::test::ScratchDir dir{"metrics_resume"};
  const auto path = dir.write("metrics.jsonl", "{\"step\":1,\"reward\":0.1}\n{\"step\":2,\"reward\":0.2}\n\n"
                                               "{\"step\":3,\"reward\":0.3}\n{\"step\":4,\"rew");
  r1::keep_metrics_through_step(path, 2);
  CHECK(r1::test::read_file_bytes(path) == "{\"step\":1,\"reward\":0.1}\n{\"step\":2,\"reward\":0.2}\n");
  {
    r1::MetricsLog resumed{path, r1::JsonlWriter::Mode::append};
    r1::StepMetrics metrics;
    metrics.step = 3;
    resumed.write(metrics);
  }
  CHECK(r1::read_metrics_log(path).size() == 3);

  const auto broken = dir.write("broken.jsonl", "{\"step\":1}\n{oops\n{\"step\":2}\n");
  CHECK_THROWS_WITH_AS(r1::keep_metrics_through_step(broken, 5), doctest::Contains("broken.jsonl:line 2: malformed JSON"),
                       r1::Error);
  CHECK_NOTHROW(r1::keep_metrics_through_step(dir.file("absent.jsonl"), 1));

  // A number too large for a double makes nlohmann throw out_of_range, not parse_error: it escaped as std::terminate.
  const auto huge = dir.write("huge.jsonl", "{\"step\":1}\n{\"step\":2,\"reward\":1e999}\n{\"step\":3}\n");
  CHECK_THROWS_WITH_AS(r1::keep_metrics_through_step(huge, 5), doctest::Contains("huge.jsonl:line 2: malformed JSON"),
                       r1::Error);
  const auto huge_last = dir.write("huge_last.jsonl", "{\"step\":1}\n{\"step\":2,\"reward\":1e999}\n");
  r1::keep_metrics_through_step(huge_last, 5);  // the last line: dropped like a line cut short
  CHECK(r1::test::read_file_bytes(huge_last) == "{\"step\":1}\n");
  const auto float_step = dir.write("float_step.jsonl", "{\"step\":1.5}\n");
  CHECK_THROWS_WITH_AS(r1::keep_metrics_through_step(float_step, 5),
                       doctest::Contains("float_step.jsonl:line 1: field 'step' has the wrong type"), r1::Error);
}

TEST_CASE("progress line formatting") {
  r1::StepMetrics metrics;
  metrics.step = 12;
  CHECK(r1::format_progress_line(metrics, 0) == "step 12");
  metrics.reward = 0.5124;
  metrics.reward_std = 0.2;
  metrics.accuracy = 0.43;
  metrics.completions_mean_length = 37.25;
  metrics.lr = 1e-6;
  metrics.tokens_per_second = 1234.4;
  metrics.step_time = 0.8;
  CHECK(r1::format_progress_line(metrics, 200, 151.0) ==
        "step 12/200 reward 0.512\u00b10.200 acc 0.430 len 37.2 lr 1.0e-06 1234 tok/s 0.80 s/step eta 2m31s");
  CHECK(r1::format_duration(42.4) == "42s");
  CHECK(r1::format_duration(3780) == "1h03m");
  CHECK(r1::format_duration(std::numeric_limits<double>::quiet_NaN()) == "?");
}

TEST_CASE("progress printer: live line on a terminal, plain lines elsewhere") {
  r1::StepMetrics metrics;
  metrics.step = 1;
  {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    {
      r1::ProgressPrinter printer{file, 0};  // automatic: a file is not a terminal
      CHECK(!printer.live());
      printer.update(metrics);
      metrics.step = 2;
      printer.update(metrics);
    }
    CHECK(read_stream(file) == "step 1\nstep 2\n");
    std::fclose(file);
  }
  {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    {
      r1::ProgressPrinter printer{file, 0, r1::ProgressPrinter::Style::live};
      metrics.step = 1;
      printer.update(metrics);
      metrics.step = 2;
      printer.update(metrics);
      printer.message("evaluation: pass@1 0.5");
    }
    // Each update returns to the line start and erases what is left of the old line;
    // a message first ends the live line.
    CHECK(read_stream(file) == "\rstep 1\x1b[K\rstep 2\x1b[K\nevaluation: pass@1 0.5\n");
    std::fclose(file);
  }
}
