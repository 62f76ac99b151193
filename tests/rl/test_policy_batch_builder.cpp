// From a scored rollout to the per-token PolicyBatch (r1/rl/policy_batch_builder.hpp),
// and the objective's named capabilities (r1/rl/objective_capabilities.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/rl/objective_capabilities.hpp"
#include "r1/rl/policy_batch_builder.hpp"

namespace {

struct FakeCompletion {
  std::vector<r1::TokenId> ids;
  std::vector<float> logprobs;
};

// Two prompts x G 2. Completion 1 is empty, completion 2's reward does not apply.
struct Fixture {
  std::vector<std::vector<r1::TokenId>> prompts{{1, 2}, {3}};
  std::vector<FakeCompletion> completions{
      {{5, 6, 7}, {-0.1f, -0.2f, -0.3f}}, {{}, {}}, {{8}, {-0.4f}}, {{9, 10}, {-0.5f, -0.6f}}};
  std::vector<std::uint8_t> applicable{1, 1, 0, 1};
  r1::Advantages advantages = [] {
    r1::Advantages a;
    a.per_completion = {0.5f, -0.5f, 0.0f, 1.5f};
    return a;
  }();

  r1::TrainingSequences sequences(bool keep_uncounted) const {
    return r1::training_sequences(std::span<const std::vector<r1::TokenId>>(prompts),
                                  std::span<const FakeCompletion>(completions),
                                  std::span<const std::uint8_t>(applicable), advantages, 2, keep_uncounted);
  }
};

}  // namespace

TEST_CASE("training_sequences: counted completions, or whole groups for the KL in the reward") {
  const Fixture f;
  const auto counted_only = f.sequences(false);
  REQUIRE(counted_only.size() == 2);  // the empty and the not-applicable completions drop out
  CHECK(counted_only.tokens[0] == std::vector<r1::TokenId>{1, 2, 5, 6, 7});
  CHECK(counted_only.tokens[1] == std::vector<r1::TokenId>{3, 9, 10});
  CHECK(counted_only.prompt_lengths == std::vector<std::int32_t>{2, 1});
  CHECK(counted_only.advantages == std::vector<float>{0.5f, 1.5f});
  const r1::BatchTotals totals = counted_only.totals(0, 2);
  CHECK(totals.tokens == 5);
  CHECK(totals.sequences == 2);

  const auto whole = f.sequences(true);
  REQUIRE(whole.size() == 4);
  CHECK(whole.counted == std::vector<std::uint8_t>{1, 0, 0, 1});
  CHECK(whole.totals(0, 4).tokens == 5);  // uncounted sequences add nothing to the normalisers

  {
    Fixture dropped;
    dropped.advantages.keep = {0, 0, 1, 1};  // e.g. DAPO's dynamic sampling dropped group 0
    CHECK(dropped.sequences(false).size() == 1);
  }
}

TEST_CASE("PolicyBatchBuilder: masks, advantages and old log-probs of each source, aligned with the batch") {
  const Fixture f;
  auto data = f.sequences(false);
  r1::TokenBatch batch;
  data.fill_token_batch(0, data.size(), batch);
  REQUIRE(batch.total_tokens() == 8);
  r1::TokenScores current;
  current.logprobs = {0, -1.0f, -1.1f, -1.2f, -1.3f, 0, -1.4f, -1.5f};
  current.entropies.assign(8, 0.25f);
  r1::PolicyBatchBuilder builder;
  const r1::BatchTotals totals = data.totals(0, data.size());

  const r1::PolicyBatch from_sampler = builder.build(data, 0, data.size(), batch, current, {}, r1::OldLogprobs::behaviour, totals);
  const std::vector<float> mask(from_sampler.mask.begin(), from_sampler.mask.end());
  CHECK(mask == std::vector<float>{0, 0, 1, 1, 1, 0, 1, 1});
  const std::vector<float> advantages(from_sampler.advantages.begin(), from_sampler.advantages.end());
  CHECK(advantages == std::vector<float>{0, 0, 0.5f, 0.5f, 0.5f, 0, 1.5f, 1.5f});
  const std::vector<float> behaviour(from_sampler.old_logprobs.begin(), from_sampler.old_logprobs.end());
  CHECK(behaviour == std::vector<float>{0, 0, -0.1f, -0.2f, -0.3f, 0, -0.5f, -0.6f});
  CHECK(from_sampler.batch_tokens == 5);
  CHECK(from_sampler.batch_sequences == 2);
  CHECK(from_sampler.ref_logprobs.empty());

  const r1::PolicyBatch from_current = builder.build(data, 0, data.size(), batch, current, {}, r1::OldLogprobs::current, totals);
  CHECK(from_current.old_logprobs[3] == -1.2f);  // ratio exactly 1
  CHECK(from_current.old_logprobs[0] == 0.0f);   // prompt tokens stay 0

  std::vector<float> flat(8);
  for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = -0.125f * static_cast<float>(i);  // exact in float
  data.set_old_logprobs(flat);
  REQUIRE(data.old_logprobs.size() == 2);
  CHECK(data.old_logprobs[1] == std::vector<float>{-0.625f, -0.75f, -0.875f});
  const r1::PolicyBatch recomputed =
      builder.build(data, 1, 2, [&] {
        r1::TokenBatch second;
        data.fill_token_batch(1, 2, second);
        return second;
      }(), [&] {
        r1::TokenScores second;
        second.logprobs = {0, -1.4f, -1.5f};
        return second;
      }(), {}, r1::OldLogprobs::recomputed, data.totals(1, 2));
  CHECK(recomputed.old_logprobs[1] == -0.75f);
  CHECK(recomputed.old_logprobs[2] == -0.875f);
  CHECK_THROWS_AS(data.set_old_logprobs(std::vector<float>(7)), r1::Error);
}

