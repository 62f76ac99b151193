#pragma once
// Per-step training metrics: one JSONL line a step with the names TRL's
// GRPOTrainer and verl users know, flushed per line (so `tail -f` and a crash
// both see every finished step), and a one-line live progress display.
//
//   r1::MetricsLog log{"run/metrics.jsonl"};
//   r1::ProgressPrinter progress{stderr, /*total_steps=*/200};
//   r1::StepMetrics metrics;
//   metrics.step = step;
//   metrics.reward = 0.42;
//   metrics.reward_components = {{"accuracy", 0.40}, {"format", 0.02}};
//   log.write(metrics);        // {"step":3,"reward":0.42,"rewards/accuracy":0.4,...}
//   progress.update(metrics);  // "\r" + line on a terminal, a plain line otherwise
//
// Unset metrics are left out of the line; NaN and infinities are written as
// null (JSON has no literal for them) and read back as NaN.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/timer.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/io/atomic_file.hpp"

namespace r1 {

struct StepMetrics {
  std::int64_t step = 0;
  std::optional<double> reward;                  // mean total reward of the batch
  std::optional<double> reward_std;              // std of the total reward over the batch
  std::optional<double> accuracy;                // share of completions judged correct
  std::optional<double> loss;
  std::optional<double> completions_mean_length;  // tokens
  std::optional<double> completions_min_length;
  std::optional<double> completions_max_length;
  std::optional<double> completions_clipped_ratio;  // share stopped by the length limit
  std::optional<double> kl;                      // mean KL(pi_theta || pi_ref) per token
  std::optional<double> entropy;                 // mean per-token entropy
  std::optional<double> clip_ratio_low;          // share of tokens clipped at 1 - eps_low (A < 0)
  std::optional<double> clip_ratio_high;         // share of tokens clipped at 1 + eps_high (A > 0)
  std::optional<double> frac_reward_zero_std;    // share of groups whose rewards are all equal
  std::optional<double> grad_norm;               // before clipping
  std::optional<double> lr;
  std::optional<double> tokens_per_second;
  std::optional<double> step_time;               // seconds
  std::optional<double> num_tokens;              // tokens processed so far
  std::optional<double> skipped_steps;           // steps skipped so far for non-finite loss or gradients
  std::vector<std::pair<std::string, double>> reward_components;  // written as rewards/<name>
  std::vector<std::pair<std::string, double>> extra;              // any other name, written as given
};

// The JSON name of each named field, in the order lines are written.
inline constexpr std::pair<std::string_view, std::optional<double> StepMetrics::*> kStepMetricNames[] = {
    {"reward", &StepMetrics::reward},
    {"reward_std", &StepMetrics::reward_std},
    {"accuracy", &StepMetrics::accuracy},
    {"loss", &StepMetrics::loss},
    {"completions/mean_length", &StepMetrics::completions_mean_length},
    {"completions/min_length", &StepMetrics::completions_min_length},
    {"completions/max_length", &StepMetrics::completions_max_length},
    {"completions/clipped_ratio", &StepMetrics::completions_clipped_ratio},
    {"kl", &StepMetrics::kl},
    {"entropy", &StepMetrics::entropy},
    {"clip_ratio/low", &StepMetrics::clip_ratio_low},
    {"clip_ratio/high", &StepMetrics::clip_ratio_high},
    {"frac_reward_zero_std", &StepMetrics::frac_reward_zero_std},
    {"grad_norm", &StepMetrics::grad_norm},
    {"lr", &StepMetrics::lr},
    {"tokens_per_second", &StepMetrics::tokens_per_second},
    {"step_time", &StepMetrics::step_time},
    {"num_tokens", &StepMetrics::num_tokens},
    {"skipped_steps", &StepMetrics::skipped_steps},
};

inline constexpr std::string_view kRewardComponentPrefix = "rewards/";

// A metric value as JSON: null for NaN or infinity.
inline nlohmann::ordered_json metric_json(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

// The step as one JSON object: "step" first, the named metrics, rewards/<name>, then extra.
inline nlohmann::ordered_json to_json(const StepMetrics& metrics) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  json["step"] = metrics.step;
  for (const auto& [name, field] : kStepMetricNames) {
    if (const auto& value = metrics.*field) json[std::string(name)] = metric_json(*value);
  }
  for (const auto& [name, value] : metrics.reward_components) {
    require(!name.empty(), "StepMetrics.reward_components: a component has an empty name");
    json[std::string(kRewardComponentPrefix) + name] = metric_json(value);
  }
  for (const auto& [name, value] : metrics.extra) {
    require(!json.contains(name), "StepMetrics.extra: '", name, "' is already a metric of the line");
    json[name] = metric_json(value);
  }
  return json;
}

// Reads a line back; `where` names it in errors. Unknown names go to `extra`.
inline StepMetrics step_metrics_from_json(const Json& json, std::string_view where) {
  require(json.is_object(), where, ": expected a JSON object");
  StepMetrics metrics;
  metrics.step = json_field<std::int64_t>(json, "step", where);
  for (const auto& [name, value] : json.items()) {
    if (name == "step") continue;
    require(value.is_number() || value.is_null(), where, ": metric '", name, "' must be a number or null, got ",
            value.type_name());
    const double number = value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>();
    bool named = false;
    for (const auto& [known, field] : kStepMetricNames) {
      if (name == known) {
        metrics.*field = number;
        named = true;
        break;
      }
    }
    if (named) continue;
    if (name.size() > kRewardComponentPrefix.size() && name.starts_with(kRewardComponentPrefix)) {
      metrics.reward_components.emplace_back(name.substr(kRewardComponentPrefix.size()), number);
    } else {
      metrics.extra.emplace_back(name, number);
    }
  }
  return metrics;
}

// Every line of a metrics log, in order.
inline std::vector<StepMetrics> read_metrics_log(const std::string& path) {
  std::vector<StepMetrics> steps;
  for_each_jsonl(path, [&](const Json& json, const std::string& where) { steps.push_back(step_metrics_from_json(json, where)); });
  return steps;
}

// Prepares a metrics log for a run resumed from the checkpoint of `last_step`:
// keeps the lines with step <= last_step and drops the rest, including a last
// line cut short by a crash, rewriting the file atomically. A malformed line
// before the last is an r1::Error. A missing file is left missing.
inline void keep_metrics_through_step(const std::string& path, std::int64_t last_step) {
  if (!std::filesystem::exists(path)) return;
  std::vector<std::string> lines;
  std::vector<std::string> wheres;
  {
    JsonlReader reader{path};
    std::string line;
    while (reader.next_line(line)) {
      lines.push_back(line);
      wheres.push_back(reader.where());
    }
  }
  std::string kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& where = wheres[i];
    Json json;
    try {
      json = parse_json(lines[i], where);
    } catch (const Error&) {
      require(i + 1 == lines.size(), where, ": malformed JSON before the last line");
      break;  // the line a crash cut short
    }
    if (json_field<std::int64_t>(json, "step", where) <= last_step) kept += lines[i] + "\n";
  }
  write_file_atomically(path, kept);
}

