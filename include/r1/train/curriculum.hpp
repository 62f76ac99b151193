#pragma once
// A curriculum over difficulty levels for an RL run: the levels open one at a
// time, easiest first, over the first `opening_steps` steps, and from then on
// every level is drawn in equal shares. Level k of L (k = 0 easiest) opens at
// the first step s with s * L >= k * opening_steps, i.e. s = ceil(k * opening_steps / L);
// each prompt of a step draws one of the open levels uniformly. The idea is
// Bengio et al. 2009 ("Curriculum learning", ICML); this is its simplest
// schedule, easy levels first and the harder ones added in turn.
//
// curriculum_visits() writes the whole run out as the list of problems a trainer
// visits in order (GrpoTrainerConfig::shuffle_data = false): step s's prompts are
// entries [s * prompts_per_step, (s + 1) * prompts_per_step).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/problem.hpp"
#include "r1/core/rng.hpp"

namespace r1 {

struct LevelCurriculum {
  std::int64_t opening_steps = 0;  // 0: every level open from step 0 (levels mixed throughout)

  // How many levels (the easiest first) are open at `step`, of `level_count`.
  std::size_t open_levels(std::int64_t step, std::size_t level_count) const {
    require(level_count > 0, "LevelCurriculum: no levels");
    require(opening_steps >= 0, "LevelCurriculum: opening_steps must be >= 0, got ", opening_steps);
    if (opening_steps == 0 || step >= opening_steps) return level_count;
    // Level k is open once k * opening_steps <= step * L, i.e. k <= step * L / opening_steps.
    const auto L = static_cast<std::int64_t>(level_count);
    const std::int64_t last_open = (step < 0 ? 0 : step) * L / opening_steps;
    return static_cast<std::size_t>(last_open + 1 < L ? last_open + 1 : L);
  }
};

// The problems of `steps` steps of `prompts_per_step` prompts under `curriculum`. `pools[k]` holds level k's
// problems, easiest level first; each level's pool is used in its order and restarts when used up. The level
// draws are a Philox stream of `seed`, so the list is a pure function of its arguments.
inline std::vector<Problem> curriculum_visits(const std::vector<std::vector<Problem>>& pools,
                                              const LevelCurriculum& curriculum, std::int64_t steps,
                                              int prompts_per_step, std::uint64_t seed) {
  require(!pools.empty(), "curriculum_visits: no levels");
  for (std::size_t k = 0; k < pools.size(); ++k)
    require(!pools[k].empty(), "curriculum_visits: level ", k, " has no problems");
  require(steps > 0 && prompts_per_step > 0, "curriculum_visits: steps (", steps, ") and prompts per step (",
          prompts_per_step, ") must be positive");
  std::vector<Problem> visits;
  visits.reserve(static_cast<std::size_t>(steps) * static_cast<std::size_t>(prompts_per_step));
  std::vector<std::size_t> next(pools.size(), 0);
  Philox draws{seed, 0xc0441c01u};
  for (std::int64_t step = 0; step < steps; ++step) {
    const std::size_t open = curriculum.open_levels(step, pools.size());
    for (int p = 0; p < prompts_per_step; ++p) {
      const auto drawn = static_cast<std::size_t>(draws.uniform() * static_cast<double>(open));
      const std::size_t level = drawn < open ? drawn : open - 1;
      visits.push_back(pools[level][next[level]++ % pools[level].size()]);
    }
  }
  return visits;
}

}  // namespace r1
