#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/train/curriculum.hpp"

namespace {

// Level k's pool: prompts "k:0", "k:1", ...
std::vector<std::vector<r1::Problem>> numbered_pools(std::size_t levels, std::size_t per_level) {
  std::vector<std::vector<r1::Problem>> pools(levels);
  for (std::size_t k = 0; k < levels; ++k)
    for (std::size_t i = 0; i < per_level; ++i) pools[k].push_back({std::to_string(k) + ":" + std::to_string(i)});
  return pools;
}

std::size_t level_of(const r1::Problem& problem) {
  return std::stoul(problem.prompt.substr(0, problem.prompt.find(':')));
}
std::size_t index_of(const r1::Problem& problem) {
  return std::stoul(problem.prompt.substr(problem.prompt.find(':') + 1));
}

}  // namespace

TEST_CASE("LevelCurriculum opens the levels one at a time, easiest first") {
  // 4 levels over 200 steps: level k opens at step 50 k.
  const r1::LevelCurriculum four{200};
  for (const auto& [step, open] : std::vector<std::pair<std::int64_t, std::size_t>>{
           {0, 1}, {49, 1}, {50, 2}, {99, 2}, {100, 3}, {149, 3}, {150, 4}, {199, 4}, {200, 4}, {10'000, 4}})
    CHECK_MESSAGE(four.open_levels(step, 4) == open, "step ", step);
  // 3 levels over 10 steps: level 1 opens at ceil(10/3) = 4, level 2 at ceil(20/3) = 7.
  const r1::LevelCurriculum three{10};
  const std::vector<std::size_t> expected{1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3};
  for (std::int64_t step = 0; step <= 10; ++step)
    CHECK_MESSAGE(three.open_levels(step, 3) == expected[static_cast<std::size_t>(step)], "step ", step);
  // No curriculum: every level from the start; one level: always open.
  CHECK(r1::LevelCurriculum{0}.open_levels(0, 5) == 5);
  CHECK(four.open_levels(0, 1) == 1);
  CHECK_THROWS_AS((void)r1::LevelCurriculum{-1}.open_levels(0, 3), r1::Error);
  CHECK_THROWS_AS((void)four.open_levels(0, 0), r1::Error);
}

TEST_CASE("curriculum_visits: open levels only, each pool in order, equal shares once all are open") {
  const auto pools = numbered_pools(4, 300);
  const int prompts = 16;
  const std::int64_t steps = 1000;
  const auto visits = r1::curriculum_visits(pools, r1::LevelCurriculum{200}, steps, prompts, 7);
  REQUIRE(visits.size() == static_cast<std::size_t>(steps * prompts));

  std::vector<std::size_t> next(4, 0);
  std::vector<std::size_t> mixed_counts(4, 0);
  std::vector<bool> seen_in_stage(4, false);
  for (std::size_t v = 0; v < visits.size(); ++v) {
    const auto step = static_cast<std::int64_t>(v / prompts);
    const std::size_t level = level_of(visits[v]);
    // Only the levels open at that step: 1 + floor(step / 50) of them before step 200.
    const std::size_t open = step < 200 ? 1 + static_cast<std::size_t>(step / 50) : 4;
    REQUIRE_MESSAGE(level < open, "visit ", v, " (step ", step, ") is level ", level);
    // Each level's pool in its own order, restarting when used up (300 problems a level).
    REQUIRE(index_of(visits[v]) == next[level] % 300);
    ++next[level];
    if (step >= 200) ++mixed_counts[level];
    if (step >= 150 && step < 200) seen_in_stage[level] = true;
  }
  // Every level drawn in the last opening stage, the newest (level 3) included.
  for (std::size_t k = 0; k < 4; ++k) CHECK(seen_in_stage[k]);
  // 800 mixed steps x 16 = 12,800 draws, each level with chance 1/4: the standard deviation of a level's share
  // is sqrt(0.25 * 0.75 / 12800) = 0.0038; 0.02 is over five of them.
  for (std::size_t k = 0; k < 4; ++k)
    CHECK(static_cast<double>(mixed_counts[k]) / 12800.0 == doctest::Approx(0.25).epsilon(0.08));  // 0.25 +- 0.02
  // Level 0 alone in the first stage: its first 50 x 16 = 800 visits wrap the 300-problem pool twice.
  CHECK(index_of(visits[300]) == 0);
  CHECK(index_of(visits[799]) == 199);
}

TEST_CASE("curriculum_visits is a pure function of its arguments; without a curriculum every level from step 0") {
  const auto pools = numbered_pools(3, 50);
  const auto a = r1::curriculum_visits(pools, r1::LevelCurriculum{30}, 60, 8, 11);
  const auto b = r1::curriculum_visits(pools, r1::LevelCurriculum{30}, 60, 8, 11);
  const auto c = r1::curriculum_visits(pools, r1::LevelCurriculum{30}, 60, 8, 12);
  std::size_t differ = 0;
  for (std::size_t v = 0; v < a.size(); ++v) {
    CHECK(a[v].prompt == b[v].prompt);
    differ += a[v].prompt != c[v].prompt;
  }
  CHECK(differ > 0);
  // With opening_steps 0 the first step already draws from every level (8 draws of 3 levels: all three appear
  // with probability 1 - 3 (2/3)^8 + 3 (1/3)^8 = 0.884; over the first 4 steps it is all but certain).
  const auto mixed = r1::curriculum_visits(pools, r1::LevelCurriculum{0}, 4, 8, 11);
  std::vector<bool> seen(3, false);
  for (const auto& problem : mixed) seen[level_of(problem)] = true;
  CHECK((seen[0] && seen[1] && seen[2]));
}

TEST_CASE("curriculum_visits rejects what it cannot schedule") {
  auto pools = numbered_pools(2, 5);
  CHECK_THROWS_AS((void)r1::curriculum_visits({}, r1::LevelCurriculum{10}, 5, 4, 1), r1::Error);
  CHECK_THROWS_AS((void)r1::curriculum_visits(pools, r1::LevelCurriculum{10}, 0, 4, 1), r1::Error);
  CHECK_THROWS_AS((void)r1::curriculum_visits(pools, r1::LevelCurriculum{10}, 5, 0, 1), r1::Error);
  pools[1].clear();
  CHECK_THROWS_AS((void)r1::curriculum_visits(pools, r1::LevelCurriculum{10}, 5, 4, 1), r1::Error);
}