TEST_CASE("fold_kl_into_advantages gives kl_in_reward_advantages' per-token advantages") {
  const Fixture f;
  auto data = f.sequences(true);
  std::vector<float> reference;
  for (const auto& sequence : data.tokens)
    for (std::size_t t = 0; t < sequence.size(); ++t) reference.push_back(-0.3f - 0.05f * static_cast<float>(t));
  const std::vector<double> scores{1.0, 0.0, 0.0, 1.0};
  r1::KlInRewardOptions options;
  options.beta = 0.1;
  options.group_baseline = true;
  data.fold_kl_into_advantages(reference, scores, f.applicable, 2, options, r1::OldLogprobs::behaviour);
  REQUIRE(data.token_advantages.size() == 4);

  // The same input laid out by hand.
  std::vector<std::int64_t> offsets{0};
  std::vector<float> mask, old;
  for (std::size_t s = 0; s < data.size(); ++s) {
    offsets.push_back(offsets.back() + static_cast<std::int64_t>(data.tokens[s].size()));
    for (std::size_t t = 0; t < data.tokens[s].size(); ++t) {
      const bool completion = t >= static_cast<std::size_t>(data.prompt_lengths[s]);
      mask.push_back(completion && data.counted[s] ? 1.0f : 0.0f);
      old.push_back(completion ? data.behaviour_logprobs[s][t - static_cast<std::size_t>(data.prompt_lengths[s])] : 0.0f);
    }
  }
  r1::TokenRewardInput input;
  input.offsets = offsets;
  input.mask = mask;
  input.old_logprobs = old;
  input.ref_logprobs = reference;
  input.scores = scores;
  input.applicable = f.applicable;
  input.group_size = 2;
  const auto expected = r1::kl_in_reward_advantages(input, options);
  std::vector<float> folded;
  for (const auto& sequence : data.token_advantages) folded.insert(folded.end(), sequence.begin(), sequence.end());
  CHECK(folded == expected);
  CHECK_THROWS_AS(data.fold_kl_into_advantages(reference, scores, f.applicable, 2, options, r1::OldLogprobs::current),
                  r1::Error);
}

namespace {
// The two required members only: every optional capability takes its default.
struct BareObjective {
  r1::Advantages advantages(const r1::AdvantageInput&) const { return {}; }
  r1::LossResult loss(const r1::PolicyBatch&, std::span<float>, std::span<float>) const { return {}; }
};
}  // namespace

TEST_CASE("the objective's capabilities, named; defaults for an objective without them") {
  r1::GrpoConfig config = r1::GrpoConfig::r1_paper();
  const r1::GrpoObjective r1_paper{config};
  CHECK(r1::objective_uses_reference(r1_paper));
  CHECK_FALSE(r1::objective_resets_reference_at(r1_paper, 0));
  CHECK_FALSE(r1::objective_resets_reference_at(r1_paper, 399));
  CHECK(r1::objective_resets_reference_at(r1_paper, 400));
  CHECK_FALSE(r1::objective_kl_in_reward(r1_paper).has_value());
  CHECK_FALSE(r1::objective_overlong_shaping(r1_paper).enabled());

  config.kl_placement = r1::KlPlacement::reward;
  const auto kl = r1::objective_kl_in_reward(r1::GrpoObjective{config});
  REQUIRE(kl.has_value());
  CHECK(kl->beta == 0.001);
  config.beta = 0;
  CHECK_FALSE(r1::objective_kl_in_reward(r1::GrpoObjective{config}).has_value());  // β 0: no KL anywhere
  CHECK_FALSE(r1::objective_uses_reference(r1::GrpoObjective{config}));

  const auto dapo = r1::objective_overlong_shaping(r1::GrpoObjective{r1::GrpoConfig::dapo()});
  CHECK(dapo.enabled());
  CHECK(dapo.max_tokens == 20480);
  CHECK(dapo.buffer_tokens == 4096);

  static_assert(r1::Objective<BareObjective>);
  const BareObjective bare;
  CHECK_FALSE(r1::objective_uses_reference(bare));
  CHECK_FALSE(r1::objective_resets_reference_at(bare, 400));
  CHECK_FALSE(r1::objective_kl_in_reward(bare).has_value());
  CHECK_FALSE(r1::objective_overlong_shaping(bare).enabled());
}
