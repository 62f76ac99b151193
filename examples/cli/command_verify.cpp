// r1 verify: grade JSONL lines of completions offline, one line out per line in, in order.
//   r1 verify [FILE] [--budget-ms MS]
// In, by "verifier":
//   {"verifier": "math", "gold": "\\frac12", "completion": "... \\boxed{0.5}"}
//        "extract": false   the completion is already the answer
//        "tolerance": 1e-6  relative tolerance for all numeric comparisons (default: rationals exact)
//   {"verifier": "countdown", "numbers": [3, 5, 7], "target": 22, "completion": "<answer>3*5+7</answer>"}
//   {"verifier": "format", "completion": ..., "strict": true, "think_opened_in_prompt": false}
//   {"verifier": "tag_count", "completion": ...}
//   {"verifier": "language", "language": "en", "completion": ...}
//   {"verifier": "overlong", "max_length": 20480, "cache_length": 4096, "completion": ...}   (UTF-8 code points)
//   {"verifier": "cosine", "gold": ..., "max_length": 4096, "completion": ...}               (math accuracy inside)
//   {"verifier": "repetition", "ngram_size": 3, "max_penalty": -1, "completion": ...}
//   {"verifier": "r1", "gold": ..., "completion": ...}       math accuracy + strict format, weights 1 and 1
//   {"verifier": "code", "language": "python" | "cpp", "tests": [{"input": ..., "output": ...}], "completion": ...}
//        run in r1's sandbox (r1/reward/code/); optional "time_limit_ms", "memory_limit_mb", "all_or_nothing"
// Out: {"score": ..., "components": {...}, "extracted": ..., "reason": ...}; "score" is null
// when the verifier does not apply (e.g. no gold). A malformed line gives {"error": ...}
// on its own line and the rest go on. Lines are verified in parallel (oneTBB, --threads).
#include <tbb/parallel_for.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "r1/core/json.hpp"
#include "r1/reward/code/code_verifier.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/language.hpp"
#include "r1/reward/length.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/reward/repetition.hpp"
#include "r1/reward/work_budget.hpp"