// The JSONL metrics file of a run. Mode::append continues an existing log when a
// run resumes (call keep_metrics_through_step first, so the steps redone after
// the checkpoint are not logged twice).
class MetricsLog {
 public:
  explicit MetricsLog(std::string path, JsonlWriter::Mode mode = JsonlWriter::Mode::truncate)
      : writer_(std::move(path), mode) {}

  void write(const StepMetrics& metrics) { writer_.write_line(to_jsonl_line(to_json(metrics), writer_.path())); }
  const std::string& path() const { return writer_.path(); }

 private:
  JsonlWriter writer_;
};

// "2m05s", "1h03m", "42s": a duration for people.
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<std::int64_t>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(total / 3600),
                  static_cast<long long>(total % 3600 / 60));
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  } else {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(total));
  }
  return text;
}

// One progress line, e.g.
// "step 12/200 reward 0.512±0.201 acc 0.430 len 37.2 kl 0.00120 ent 0.812 gn 1.23 lr 1.0e-06 1234 tok/s 0.80 s/step eta 2m31s".
// Only the metrics present are shown; total_steps <= 0 leaves out "/total".
inline std::string format_progress_line(const StepMetrics& metrics, std::int64_t total_steps,
                                        std::optional<double> eta_seconds = std::nullopt) {
  std::string line = "step ";
  line += std::to_string(metrics.step);
  if (total_steps > 0) {
    line += '/';
    line += std::to_string(total_steps);
  }
  const auto add = [&line](const char* format, double value) {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    line += text;
  };
  if (metrics.reward) {
    add(" reward %.3f", *metrics.reward);
    if (metrics.reward_std) add("\u00b1%.3f", *metrics.reward_std);
  }
  if (metrics.accuracy) add(" acc %.3f", *metrics.accuracy);
  if (metrics.completions_mean_length) add(" len %.1f", *metrics.completions_mean_length);
  if (metrics.kl) add(" kl %.5f", *metrics.kl);
  if (metrics.entropy) add(" ent %.3f", *metrics.entropy);
  if (metrics.grad_norm) add(" gn %.3g", *metrics.grad_norm);
  if (metrics.lr) add(" lr %.1e", *metrics.lr);
  if (metrics.tokens_per_second) add(" %.0f tok/s", *metrics.tokens_per_second);
  if (metrics.step_time) add(" %.2f s/step", *metrics.step_time);
  if (metrics.skipped_steps && *metrics.skipped_steps > 0) add(" skipped %.0f", *metrics.skipped_steps);
  if (eta_seconds) line += " eta " + format_duration(*eta_seconds);
  return line;
}

