// The subset-sum task family (r1/tasks/subset_sum.hpp), its self-check detector
// (r1/tasks/subset_sum_trace.hpp) and its verifier (r1/reward/subset_sum.hpp).
// Expected strings and sums are worked by hand.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/subset_sum.hpp"
#include "r1/tasks/subset_sum.hpp"
#include "r1/tasks/subset_sum_trace.hpp"

namespace {

// Of the 15 non-empty choices of {47, 23, 81, 15} only 47 + 15 makes 62 (bit i: number i chosen).
const r1::SubsetSum kExample{{47, 23, 81, 15}, 2, 62};
constexpr r1::SubsetChoice kSolution = 0b1001;

}  // namespace

TEST_CASE("subset sum: prompt, sums, chains, checks and completions") {
  CHECK(kExample.prompt() == "47,23,81,15=062");
  CHECK(kExample.choice_count() == 16);
  CHECK(kExample.sum(0) == 0);
  CHECK(kExample.sum(0b1111) == 166);
  CHECK(kExample.sum(0b0110) == 104);
  CHECK(kExample.solution_count() == 1);
  CHECK(kExample.solves(kSolution));
  CHECK_FALSE(kExample.solves(16));
  CHECK(kExample.expression(kSolution) == "47+15");
  CHECK(kExample.expression(0b0100) == "81");
  CHECK(kExample.chain(kSolution) == "+47=047;+15=062");
  CHECK(kExample.chain(0b1110) == "+23=023;+81=104;+15=119");
  CHECK(kExample.check(70) == "070>062");
  CHECK(kExample.check(23) == "023<062");
  CHECK(kExample.check(62) == "062=062");
  CHECK(kExample.direct_completion(kSolution) == "<think></think><answer>47+15</answer>");
  CHECK(kExample.worked_completion(kSolution) == "<think>+47=047;+15=062</think><answer>47+15</answer>");
  CHECK(kExample.checked_completion(kSolution) ==
        "<think>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  // 47 + 23 = 70 overshoots; one or two changes away, dropping 23 and adding 15 makes 62 exactly.
  CHECK(kExample.checked_completion(0b0011) ==
        "<think>+47=047;+23=070<check>070>062<wrong>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  CHECK(kExample.checked_completion(0b0011, 1) ==
        "<think>+47=047;+23=070<check>070>062<wrong></think><answer>47+23</answer>");
  CHECK_THROWS_AS(kExample.checked_completion(0), r1::Error);
  const r1::Problem problem = kExample.problem(kSolution);
  CHECK(problem.prompt == "47,23,81,15=062");
  CHECK(problem.answer == "47+15");
  CHECK(problem.numbers == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(problem.target == 62);
  CHECK(problem.extra["identity"] == "subset_sum:47,23,81,15=062");
  CHECK_THROWS_AS(kExample.problem(0b0011), r1::Error);
}

TEST_CASE("subset sum: the revision moves towards the target, fewer changes and smaller choices first") {
  CHECK(kExample.revision(0b0011, {0b0011}) == kSolution);
  // 10,20,30=030: {10} is 20 short; 10+20 (add one) and 30 (swap: two changes) both make 30: one change wins.
  const r1::SubsetSum tie{{10, 20, 30}, 2, 30};
  CHECK(tie.revision(0b001, {0b001}) == 0b011);
  CHECK(tie.revision(0b001, {0b001, 0b011}) == 0b100);
  // Every non-empty neighbour tried: the choice itself comes back, and the checked completion stops there.
  const r1::SubsetSum pair{{10, 20}, 2, 30};
  CHECK(pair.revision(0b01, {0b01, 0b10, 0b11}) == 0b01);
}

TEST_CASE("subset sum: the gap_move revision writes the gap and moves the number nearest it") {
  const auto gap_move = r1::SubsetSumRevision::gap_move;
  CHECK(kExample.gap_line(70) == "062+008=070");
  CHECK(kExample.gap_line(47) == "047+015=062");
  // 47 + 23 = 70 is 8 over: of the chosen 47 and 23, 23 is nearest 8 (15 against 39) and is dropped; 47 is then 15
  // under: of the unchosen 23 (just moved: excluded), 81 and 15, 15 is nearest (exactly) and is added.
  CHECK(kExample.gap_move(0b0011) == 1);
  CHECK(kExample.gap_move(0b0001, 23) == 3);
  CHECK(kExample.gap_move(kSolution) == -1);
  CHECK(kExample.checked_completion(0b0011, 4, gap_move) ==
        "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,23+47=047<check>047<062<wrong>047+015=062,15"
        "+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  // Under by exactly an unchosen number: one move.
  CHECK(kExample.checked_completion(0b0001, 4, gap_move) ==
        "<think>+47=047<check>047<062<wrong>047+015=062,15+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  // 69 + 95 + 64 = 228 is 69 over 159: dropping the chosen 69 solves.
  const r1::SubsetSum drop{{69, 95, 64}, 2, 159};
  CHECK(drop.checked_completion(0b111, 4, gap_move) ==
        "<think>+69=069;+95=164;+64=228<check>228>159<wrong>159+069=228,69+95=095;+64=159<check>159=159<ok></think>"
        "<answer>95+64</answer>");
  // 12,40,50=052 from 12 + 50 = 62 (10 over): drop 12 (distance 2) -> 50 (2 under): 12 would be nearest (10) but
  // was just moved, so add 40 -> 90 (38 over): 40 is nearest (2) but just moved, so drop 50 -> 40 (12 under): add
  // 12 -> 52. Five chains; with four the last <wrong> ends the thinking and 40 is answered.
  const r1::SubsetSum loop{{12, 40, 50}, 2, 52};
  CHECK(loop.gap_move(0b100) == 0);
  CHECK(loop.gap_move(0b100, 12) == 1);
  CHECK(loop.checked_completion(0b101, 5, gap_move) ==
        "<think>+12=012;+50=062<check>062>052<wrong>052+010=062,12+50=050<check>050<052<wrong>050+002=052,40"
        "+40=040;+50=090<check>090>052<wrong>052+038=090,50+40=040<check>040<052<wrong>040+012=052,12"
        "+12=012;+40=052<check>052=052<ok></think><answer>12+40</answer>");
  CHECK(loop.checked_completion(0b101, 4, gap_move) ==
        "<think>+12=012;+50=062<check>062>052<wrong>052+010=062,12+50=050<check>050<052<wrong>050+002=052,40"
        "+40=040;+50=090<check>090>052<wrong>052+038=090,50+40=040<check>040<052<wrong></think><answer>40</answer>");
  // Over with one number chosen: dropping it would empty the choice, so there is no move and the thinking ends.
  const r1::SubsetSum single{{40, 50}, 2, 40};
  CHECK(single.gap_move(0b10) == -1);
  CHECK(single.checked_completion(0b10, 4, gap_move) == "<think>+50=050<check>050>040<wrong></think><answer>50</answer>");
  // 10 is 30 under 40: the unchosen 35 and 25 are both 5 from 30; the first in the prompt's order moves.
  const r1::SubsetSum tie{{35, 25, 10}, 2, 40};
  CHECK(tie.gap_move(0b100) == 0);
}

TEST_CASE("subset sum: parse round-trips and rejects malformed prompts") {
  const auto parsed = r1::SubsetSum::parse("47,23,81,15=062");
  CHECK(parsed.numbers() == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(parsed.digits() == 2);
  CHECK(parsed.target() == 62);
  for (const char* bad : {"", "=", "47=047", "47,23=70", "47,23=0070", "47+23=070", "4,23=070", "47,23,=070",
                          "47,23=", "47,23070", "47,2a=070", "12345,12345=123456", "47,23=000", "00,23=023",
                          "10,10,10,10,10,10,10,10,10,10,10=010"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(r1::SubsetSum::parse(bad), r1::Error);
  }
  CHECK_THROWS_AS(r1::SubsetSum({47}, 2, 47), r1::Error);
  CHECK_THROWS_AS(r1::SubsetSum({147, 23}, 2, 23), r1::Error);
  CHECK_THROWS_AS(r1::SubsetSum({47, 23}, 2, 1000), r1::Error);
}

TEST_CASE("subset sum: levels, targets, witnesses, disjoint splits and determinism") {
  std::set<std::string> train_prompts;
  for (const int numbers : {2, 3, 4, 6, 10}) {
    const r1::SubsetSumConfig config{numbers, 2, {}};
    const auto train = r1::subset_sum_problems(config, r1::Split::train, 300, 5);
    const auto held_out = r1::subset_sum_problems(config, r1::Split::held_out, 60, 5);
    for (const auto& problem : train) train_prompts.insert(problem.prompt);
    for (const auto* set : {&train, &held_out}) {
      for (const auto& problem : *set) {
        const auto parsed = r1::SubsetSum::parse(problem.prompt);
        CHECK(parsed.count() == numbers);
        CHECK(parsed.target() >= 10);
        for (const auto number : parsed.numbers()) CHECK((number >= 10 && number <= 99));
        CHECK(r1::subset_sum_answer_error(problem.answer, problem.numbers, problem.target).empty());
      }
    }
    for (const auto& problem : held_out) CHECK(train_prompts.count(problem.prompt) == 0);
    CHECK(r1::subset_sum_problems(config, r1::Split::train, 300, 5)[299].prompt == train[299].prompt);
  }
  CHECK_THROWS_AS(r1::subset_sum_problems({1, 2, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("subset sum: near misses are wrong, non-empty, and one or two changes from the solution") {
  r1::Philox random{9, 1};
  for (int i = 0; i < 500; ++i) {
    const auto draw = r1::draw_subset_sum({3 + i % 4, 2, {}}, random);
    const r1::SubsetChoice miss = r1::draw_near_miss(draw.problem, draw.witness, random);
    CHECK(miss != 0);
    CHECK_FALSE(draw.problem.solves(miss));
    const int changes = std::popcount(miss ^ draw.witness);
    CHECK((changes == 1 || changes == 2));
  }
}

TEST_CASE("subset sum: the pretraining corpus has the configured shares and never a held-out problem") {
  r1::SubsetSumCorpusConfig config;
  config.checked_fraction = 0.1;
  config.checked_miss_fraction = 0.5;
  const auto corpus = r1::subset_sum_pretraining_corpus(config, 20000, 3);
  REQUIRE(corpus.size() == 20000);
  std::size_t worked = 0, checked = 0, checked_missed = 0, worked_missed = 0, direct = 0, direct_missed = 0,
              corrected = 0;
  std::set<int> levels;
  for (const auto& example : corpus) {
    const auto problem = r1::SubsetSum::parse(example.prompt);
    CHECK(problem.count() == example.numbers);
    levels.insert(example.numbers);
    CHECK(r1::split_of("subset_sum:" + example.prompt, config.split) == r1::Split::train);
    const auto trace = r1::trace_subset_sum(problem, example.completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.style == static_cast<r1::SubsetSumStyle>(example.style));
    switch (example.style) {
      case r1::SubsetSumStyle::direct:
        ++direct;
        CHECK(trace.answer_solves == !example.missed);
        direct_missed += example.missed ? 1 : 0;
        break;
      case r1::SubsetSumStyle::worked:
        ++worked;
        CHECK(trace.first_choice_wrong() == example.missed);
        CHECK(trace.answer_solves == !example.missed);
        worked_missed += example.missed ? 1 : 0;
        break;
      case r1::SubsetSumStyle::checked:
        ++checked;
        CHECK(trace.first_choice_wrong() == example.missed);
        for (const auto& attempt : trace.attempts) {
          CHECK(attempt.arithmetic_right);
          CHECK(attempt.numbers_match);
          CHECK(attempt.check_right);
        }
        checked_missed += example.missed ? 1 : 0;
        CHECK(trace.caught_and_corrected() == (example.missed && trace.answer_solves));
        corrected += trace.caught_and_corrected() ? 1 : 0;
        break;
    }
  }
  CHECK(levels == std::set<int>{3, 4, 5, 6});
  // Binomial standard errors: worked share sqrt(.25/20000) = 0.0035; checked of worked sqrt(.09/10000) = 0.003;
  // misses sqrt(.1275/9000) = 0.0038 and sqrt(.25/1000) = 0.016. Bounds are 4 to 5 of them (deterministic seed).
  CHECK(std::abs(double(worked + checked) / double(corpus.size()) - 0.5) < 0.015);
  CHECK(std::abs(double(checked) / double(worked + checked) - 0.1) < 0.015);
  CHECK(std::abs(double(worked_missed) / double(worked) - 0.15) < 0.02);
  CHECK(std::abs(double(direct_missed) / double(direct) - 0.15) < 0.02);  // sqrt(.1275/10000) = 0.0036
  CHECK(std::abs(double(checked_missed) / double(checked) - 0.5) < 0.08);
  CHECK(double(corrected) > 0.9 * double(checked_missed));  // the revision finds most near misses' solutions
  CHECK(direct + worked + checked == corpus.size());
  r1::SubsetSumCorpusConfig bad;
  bad.checked_fraction = -0.5;
  CHECK_THROWS_AS(r1::subset_sum_pretraining_corpus(bad, 1, 1), r1::Error);
}

TEST_CASE("subset sum: the revision rule changes only the checked examples' completions") {
  r1::SubsetSumCorpusConfig nearest;
  nearest.worked_fraction = 0.9;
  nearest.miss_fraction = 0.4;
  nearest.checked_fraction = 0.3;
  r1::SubsetSumCorpusConfig on_paper = nearest;
  on_paper.revision = r1::SubsetSumRevision::gap_move;
  const auto a = r1::subset_sum_pretraining_corpus(nearest, 400, 11);
  const auto b = r1::subset_sum_pretraining_corpus(on_paper, 400, 11);
  REQUIRE(a.size() == b.size());
  int revised = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(b[i].completion);
    CHECK(a[i].prompt == b[i].prompt);
    CHECK(a[i].style == b[i].style);
    if (a[i].style != r1::SubsetSumStyle::checked) CHECK(a[i].completion == b[i].completion);
    const auto trace = r1::trace_subset_sum(r1::SubsetSum::parse(b[i].prompt), b[i].completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.revisions_right() == trace.revisions_written());  // the corpus's own revisions read back right
    revised += trace.revisions_written();
  }
  CHECK(revised > 0);
  // Without checked examples the rule is never used: the corpus is the same text (the no_checks base stays valid).
  nearest.checked_fraction = on_paper.checked_fraction = 0;
  const auto c = r1::subset_sum_pretraining_corpus(nearest, 200, 5);
  const auto d = r1::subset_sum_pretraining_corpus(on_paper, 200, 5);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].completion == d[i].completion);
}

TEST_CASE("subset sum: far misses' first gap is no prompt number, and the revision still reaches the target") {
  const auto gap_move = r1::SubsetSumRevision::gap_move;
  // revised_choice is the choice checked_completion answers: the 12,40,50=052 loop above answers 40 after four
  // chains and 12 + 40 after five.
  const r1::SubsetSum loop{{12, 40, 50}, 2, 52};
  CHECK(loop.revised_choice(0b101, 4, gap_move) == 0b010);
  CHECK(loop.revised_choice(0b101, 5, gap_move) == 0b011);
  CHECK(kExample.revised_choice(0b0011, 4, gap_move) == kSolution);
  // 47,23,81,15=062 (a, b, c, d) under gap_move, each of the 14 wrong choices by hand (gap; chains to the target):
  //   a 47 (15 = d: a prompt number)      b 23 (39; b, ab, a, ad: 4)        ab 70 (8; ab, a, ad: 3)
  //   c 81 (19; one chosen, no move)      ac 128 (66; drop c, add d: 3)     bc 104 (42; drop b, then c alone: none)
  //   abc 151 (89; abc, ab, a, ad: 4)     d 15 (47 = a)                     bd 38 (24; add a, drop b: 3)
  //   abd 85 (23 = b)                     cd 96 (34; drop d, then c alone)  acd 143 (81 = c)
  //   bcd 119 (57; bcd, bd, abd, ad: 4)   abcd 166 (104; drop c, drop b: 3)
  // So the far draw picks among b, ab, ac, abc, bd, bcd, abcd within 4 chains, and ab, ac, bd, abcd within 3.
  const auto drawn = [&](int max_attempts) {
    r1::Philox random{21, 4};
    std::set<r1::SubsetChoice> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(r1::draw_far_miss(kExample, kSolution, random, max_attempts, gap_move));
    return seen;
  };
  CHECK(drawn(4) == std::set<r1::SubsetChoice>{0b0010, 0b0011, 0b0101, 0b0111, 0b1010, 0b1110, 0b1111});
  CHECK(drawn(3) == std::set<r1::SubsetChoice>{0b0011, 0b0101, 0b1010, 0b1111});
  // 10,20=030: both wrong choices are 20 or 10 off, a prompt number each: no far miss, so a near one.
  const r1::SubsetSum small{{10, 20}, 2, 30};
  r1::Philox random{5, 2};
  for (int i = 0; i < 20; ++i) {
    const r1::SubsetChoice miss = r1::draw_far_miss(small, 0b11, random, 4, gap_move);
    CHECK((miss == 0b01 || miss == 0b10));
  }
}

namespace {

// The shares of checked examples' written first gaps that are a number of the prompt, and of checked missed
// examples whose answer reaches the target.
struct FirstGaps {
  std::size_t missed = 0, prompt_number = 0, solved = 0, one_change = 0;
};
FirstGaps first_gaps(const std::vector<r1::SubsetSumExample>& corpus) {
  FirstGaps counts;
  for (const auto& example : corpus) {
    if (example.style != r1::SubsetSumStyle::checked || !example.missed) continue;
    const auto problem = r1::SubsetSum::parse(example.prompt);
    const auto trace = r1::trace_subset_sum(problem, example.completion);
    REQUIRE(trace.well_formed);
    ++counts.missed;
    counts.solved += trace.answer_solves ? 1 : 0;
    if (!trace.attempts.front().revision) continue;
    const std::int64_t gap = trace.attempts.front().revision->gap;
    const auto& numbers = problem.numbers();
    counts.prompt_number += std::find(numbers.begin(), numbers.end(), gap) != numbers.end() ? 1 : 0;
    // First choices one change from some solution (near misses).
    for (r1::SubsetChoice solution = 1; solution < problem.choice_count(); ++solution)
      if (problem.solves(solution) && std::popcount(solution ^ trace.attempts.front().choice) == 1) {
        ++counts.one_change;
        break;
      }
  }
  return counts;
}

}  // namespace

TEST_CASE("subset sum: the far miss draw changes the checked examples' first choices only") {
  r1::SubsetSumCorpusConfig near;
  near.worked_fraction = 0.9;
  near.miss_fraction = 0.4;
  near.checked_fraction = 0.3;
  near.checked_miss_fraction = 0.5;
  near.revision = r1::SubsetSumRevision::gap_move;
  r1::SubsetSumCorpusConfig far = near;
  far.checked_miss_draw = r1::SubsetSumMissDraw::far;
  const auto a = r1::subset_sum_pretraining_corpus(near, 4000, 17);
  const auto b = r1::subset_sum_pretraining_corpus(far, 4000, 17);
  const FirstGaps near_gaps = first_gaps(a), far_gaps = first_gaps(b);
  // About 0.9 * 0.3 * 0.5 * 4000 = 540 checked missed examples each.
  REQUIRE(near_gaps.missed > 400);
  REQUIRE(far_gaps.missed > 400);
  // Near misses: one change in over half the draws (a second change is drawn half the time, and skipped when it
  // cancels the first), each gap then a prompt number (64% of r1_zero_aha's 3,244 first gaps); far: none, bar
  // the near-miss fallbacks of problems with no far miss (2.8% of its 3,388).
  CHECK(double(near_gaps.prompt_number) > 0.5 * double(near_gaps.missed));
  CHECK(double(far_gaps.prompt_number) < 0.06 * double(far_gaps.missed));
  CHECK(double(near_gaps.one_change) > 0.5 * double(near_gaps.missed));
  CHECK(far_gaps.one_change <= far_gaps.prompt_number);  // a choice one change off has that number as its gap
  // The far draw keeps only choices the revision solves (bar fallbacks: 98% of r1_zero_aha's end right); near
  // misses fail about a fifth of the time (82% right there).
  CHECK(double(far_gaps.solved) > 0.95 * double(far_gaps.missed));
  CHECK(double(near_gaps.solved) < 0.9 * double(near_gaps.missed));
  for (const auto& example : b) {
    const auto trace = r1::trace_subset_sum(r1::SubsetSum::parse(example.prompt), example.completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.revisions_right() == trace.revisions_written());
  }
  // The draw of the direct and worked examples' misses is unchanged: without checked examples the corpora match.
  near.checked_fraction = far.checked_fraction = 0;
  const auto c = r1::subset_sum_pretraining_corpus(near, 300, 5);
  const auto d = r1::subset_sum_pretraining_corpus(far, 300, 5);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].completion == d[i].completion);
}

namespace {

// FNV-1a (64-bit) of the corpus's prompts and completions, each followed by a newline.
std::uint64_t corpus_hash(const std::vector<r1::SubsetSumExample>& corpus) {
  std::uint64_t hash = 14695981039346656037ull;  // the FNV offset basis
  for (const auto& example : corpus)
    for (const std::string* text : {&example.prompt, &example.completion}) {
      for (const char c : *text + "\n") {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ull;  // the FNV prime
      }
    }
  return hash;
}

}  // namespace

TEST_CASE("subset sum: the default corpus is the committed bases' text, byte for byte") {
  // r1_zero_aha's corpus (90% worked, 40% missed, checked misses 50%, seed 1 + 2), its first 2,000 examples,
  // hashed with this header as committed before draw_far_miss (3f6cd98); the corpus's text has not changed
  // since the committed bases were pretrained (bench/RESULTS.md, 2026-12-07 late morning).
  r1::SubsetSumCorpusConfig config;
  config.worked_fraction = 0.9;
  config.miss_fraction = 0.4;
  config.checked_miss_fraction = 0.5;
  config.checked_fraction = 0.05;
  CHECK(corpus_hash(r1::subset_sum_pretraining_corpus(config, 2000, 3)) == 0x069bce2bc5f95e40ull);
  config.revision = r1::SubsetSumRevision::gap_move;
  CHECK(corpus_hash(r1::subset_sum_pretraining_corpus(config, 2000, 3)) == 0xe8beb6e35162462bull);
  config.checked_fraction = 0;  // the no_checks base
  CHECK(corpus_hash(r1::subset_sum_pretraining_corpus(config, 2000, 3)) == 0x2849e37806765572ull);
}

TEST_CASE("subset sum trace: reads each style and finds the caught-and-corrected completions") {
  const auto direct = r1::trace_subset_sum(kExample, "<think></think><answer>47+15</answer>");
  CHECK(direct.well_formed);
  CHECK(direct.style == r1::SubsetSumStyle::direct);
  CHECK(direct.answer == kSolution);
  CHECK(direct.answer_solves);

  const auto caught = r1::trace_subset_sum(kExample, kExample.checked_completion(0b0011));
  CHECK(caught.self_checked());
  REQUIRE(caught.attempts.size() == 2);
  CHECK(caught.attempts[0].choice == 0b0011);
  CHECK(caught.attempts[0].reached == 70);
  CHECK(caught.attempts[0].verdict == r1::SubsetSumVerdict::wrong);
  CHECK(caught.attempts[0].check_right);
  CHECK(caught.attempts[1].choice == kSolution);
  CHECK(caught.attempts[1].verdict == r1::SubsetSumVerdict::ok);
  CHECK(caught.caught_and_corrected());

  // A wrong sum, a number not in the problem, and a check that misreads or misjudges: read, and flagged.
  const auto sloppy = r1::trace_subset_sum(kExample, "<think>+47=047;+15=063<check>062=062<ok></think><answer>47+15</answer>");
  REQUIRE(sloppy.well_formed);
  CHECK_FALSE(sloppy.attempts[0].arithmetic_right);
  CHECK(sloppy.attempts[0].numbers_match);
  CHECK_FALSE(sloppy.attempts[0].check_right);  // the chain reached 63, the check read 62
  CHECK(sloppy.attempts[0].choice_solves);
  const auto foreign = r1::trace_subset_sum(kExample, "<think>+47=047;+16=063</think><answer>47+16</answer>");
  REQUIRE(foreign.well_formed);
  CHECK_FALSE(foreign.attempts[0].numbers_match);
  CHECK_FALSE(foreign.attempts[0].choice_solves);
  CHECK_FALSE(foreign.answer.has_value());
  const auto misjudged = r1::trace_subset_sum(kExample, "<think>+47=047;+23=070<check>070=062<ok></think><answer>47+23</answer>");
  REQUIRE(misjudged.well_formed);
  CHECK_FALSE(misjudged.attempts[0].check_right);
  CHECK(misjudged.attempts[0].arithmetic_right);
  CHECK_FALSE(misjudged.caught_and_corrected());

  // A right answer after checks that misread the sum: not an "aha".
  const auto lucky = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>075>062<wrong>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  REQUIRE(lucky.self_checked());
  CHECK(lucky.answer_solves);
  CHECK_FALSE(lucky.attempts[0].check_right);
  CHECK_FALSE(lucky.caught_and_corrected());
  const auto lucky_last = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>+47=047;+15=061<check>061=062<ok></think><answer>47+15</answer>");
  CHECK(lucky_last.answer_solves);
  CHECK_FALSE(lucky_last.caught_and_corrected());

  // Out of order: the verifier accepts it, the trace does not read it as a choice.
  const auto reordered = r1::trace_subset_sum(kExample, "<think></think><answer>15+47</answer>");
  CHECK(reordered.well_formed);
  CHECK_FALSE(reordered.answer.has_value());
}

TEST_CASE("subset sum trace: reads written revisions, their gap, move and application") {
  const auto revised = r1::trace_subset_sum(
      kExample, kExample.checked_completion(0b0011, 4, r1::SubsetSumRevision::gap_move));
  REQUIRE(revised.self_checked());
  REQUIRE(revised.attempts.size() == 3);
  REQUIRE(revised.attempts[0].revision.has_value());
  CHECK(revised.attempts[0].revision->smaller == 62);
  CHECK(revised.attempts[0].revision->gap == 8);
  CHECK(revised.attempts[0].revision->larger == 70);
  CHECK(revised.attempts[0].revision->move == 23);
  CHECK(revised.attempts[0].revision->right());
  CHECK(revised.attempts[1].choice == 0b0001);
  REQUIRE(revised.attempts[1].revision.has_value());
  CHECK(revised.attempts[1].revision->right());
  CHECK_FALSE(revised.attempts[2].revision.has_value());
  CHECK(revised.revisions_written() == 2);
  CHECK(revised.revisions_right() == 2);
  CHECK(revised.caught_and_corrected());

  // A revision not written (nearest_sum) reads as before.
  const auto unwritten = r1::trace_subset_sum(kExample, kExample.checked_completion(0b0011));
  CHECK(unwritten.revisions_written() == 0);
  CHECK(unwritten.caught_and_corrected());

  // 70 is 8 over 62, not 9 over 61: the gap line is wrong; the move (23, nearest the true gap) and its
  // application are right.
  const auto bad_gap = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>061+009=070,23+47=047<check>047<062<wrong></think>"
                "<answer>47</answer>");
  REQUIRE(bad_gap.well_formed);
  REQUIRE(bad_gap.attempts[0].revision.has_value());
  CHECK_FALSE(bad_gap.attempts[0].revision->gap_right);
  CHECK(bad_gap.attempts[0].revision->move_right);
  CHECK(bad_gap.attempts[0].revision->applied);
  CHECK(bad_gap.revisions_right() == 0);
  // 62 + 9 = 71, not 70: the sum and target are right but the difference is not.
  const auto bad_difference = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>062+009=070,23+47=047</think><answer>47</answer>");
  REQUIRE(bad_difference.well_formed);
  CHECK_FALSE(bad_difference.attempts[0].revision->gap_right);
  // Over by 8, dropping 47 (39 from 8) instead of 23 (15 from 8): applied, not the rule's move.
  const auto bad_move = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,47+23=023</think><answer>23</answer>");
  REQUIRE(bad_move.well_formed);
  CHECK(bad_move.attempts[0].revision->gap_right);
  CHECK_FALSE(bad_move.attempts[0].revision->move_right);
  CHECK(bad_move.attempts[0].revision->applied);
  // Over, "adding" the unchosen 15 (the move names 15, the next chain adds it): neither the rule's move nor a drop.
  const auto wrong_way = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,15+47=047;+23=070;+15=085</think>"
                "<answer>47+23+15</answer>");
  REQUIRE(wrong_way.well_formed);
  CHECK_FALSE(wrong_way.attempts[0].revision->move_right);
  CHECK_FALSE(wrong_way.attempts[0].revision->applied);
  // The right move written, then a chain that swaps two numbers: not applied; the answer is right and both checks
  // are, so it is still caught and corrected (the aha does not depend on the revision's bookkeeping).
  const auto not_applied = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,23+47=047;+15=062<check>062=062<ok></think>"
                "<answer>47+15</answer>");
  REQUIRE(not_applied.well_formed);
  CHECK(not_applied.attempts[0].revision->move_right);
  CHECK_FALSE(not_applied.attempts[0].revision->applied);
  CHECK(not_applied.caught_and_corrected());
  // 12,40,50=052: after 12 was dropped (10 over), 50 is 2 under; 12 is nearest 2 but was the last move, so only
  // 40 is right; re-adding 12 is not.
  const r1::SubsetSum loop{{12, 40, 50}, 2, 52};
  const auto excluded = r1::trace_subset_sum(
      loop, "<think>+12=012;+50=062<check>062>052<wrong>052+010=062,12+50=050<check>050<052<wrong>050+002=052,12"
            "+12=012;+50=062</think><answer>12+50</answer>");
  REQUIRE(excluded.well_formed);
  REQUIRE(excluded.attempts.size() == 3);
  CHECK(excluded.attempts[0].revision->right());
  CHECK(excluded.attempts[1].revision->gap_right);
  CHECK_FALSE(excluded.attempts[1].revision->move_right);
  CHECK(excluded.attempts[1].revision->applied);
  // 23,47,23,81,15=062 from the second 23: 39 under, add 47 (8 from 39) -> 70, 8 over: 47 was just moved, drop 23
  // -> 47, 15 under: add 15. The chains name numbers, not which 23: the revisions are judged on values.
  const r1::SubsetSum twice = r1::SubsetSum::parse("23,47,23,81,15=062");
  const std::string twice_text =
      "<think>+23=023<check>023<062<wrong>023+039=062,47+47=047;+23=070<check>070>062<wrong>062+008=070,23"
      "+47=047<check>047<062<wrong>047+015=062,15+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>";
  CHECK(twice.checked_completion(0b00100, 4, r1::SubsetSumRevision::gap_move) == twice_text);
  const auto twice_trace = r1::trace_subset_sum(twice, twice_text);
  CHECK(twice_trace.revisions_written() == 3);
  CHECK(twice_trace.revisions_right() == 3);
  // 35,25,10=040, a tie: 10 is 30 under 40 and the unchosen 35 and 25 are both 5 from 30: either is a right move.
  const r1::SubsetSum tie{{35, 25, 10}, 2, 40};
  for (const char* move : {"35", "25"}) {
    const std::string next = std::string(move) == "35" ? "+35=035;+10=045" : "+25=025;+10=035";
    const auto tied = r1::trace_subset_sum(
        tie, "<think>+10=010<check>010<040<wrong>010+030=040," + std::string(move) + next + "</think><answer>10</answer>");
    CAPTURE(move);
    REQUIRE(tied.well_formed);
    CHECK(tied.attempts[0].revision->gap_right);
    CHECK(tied.attempts[0].revision->move_right);
    CHECK(tied.attempts[0].revision->applied);
  }
}

TEST_CASE("subset sum trace: anything off the grammar is not well formed, and nothing throws") {
  for (const char* bad : {"", "<think>", "<think></think>", "<think></think><answer></answer>",
                          "<think></think><answer>47+15", "<think></think><answer>47+15</answer>x",
                          "<think>47=047</think><answer>47</answer>",          // no '+'
                          "<think>+47=047;</think><answer>47</answer>",        // an empty step
                          "<think>+47=047<check>047=062</think><answer>47</answer>",
                          "<think>+47=047<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047062<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047<062<ok>+15=062</think><answer>47+15</answer>",  // a chain after <ok>
                          "<think></think><answer>47+1234567890123</answer>", "<think></think><answer>47++15</answer>",
                          "<think></think><answer>+47</answer>",
                          // a written revision without a chain after it, or off its grammar
                          "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,23</think><answer>47+23</answer>",
                          "<think>+47=047;+23=070<check>070>062<wrong>062+008=070+47=047</think><answer>47</answer>",
                          "<think>+47=047;+23=070<check>070>062<wrong>062+008=070,+47=047</think><answer>47</answer>",
                          "<think>+47=047;+23=070<check>070>062<wrong>062+008,23+47=047</think><answer>47</answer>",
                          "<think>+47=047;+23=070<check>070>062<wrong>062=008=070,23+47=047</think><answer>47</answer>",
                          "<think>+47=047;+23=070<check>070>062<wrong>0</think><answer>47</answer>",
                          "<think>+47=047<check>047<062<ok>047+015=062,15+47=047</think><answer>47</answer>"}) {
    CAPTURE(bad);
    CHECK_FALSE(r1::trace_subset_sum(kExample, bad).well_formed);
  }
  CHECK_FALSE(r1::trace_subset_sum(kExample, "<think>" + std::string(5000, '+') + "</think><answer>47</answer>").well_formed);
}

TEST_CASE("subset sum answer: any sub-multiset adding up to the target, in any order") {
  r1::Problem problem;
  problem.numbers = {47, 23, 81, 15, 15};
  problem.target = 62;
  const r1::SubsetSumAnswer verifier;
  const auto score = [&](const std::string& answer) { return verifier(problem, "<answer>" + answer + "</answer>").score; };
  CHECK(score("47+15") == 1.0);
  CHECK(score("15+47") == 1.0);
  CHECK(score(" 47+15 ") == 1.0);       // trimmed
  CHECK(score("23+15+15") == 0.0);      // 53
  problem.target = 53;
  CHECK(score("23+15+15") == 1.0);      // 15 is given twice
  CHECK(score("23+15+15+15") == 0.0);   // not three times
  CHECK(score("53") == 0.0);            // not one of the numbers
  CHECK(score("") == 0.0);
  CHECK(score("23+15+") == 0.0);
  CHECK(score("23 + 15 + 15") == 0.0);  // the task's answers have no spaces inside
  CHECK(verifier(problem, "no answer").reason == "no <answer> block");
  CHECK(r1::subset_sum_answer_error("23+30", problem.numbers, 53) == "30 is not one of the numbers left to use");
  CHECK(r1::subset_sum_answer_error("23+15", problem.numbers, 53) == "adds up to 38, not 53");
  CHECK(r1::subset_sum_answer_error(std::string(300, '1'), problem.numbers, 53) == "answer longer than 256 bytes");
  r1::Problem none;
  CHECK_FALSE(verifier(none, "<answer>1</answer>").applicable);
}