namespace {

struct VerifyJob {
  std::string where;
  std::optional<r1::AnyVerifier> verifier;
  r1::Problem problem;
  std::string completion;
  std::string error;  // set when the line is malformed
  r1::Reward reward;
};

// The gold as text: a string, or a JSON number written as the dataset wrote it.
std::string gold_field(const r1::Json& record, std::string_view where) {
  const auto it = record.find("gold");
  r1::require(it != record.end(), where, ": missing field 'gold'");
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  r1::fail(where, ": field 'gold' must be a string or a number, got ", it->type_name());
}

r1::MathAnswer math_verifier(const r1::Json& record, std::string_view where) {
  r1::MathAnswerOptions options;
  options.extract = r1::json_field_or<bool>(record, "extract", true, where);
  if (record.contains("tolerance")) {
    const double tolerance = r1::json_field<double>(record, "tolerance", where);
    r1::require(tolerance >= 0.0 && tolerance < 1.0, where, ": field 'tolerance' must be in [0, 1), got ", tolerance);
    options.equivalence.relative_tolerance = tolerance;
    options.equivalence.rational_relative_tolerance = tolerance;
  }
  return r1::MathAnswer(options);
}

void parse_job(const std::string& line, VerifyJob& job) {
  const r1::Json record = r1::parse_json(line, job.where);
  const auto kind = r1::json_field<std::string>(record, "verifier", job.where);
  job.completion = r1::json_field<std::string>(record, "completion", job.where);
  const auto& where = job.where;
  if (kind == "math") {
    job.problem.answer = gold_field(record, where);
    job.verifier.emplace(math_verifier(record, where));
  } else if (kind == "r1") {
    job.problem.answer = gold_field(record, where);
    job.verifier.emplace(r1::Sum<r1::MathAnswer, r1::R1Format>(math_verifier(record, where), r1::R1Format{}));
  } else if (kind == "countdown") {
    job.problem.numbers = r1::json_field<std::vector<std::int64_t>>(record, "numbers", where);
    job.problem.target = r1::json_field<std::int64_t>(record, "target", where);
    r1::require(!job.problem.numbers.empty(), where, ": field 'numbers' must not be empty");
    job.verifier.emplace(r1::Countdown{});
  } else if (kind == "format") {
    r1::R1FormatOptions options;
    options.strict = r1::json_field_or<bool>(record, "strict", true, where);
    options.think_opened_in_prompt = r1::json_field_or<bool>(record, "think_opened_in_prompt", false, where);
    job.verifier.emplace(r1::R1Format(options));
  } else if (kind == "tag_count") {
    job.verifier.emplace(r1::TagCount{});
  } else if (kind == "language") {
    job.problem.language = r1::json_field<std::string>(record, "language", where);
    (void)r1::LanguageConsistency::scripts_of_language(job.problem.language);  // unknown codes fail here, per line
    job.verifier.emplace(r1::LanguageConsistency{});
  } else if (kind == "overlong") {
    r1::OverlongOptions options;
    options.max_length = r1::json_field_or<std::int64_t>(record, "max_length", options.max_length, where);
    options.cache_length = r1::json_field_or<std::int64_t>(record, "cache_length", options.cache_length, where);
    job.verifier.emplace(r1::OverlongPenalty<>(options));
  } else if (kind == "cosine") {
    job.problem.answer = gold_field(record, where);
    r1::CosineLengthOptions options;
    options.max_length = r1::json_field_or<std::int64_t>(record, "max_length", options.max_length, where);
    job.verifier.emplace(r1::CosineLength<r1::MathAnswer>(options, math_verifier(record, where)));
  } else if (kind == "repetition") {
    r1::RepetitionOptions options;
    options.ngram_size = r1::json_field_or<int>(record, "ngram_size", options.ngram_size, where);
    options.max_penalty = r1::json_field_or<double>(record, "max_penalty", options.max_penalty, where);
    job.verifier.emplace(r1::RepetitionPenalty(options));
  } else if (kind == "code") {
    job.problem = r1::code::code_problem_from_json(record, where);
    job.verifier.emplace(r1::code::CodeVerifier(r1::code::CodeVerifierConfig::from_json(record, where)));
  } else {
    r1::fail(where, ": field 'verifier': unknown verifier '", kind,
             "' (expected math, r1, countdown, format, tag_count, language, overlong, cosine, repetition, code)");
  }
}

std::string result_line(const VerifyJob& job) {
  r1::Json out;
  if (!job.error.empty()) {
    out["error"] = job.error;
  } else {
    const r1::Reward& reward = job.reward;
    out["score"] = reward.applicable ? r1::Json(reward.score) : r1::Json(nullptr);
    out["components"] = r1::Json::object();
    for (const auto& component : reward.components) out["components"][component.name] = component.score;
    if (reward.applicable && reward.components.empty()) out["components"][std::string(job.verifier->name())] = reward.score;
    out["extracted"] = reward.extracted;
    out["reason"] = reward.reason;
  }
  // Completions may hold invalid UTF-8: written with U+FFFD in its place.
  return out.dump(-1, ' ', false, r1::Json::error_handler_t::replace);
}

// Errors name the input line.
std::string prefixed(const std::string& where, const std::string& message) {
  return message.rfind(where, 0) == 0 ? message : where + ": " + message;
}

void run_verify(const std::string& input, double budget_ms) {
  r1::cli::InputLines lines(input);
  constexpr std::size_t chunk = 4096;  // lines read, verified in parallel, then written in order
  std::vector<VerifyJob> jobs;
  std::string line;
  bool more = true;
  while (more) {
    jobs.clear();
    while (jobs.size() < chunk && (more = lines.next(line))) {
      VerifyJob& job = jobs.emplace_back();
      job.where = lines.where();
      try {
        if (line.find_first_not_of(" \t") == std::string::npos) r1::fail(job.where, ": empty line");
        parse_job(line, job);
      } catch (const r1::Error& e) {
        job.error = prefixed(job.where, e.what());
      }
    }
    tbb::parallel_for(std::size_t{0}, jobs.size(), [&](std::size_t i) {
      VerifyJob& job = jobs[i];
      if (!job.error.empty()) return;
      try {
        const r1::ScopedVerificationDeadline deadline(budget_ms);
        job.reward = (*job.verifier)(job.problem, job.completion);
      } catch (const r1::Error& e) {
        job.error = prefixed(job.where, e.what());
      }
    });
    for (const auto& job : jobs) std::cout << result_line(job) << '\n';
  }
  std::cout.flush();
}

const bool registered = r1::cli::register_command("verify", [](CLI::App& app) {
  auto* command = app.add_subcommand("verify", "Grade JSONL completions with r1's rule-based verifiers (one line out per line in)");
  auto input = std::make_shared<std::string>();
  auto budget_ms = std::make_shared<double>(1000.0);
  command->add_option("file", *input, "JSONL input (default: stdin)");
  command->add_option("--budget-ms", *budget_ms, "Time budget per line in milliseconds (0: none)")
      ->check(CLI::NonNegativeNumber);
  command->callback([=] { run_verify(*input, *budget_ms); });
});

}  // namespace
