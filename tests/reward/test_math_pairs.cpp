// r1::MathAnswer against tests/reward/data/math_pairs.jsonl: (gold, completion) pairs in
// five categories (extraction, labels_lists, numbers, relations, structures), each with
// the expected verdict and the principle behind it ("math-verify": Math-Verify's
// documented behaviour; "lenient: ..."; "strict: ..."; "deliberate: ..." where r1
// differs from Math-Verify on purpose). Every category holds must-not-match pairs.
// The test prints agreement per category and fails on any disagreement.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>

#include "r1/core/json.hpp"
#include "r1/reward/math_answer.hpp"

namespace {

struct Tally {
  int agree = 0;
  int total = 0;
  int must_not_match = 0;
};

}  // namespace

TEST_CASE("math_pairs.jsonl: agreement with the expected verdicts, per category") {
  const std::string path = std::string(R1_SOURCE_DIR) + "/tests/reward/data/math_pairs.jsonl";
  std::ifstream file(path);
  REQUIRE_MESSAGE(file.good(), "missing ", path);
  const r1::MathAnswer accuracy;
  std::map<std::string, Tally> tallies;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (line.empty()) continue;
    const r1::Json record = r1::parse_json(line, "math_pairs.jsonl line " + std::to_string(line_number));
    const auto gold = record.at("gold").get<std::string>();
    const auto answer = record.at("answer").get<std::string>();
    const bool expected = record.at("expected").get<bool>();
    const auto category = record.at("category").get<std::string>();
    REQUIRE_FALSE(record.at("principle").get<std::string>().empty());
    r1::Problem problem;
    problem.answer = gold;
    const r1::Reward reward = accuracy(problem, answer);
    const bool verdict = reward.score == 1.0;
    Tally& tally = tallies[category];
    ++tally.total;
    tally.agree += verdict == expected ? 1 : 0;
    tally.must_not_match += expected ? 0 : 1;
    INFO("line ", line_number, " [", category, "] gold=\"", gold, "\" answer=\"", answer, "\" extracted=\"",
         reward.extracted, "\" reason=", reward.reason, " principle=", record.at("principle").get<std::string>());
    CHECK(verdict == expected);
  }
  int agree = 0;
  int total = 0;
  for (const auto& [category, tally] : tallies) {
    MESSAGE(category, ": ", tally.agree, "/", tally.total, " agree (", tally.must_not_match, " must-not-match)");
    CHECK(tally.must_not_match > 0);
    agree += tally.agree;
    total += tally.total;
  }
  MESSAGE("all: ", agree, "/", total);
  CHECK(tallies.size() == 5);
  CHECK(total >= 400);
}
