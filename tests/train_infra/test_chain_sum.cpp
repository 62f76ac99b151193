// The chain-sum task family (r1/tasks/chain_sum.hpp) and its self-check detector
// (r1/tasks/chain_sum_trace.hpp). Expected strings and sums are worked by hand.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/tasks/chain_sum.hpp"
#include "r1/tasks/chain_sum_trace.hpp"

namespace {

// 483 + 295 = 778, 778 + 106 = 884; right to left: 106 + 295 = 401, 401 + 483 = 884.
const r1::ChainSum kExample{{483, 295, 106}, 3};

}  // namespace

TEST_CASE("chain sum: prompt, answer and the three completion styles") {
  CHECK(kExample.prompt() == "483+295+106=");
  CHECK(kExample.answer() == "0884");
  CHECK(kExample.steps() == 2);
  CHECK(kExample.direct_completion() == "<think></think><answer>0884</answer>");
  CHECK(kExample.worked_completion() == "<think>0483+295=0778;0778+106=0884</think><answer>0884</answer>");
  CHECK(kExample.checked_completion() ==
        "<think>0483+295=0778;0778+106=0884<check>0106+295=0401;0401+483=0884<ok></think><answer>0884</answer>");
  // A slip of +10 at the second step: 778 + 106 written as 894, and the answer follows the slip.
  const r1::ChainSlip slip{1, 10};
  CHECK(kExample.worked_completion(slip) == "<think>0483+295=0778;0778+106=0894</think><answer>0894</answer>");
  // The check catches it: 894 != 884, <wrong>, and the chain is worked again.
  CHECK(kExample.checked_completion(slip) ==
        "<think>0483+295=0778;0778+106=0894<check>0106+295=0401;0401+483=0884<wrong>0483+295=0778;0778+106=0884"
        "</think><answer>0884</answer>");
  // Right to left: 106 + 295 = 401, 401 + 483 = 884; checked left to right.
  CHECK(kExample.worked_completion(std::nullopt, true) ==
        "<think>0106+295=0401;0401+483=0884</think><answer>0884</answer>");
  CHECK(kExample.checked_completion(r1::ChainSlip{0, -1}, true) ==
        "<think>0106+295=0400;0400+483=0883<check>0483+295=0778;0778+106=0884<wrong>0106+295=0401;0401+483=0884"
        "</think><answer>0884</answer>");
  // A slip of -100 at the first step propagates: 678, then 678 + 106 = 784.
  CHECK(kExample.worked_completion(r1::ChainSlip{0, -100}) ==
        "<think>0483+295=0678;0678+106=0784</think><answer>0784</answer>");
}

TEST_CASE("chain sum: parse round-trips and rejects malformed prompts") {
  const auto parsed = r1::ChainSum::parse("483+295+106=");
  CHECK(parsed.terms() == std::vector<std::int64_t>{483, 295, 106});
  CHECK(parsed.term_digits() == 3);
  CHECK(r1::ChainSum::parse("07+00=").answer() == "007");
  for (const char* bad : {"", "=", "483=", "483+295", "483++295=", "48+295=", "483+29a=", "1234567+1234567=",
                          "1+1+1+1+1+1+1+1+1+1+1="}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(r1::ChainSum::parse(bad), r1::Error);
  }
  CHECK_THROWS_AS(r1::ChainSum({1000, 1}, 3), r1::Error);
  CHECK_THROWS_AS(r1::ChainSum({5}, 3), r1::Error);
  CHECK_THROWS_AS(kExample.chain(false, r1::ChainSlip{2, 1}), r1::Error);   // only steps 0 and 1
  CHECK_THROWS_AS(kExample.chain(false, r1::ChainSlip{0, -900}), r1::Error);  // 778 - 900 < 0
}