// Prints the progress line after each step: on a terminal it rewrites one line
// in place ("\r", the line, erase to end of line); into a file or pipe it writes
// plain lines, so logs stay readable.
class ProgressPrinter {
 public:
  enum class Style { automatic, live, plain };

  explicit ProgressPrinter(std::FILE* stream = stderr, std::int64_t total_steps = 0, Style style = Style::automatic)
      : stream_(stream), total_steps_(total_steps) {
    require(stream_ != nullptr, "ProgressPrinter: null stream");
    live_ = style == Style::live || (style == Style::automatic && ::isatty(::fileno(stream_)) == 1);
  }
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;
  ~ProgressPrinter() { finish(); }

  bool live() const { return live_; }

  // Shows `metrics`; the ETA extrapolates the mean time per step since the first update.
  void update(const StepMetrics& metrics) {
    if (!first_step_) {
      first_step_ = metrics.step;
      clock_.restart();
    }
    std::optional<double> eta;
    const std::int64_t done = metrics.step - *first_step_;
    if (total_steps_ > 0 && done > 0) {
      eta = clock_.elapsed_seconds() / static_cast<double>(done) * static_cast<double>(total_steps_ - metrics.step);
    }
    show(format_progress_line(metrics, total_steps_, eta));
  }

  // Shows an arbitrary status line the same way.
  void show(std::string_view line) {
    if (live_) {
      std::fprintf(stream_, "\r%.*s\x1b[K", static_cast<int>(line.size()), line.data());
      line_open_ = true;
    } else {
      std::fprintf(stream_, "%.*s\n", static_cast<int>(line.size()), line.data());
    }
    std::fflush(stream_);
  }

  // Prints a message on its own line (below the live line, which stays visible).
  void message(std::string_view text) {
    finish();
    std::fprintf(stream_, "%.*s\n", static_cast<int>(text.size()), text.data());
    std::fflush(stream_);
  }

  // Ends the live line with a newline (done by the destructor too).
  void finish() {
    if (line_open_) {
      std::fputc('\n', stream_);
      std::fflush(stream_);
      line_open_ = false;
    }
  }

 private:
  std::FILE* stream_;
  std::int64_t total_steps_;
  bool live_ = false;
  bool line_open_ = false;
  std::optional<std::int64_t> first_step_;
  Stopwatch clock_;
};

}  // namespace r1
