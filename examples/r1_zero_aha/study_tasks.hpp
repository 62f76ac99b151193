#pragma once
// The tasks of the R1-Zero "second act" example, behind aha::StudyTask:
// quotient (r1/tasks/quotient.hpp, a leading-digit estimate checked by multiplying
// back; the default), subset_sum (r1/tasks/subset_sum.hpp, a guess-and-check search)
// and chain_sum (r1/tasks/chain_sum.hpp, a chain of additions). What each configuration
// found is in bench/RESULTS.md; the plus-minus task of 2026-12-07 is in git history
// (b5658b2).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/reward/math_answer.hpp"
#include "r1/reward/quotient.hpp"
#include "r1/reward/subset_sum.hpp"
#include "r1/tasks/chain_sum.hpp"
#include "r1/tasks/chain_sum_trace.hpp"
#include "r1/tasks/quotient.hpp"
#include "r1/tasks/quotient_trace.hpp"
#include "r1/tasks/subset_sum.hpp"
#include "r1/tasks/subset_sum_trace.hpp"
#include "study.hpp"

namespace aha {

template <class Tags>
std::vector<std::string> tag_list(const Tags& tags) {
  return std::vector<std::string>(std::begin(tags), std::end(tags));
}

// A task's pretraining examples (each with a prompt and a completion) as the study's corpus.
template <class Examples>
std::vector<CorpusExample> study_corpus(Examples examples) {
  std::vector<CorpusExample> corpus;
  corpus.reserve(examples.size());
  for (auto& example : examples) corpus.push_back({std::move(example.prompt), std::move(example.completion)});
  return corpus;
}

// The study's reward: `verifier`'s verdict, under the name "accuracy", weighted 1, plus the R1 format weighted 0.1.
template <class Verifier>
Reward accuracy_and_format(Verifier verifier) {
  return Reward{{1.0, 0.1},
                r1::AnyVerifier("accuracy",
                                [verifier = std::move(verifier)](const r1::Problem& problem,
                                                                 std::string_view completion) {
                                  return verifier(problem, completion);
                                }),
                r1::R1Format{}};
}

inline StudyTask subset_sum_task() {
  StudyTask task;
  task.name = "subset_sum";
  task.level_unit = "numbers";
  task.alphabet = r1::kSubsetSumAlphabet;
  task.tags = tag_list(r1::kSubsetSumTags);
  task.default_levels = {3, 4, 5, 6};
  task.default_digits = 2;
  task.default_max_new_tokens = 320;
  task.corpus = [](const CorpusOptions& options, std::size_t count, std::uint64_t seed) {
    r1::SubsetSumCorpusConfig config;
    config.levels = options.levels;
    config.digits = options.digits;
    config.worked_fraction = options.worked_fraction;
    config.miss_fraction = options.error_fraction;
    config.checked_fraction = options.checked_fraction;
    config.checked_miss_fraction = options.checked_error_fraction;
    r1::require(options.revision == "nearest_sum" || options.revision == "gap_move", "--revision: '",
                options.revision, "': expected nearest_sum or gap_move");
    config.revision =
        options.revision == "gap_move" ? r1::SubsetSumRevision::gap_move : r1::SubsetSumRevision::nearest_sum;
    r1::require(options.checked_miss_draw == "near" || options.checked_miss_draw == "far", "--checked-miss-draw: '",
                options.checked_miss_draw, "': expected near or far");
    config.checked_miss_draw =
        options.checked_miss_draw == "far" ? r1::SubsetSumMissDraw::far : r1::SubsetSumMissDraw::near;
    return study_corpus(r1::subset_sum_pretraining_corpus(config, count, seed));
  };
  task.problems = [](int level, int digits, r1::Split split, std::size_t count, std::uint64_t seed) {
    return r1::subset_sum_problems({level, digits, {}}, split, count, seed);
  };
  task.read = [](const r1::Problem& problem, std::string_view completion) {
    const r1::SubsetSumTrace trace = r1::trace_subset_sum(r1::SubsetSum::parse(problem.prompt), completion);
    TaskReading reading{!trace.attempts.empty(), trace.self_checked(), trace.first_choice_wrong(),
                        trace.caught_and_corrected()};
    reading.revisions_written = trace.revisions_written();
    reading.revisions_right = trace.revisions_right();
    return reading;
  };
  // Any numbers of the problem (each at most as often as given) that add up to the target are right.
  task.reward = accuracy_and_format(r1::SubsetSumAnswer{});
  return task;
}

inline StudyTask chain_sum_task() {
  StudyTask task;
  task.name = "chain_sum";
  task.level_unit = "terms";
  task.alphabet = r1::kChainSumAlphabet;
  task.tags = tag_list(r1::kChainSumTags);
  task.default_levels = {2, 3, 4, 6};
  task.default_digits = 3;
  task.default_max_new_tokens = 256;
  task.corpus = [](const CorpusOptions& options, std::size_t count, std::uint64_t seed) {
    r1::ChainSumCorpusConfig config;
    config.levels = options.levels;
    config.term_digits = options.digits;
    config.worked_fraction = options.worked_fraction;
    config.slip_fraction = options.error_fraction;
    config.checked_fraction = options.checked_fraction;
    config.checked_slip_fraction = options.checked_error_fraction;
    return study_corpus(r1::chain_sum_pretraining_corpus(config, count, seed));
  };
  task.problems = [](int level, int digits, r1::Split split, std::size_t count, std::uint64_t seed) {
    return r1::chain_sum_problems({level, digits, {}}, split, count, seed);
  };
  task.read = [](const r1::Problem& problem, std::string_view completion) {
    const std::int64_t gold = std::stoll(problem.answer);
    const r1::ChainSumTrace trace = r1::trace_chain_sum(completion);
    return TaskReading{trace.first.has_value(), trace.self_checked(), trace.first_chain_wrong(gold),
                       trace.caught_and_corrected(gold)};
  };
  task.reward = Reward{{1.0, 0.1}, r1::AnyVerifier(r1::MathAnswer{}), r1::R1Format{}};
  return task;
}

// The level is the divisor's digits (--digits is not used). The corpus options map as: error_fraction is the
// direct answers' miss rate (a worked example's errors are its estimates that are too big, about 45% at every
// level from 2 digits), checked_error_fraction the share of checked examples whose estimate is too big; a
// quarter of the corpus is drills (QuotientCorpusConfig::drill_fraction) in both bases, by default compared
// drills (a check line's arithmetic without its verdict).
inline StudyTask quotient_task() {
  StudyTask task;
  task.name = "quotient";
  task.level_unit = "digits";
  task.alphabet = r1::kQuotientAlphabet;
  task.tags = tag_list(r1::kQuotientTags);
  task.default_levels = {2, 3, 4, 5};
  task.default_digits = 1;  // unused: the level is the divisor's digits
  task.default_max_new_tokens = 192;
  // The levels open one at a time over the first 400 of the 500 GRPO steps (2 digits, then 3 at step 100, 4 at
  // 200, 5 at 300), with G 16. Checking reached half of the 5-digit completions in 2 of 9 seeds with G 8 and
  // every level mixed, in 5 of 9 with G 8 and the levels opened over 200 steps, in 6 of 9 with G 16 over 200
  // steps, and in 8 of 9 with G 16 over 400 steps, the ninth at 49.8% (bench/RESULTS.md, 2026-12-07 night
  // and late night).
  task.default_curriculum_steps = 400;
  task.default_group_size = 16;
  // A base pretrained twice as long on twice the corpus, with compared drills, writes check lines that are right
  // more often (at 5 digits, forced to check at T 0.6: products 82% right, relations 88%, against 80% and 82% at
  // 2500 steps of 150,000 with product drills), and RL from it checks nearly always (bench/RESULTS.md,
  // 2026-12-08).
  task.default_pretrain_steps = 5000;
  task.default_corpus = 300000;
  task.corpus = [](const CorpusOptions& options, std::size_t count, std::uint64_t seed) {
    r1::QuotientCorpusConfig config;
    config.levels = options.levels;
    config.worked_fraction = options.worked_fraction;
    config.direct_miss_fraction = options.error_fraction;
    config.checked_fraction = options.checked_fraction;
    config.checked_miss_fraction = options.checked_error_fraction;
    r1::require(options.drill == "product" || options.drill == "compared", "--drill: '", options.drill,
                "': expected product or compared");
    config.drill = options.drill == "compared" ? r1::QuotientDrill::compared : r1::QuotientDrill::product;
    return study_corpus(r1::quotient_pretraining_corpus(config, count, seed));
  };
  task.problems = [](int level, int /*digits*/, r1::Split split, std::size_t count, std::uint64_t seed) {
    return r1::quotient_problems({level, {}}, split, count, seed);
  };
  task.read = [](const r1::Problem& problem, std::string_view completion) {
    const r1::QuotientTrace trace = r1::trace_quotient(r1::Quotient::parse(problem.prompt), completion);
    TaskReading reading{trace.estimate.has_value(), trace.self_checked(), trace.first_attempt_wrong(),
                        trace.caught_and_corrected()};
    // The check's lines (products compared with the dividend), written and right, in the revision counters.
    reading.revisions_written = trace.well_formed ? static_cast<int>(trace.lines.size()) : 0;
    reading.revisions_right = trace.well_formed ? trace.lines_right() : 0;
    return reading;
  };
  task.reward = accuracy_and_format(r1::QuotientAnswer{});
  return task;
}

inline StudyTask study_task(const std::string& name) {
  if (name == "subset_sum") return subset_sum_task();
  if (name == "quotient") return quotient_task();
  r1::require(name == "chain_sum", "--task: '", name, "': expected subset_sum, quotient or chain_sum");
  return chain_sum_task();
}

}  // namespace aha