TEST_CASE("chain sum: levels, disjoint splits and determinism") {
  for (const int terms : {2, 4, 6}) {
    const r1::ChainSumConfig level{terms, 3, {}};
    const auto train = r1::chain_sum_problems(level, r1::Split::train, 300, 11);
    const auto held = r1::chain_sum_problems(level, r1::Split::held_out, 100, 12);
    std::set<std::string> train_prompts;
    for (const auto& problem : train) {
      const auto parsed = r1::ChainSum::parse(problem.prompt);
      CHECK(parsed.term_count() == terms);
      CHECK(problem.answer == parsed.answer());
      CHECK(problem.extra.at("terms") == terms);
      train_prompts.insert(problem.prompt);
    }
    CHECK(train_prompts.size() == train.size());
    for (const auto& problem : held) CHECK(train_prompts.count(problem.prompt) == 0);
    const auto again = r1::chain_sum_problems(level, r1::Split::held_out, 100, 12);
    CHECK(again.front().prompt == held.front().prompt);
    CHECK(again.back().prompt == held.back().prompt);
  }
  CHECK_THROWS_AS(r1::chain_sum_problems({1, 3, {}}, r1::Split::train, 1, 1), r1::Error);
  CHECK_THROWS_AS(r1::chain_sum_problems({11, 3, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("chain sum: slips stay inside the sum's digits") {
  r1::Philox random{5, 0};
  // 000 + 000: only +1, +10, +100 fit; 999 x 10 = 9990: +10 and +100 would pass 9999.
  for (const auto& terms : {std::vector<std::int64_t>{0, 0}, std::vector<std::int64_t>(10, 999)}) {
    const r1::ChainSum problem{terms, 3};
    for (int i = 0; i < 400; ++i) {
      const bool reversed = i % 2 == 1;
      const auto slip = r1::draw_chain_slip(problem, random, reversed);
      CHECK(slip.step >= 0);
      CHECK(slip.step < problem.steps());
      const auto chain = problem.chain(reversed, slip);  // throws when out of range
      CHECK(chain.result == problem.sum() + slip.delta);
    }
  }
  // 900 + 099 + 000: right to left the first partial sum is 99, so -100 at step 0 never fits there.
  const r1::ChainSum edge{{900, 99, 0}, 3};
  for (int i = 0; i < 400; ++i) {
    const auto slip = r1::draw_chain_slip(edge, random, true);
    CHECK_NOTHROW(edge.chain(true, slip));
  }
}

TEST_CASE("chain sum: the pretraining corpus has the configured shares and never a held-out problem") {
  r1::ChainSumCorpusConfig config;  // 50% worked, 15% of those slip, 5% of those check
  const auto corpus = r1::chain_sum_pretraining_corpus(config, 20000, 3);
  REQUIRE(corpus.size() == 20000);
  double worked = 0, slipped = 0, checked = 0, reversed = 0;
  std::set<int> levels;
  for (const auto& example : corpus) {
    const auto problem = r1::ChainSum::parse(example.prompt);
    CHECK(r1::split_of("chain_sum:" + example.prompt, config.split) == r1::Split::train);
    levels.insert(problem.term_count());
    const auto trace = r1::trace_chain_sum(example.completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.style == example.style);
    const bool answer_right = trace.answer == problem.sum();
    if (example.style == r1::ChainSumStyle::direct) {
      CHECK(answer_right);
      continue;
    }
    ++worked;
    slipped += example.slipped ? 1 : 0;
    reversed += example.reversed ? 1 : 0;
    const auto& terms = problem.terms();
    CHECK(example.completion.starts_with("<think>" + std::string(4 - 3, '0') +
                                         std::to_string(1000 + (example.reversed ? terms.back() : terms.front())).substr(1)));
    CHECK(trace.first->arithmetic_right == !example.slipped);
    CHECK(trace.first->continuous);
    if (example.style == r1::ChainSumStyle::checked) {
      ++checked;
      CHECK(answer_right);  // a check always ends on the right sum
      CHECK((trace.verdict == r1::ChainSumVerdict::wrong) == example.slipped);
      CHECK(trace.caught_and_corrected(problem.sum()) == example.slipped);
    } else {
      CHECK(answer_right == !example.slipped);
    }
  }
  CHECK(levels == std::set<int>{2, 3, 4, 6});
  // Binomial standard errors: sqrt(.25/20000) = 0.0035, sqrt(.1275/10000) = 0.0036, sqrt(.0475/10000) = 0.0022;
  // the bounds are 4 to 6 of them (the corpus is deterministic in its seed, so this cannot flake).
  CHECK(worked / 20000 == doctest::Approx(0.5).epsilon(0.04));
  CHECK(slipped / worked == doctest::Approx(0.15).epsilon(0.1));
  CHECK(checked / worked == doctest::Approx(0.05).epsilon(0.2));
  CHECK(reversed / worked == doctest::Approx(0.5).epsilon(0.04));

  config.checked_fraction = 0;
  for (const auto& example : r1::chain_sum_pretraining_corpus(config, 2000, 3))
    CHECK(example.completion.find("<check>") == std::string::npos);
}

TEST_CASE("chain sum trace: reads each style and finds the caught-and-corrected completions") {
  const std::int64_t gold = 884;
  const auto direct = r1::trace_chain_sum("<think></think><answer>0884</answer>");
  CHECK(direct.well_formed);
  CHECK(direct.style == r1::ChainSumStyle::direct);
  CHECK(!direct.first);
  CHECK(direct.answer == 884);

  // A worked chain with an arithmetic error (778 + 106 written 884 + 10) and a break in continuity.
  const auto worked = r1::trace_chain_sum("<think>0483+295=0778;0779+106=0894</think><answer>0894</answer>");
  REQUIRE(worked.well_formed);
  CHECK(worked.style == r1::ChainSumStyle::worked);
  CHECK(worked.first->steps == 2);
  CHECK(worked.first->result == 894);
  CHECK(!worked.first->arithmetic_right);
  CHECK(!worked.first->continuous);
  CHECK(worked.first_chain_wrong(gold));
  CHECK(!worked.self_checked());

  const auto caught = r1::trace_chain_sum(kExample.checked_completion(r1::ChainSlip{1, 10}));
  REQUIRE(caught.well_formed);
  CHECK(caught.self_checked());
  CHECK(caught.verdict == r1::ChainSumVerdict::wrong);
  CHECK(caught.check->result == 884);
  CHECK(caught.redo->result == 884);
  CHECK(caught.caught_and_corrected(gold));

  const auto agreed = r1::trace_chain_sum(kExample.checked_completion());
  CHECK(agreed.self_checked());
  CHECK(agreed.verdict == r1::ChainSumVerdict::ok);
  CHECK(!agreed.caught_and_corrected(gold));  // nothing to catch

  // A check that cries wolf: the first chain was right, the redo too; not an "aha".
  const auto false_alarm = r1::trace_chain_sum(
      "<think>0483+295=0778;0778+106=0884<check>0106+295=0401;0401+483=0885<wrong>0483+295=0778;0778+106=0884"
      "</think><answer>0884</answer>");
  CHECK(false_alarm.self_checked());
  CHECK(!false_alarm.caught_and_corrected(gold));
}

TEST_CASE("chain sum trace: anything off the grammar is not well formed, and nothing throws") {
  const std::string long_digits(13, '7');
  const std::string huge = "<think>" + std::string(5000, '1') + "</think><answer>1</answer>";
  for (const std::string& bad :
       {std::string(), std::string("<think>"), std::string("<answer>0884</answer>"),
        std::string("<think></think><answer>0884"), std::string("<think></think><answer></answer>"),
        std::string("<think></think><answer>0884</answer>extra"), std::string("<think>0483+295</think><answer>1</answer>"),
        std::string("<think>0483+295=0778;</think><answer>1</answer>"),
        std::string("<think>0483+295=0778<check></think><answer>1</answer>"),
        std::string("<think>0483+295=0778<check>0295+483=0778</think><answer>1</answer>"),
        std::string("<think>0483+295=0778<check>0295+483=0778<wrong></think><answer>1</answer>"),
        "<think></think><answer>" + long_digits + "</answer>", huge}) {
    CAPTURE(bad.substr(0, 80));
    const auto trace = r1::trace_chain_sum(bad);
    CHECK(!trace.well_formed);
    CHECK(!trace.self_checked());
    CHECK(!trace.caught_and_corrected(1));
  }
}
