#pragma once
// Disjoint train / held-out splits decided by a hash of each problem's identity
// (its canonical text), never by its position in a stream: a problem drawn twice,
// by two seeds or two generators, always lands in the same split, so no held-out
// problem can ever appear in training.
//
//   r1::SplitRule rule{.held_out_fraction = 0.1, .salt = 0};
//   if (r1::split_of("countdown:3,5,7=24", rule) == r1::Split::held_out) ...
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

enum class Split : std::uint8_t { train, held_out };

inline std::string_view to_string(Split split) { return split == Split::train ? "train" : "held_out"; }

struct SplitRule {
  double held_out_fraction = 0.1;  // expected share of the problem space that is held out
  std::uint64_t salt = 0;          // a different salt gives a different (still disjoint) partition
};

// FNV-1a, 64-bit (Fowler, Noll, Vo; IETF draft-eastlake-fnv, section 2: offset
// basis 14695981039346656037, prime 1099511628211).
inline std::uint64_t fnv1a_64(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// The SplitMix64 finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014): spreads FNV's weak low bits over all 64.
inline std::uint64_t mix_64(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ull;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
  return value ^ (value >> 31);
}

// The split of a problem identified by `identity`.
inline Split split_of(std::string_view identity, const SplitRule& rule) {
  require(rule.held_out_fraction >= 0.0 && rule.held_out_fraction <= 1.0,
          "SplitRule.held_out_fraction: expected a value in [0, 1], got ", rule.held_out_fraction);
  const std::uint64_t hash = mix_64(fnv1a_64(identity) ^ mix_64(rule.salt));
  const double position = static_cast<double>(hash >> 11) * (1.0 / 9007199254740992.0);  // 53 bits in [0, 1)
  return position < rule.held_out_fraction ? Split::held_out : Split::train;
}

// A problem's identity: extra["identity"] when a generator set one, else its
// prompt (two dataset rows with the same prompt are the same problem).
inline std::string problem_identity(const Problem& problem) {
  if (problem.extra.is_object()) {
    const auto it = problem.extra.find("identity");
    if (it != problem.extra.end() && it->is_string()) return it->get<std::string>();
  }
  return problem.prompt;
}

// The problems of `problems` that fall in `split`, in their original order.
inline std::vector<Problem> select_split(const std::vector<Problem>& problems, Split split, const SplitRule& rule) {
  std::vector<Problem> selected;
  for (const auto& problem : problems) {
    if (split_of(problem_identity(problem), rule) == split) selected.push_back(problem);
  }
  return selected;
}

// A uniform integer in [0, bound) from the generator: 53 random bits scaled,
// the same on every platform (std::uniform_int_distribution is not).
inline std::int64_t uniform_below(Philox& random, std::int64_t bound) {
  require(bound > 0, "uniform_below: bound must be positive, got ", bound);
  const auto value = static_cast<std::int64_t>(random.uniform() * static_cast<double>(bound));
  return value < bound ? value : bound - 1;
}

// Draws problems with `draw(random)` until `count` of them fall in `split`.
// Each drawn problem must carry extra["identity"]. With `distinct`, a problem is
// kept once. Fails, rather than looping for ever, when the split of the problem
// space is too small for `count`. Deterministic in (seed, split, rule).
template <class Draw>
std::vector<Problem> draw_problems_in_split(std::size_t count, Split split, const SplitRule& rule, std::uint64_t seed,
                                            bool distinct, std::string_view task_name, Draw&& draw) {
  require(split != Split::held_out || rule.held_out_fraction > 0.0, task_name,
          ": a held-out split was asked for but SplitRule.held_out_fraction is 0");
  require(split != Split::train || rule.held_out_fraction < 1.0, task_name,
          ": a train split was asked for but SplitRule.held_out_fraction is 1");
  Philox random{seed, static_cast<std::uint64_t>(split) + 1};
  std::vector<Problem> problems;
  problems.reserve(count);
  std::unordered_set<std::string> seen;
  // Enough for any split holding at least ~1% of the draws, with room for duplicates.
  const std::size_t max_draws = 200 * count + 100000;
  std::size_t draws = 0;
  while (problems.size() < count) {
    require(draws < max_draws, task_name, ": only ", problems.size(), " of ", count, " ", to_string(split),
            " problems found after ", draws, " draws; the problem space is too small (raise the digits/numbers, "
            "change held_out_fraction, or turn off distinct)");
    ++draws;
    Problem problem = draw(random);
    const std::string identity = problem_identity(problem);
    if (split_of(identity, rule) != split) continue;
    if (distinct && !seen.insert(identity).second) continue;
    problems.push_back(std::move(problem));
  }
  return problems;
}

}  // namespace r1
