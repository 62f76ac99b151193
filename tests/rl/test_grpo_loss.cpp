// GrpoObjective::loss against values worked out by hand from each formula,
// finite-difference gradients, the documented choice at a clip bound, and
// invariance to micro-batching.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "loss_batch.hpp"
#include "r1/concepts.hpp"
#include "r1/rl/grpo_objective.hpp"

using r1::test::LossBatch;

namespace {

static_assert(r1::Objective<r1::GrpoObjective>);
static_assert(r1::Objective<r1::DrGrpoObjective>);

// Loss values are accumulated in double from float inputs, and the expected
// values below use the same float inputs, so they agree to double round-off
// over a handful of terms: 1e-12 is far above that (≈ 10 · 2^-52).
constexpr double loss_tolerance = 1e-12;
// d_logprobs are stored as float: one rounding, relative 2^-24 ≈ 6e-8.
constexpr double gradient_tolerance = 1.2e-7;

struct Run {
  r1::LossResult result;
  std::vector<float> d_logprobs, d_entropies;
};

Run run(const r1::GrpoConfig& config, const LossBatch& batch, double batch_tokens = 0, double batch_sequences = 0) {
  Run out;
  out.d_logprobs.assign(batch.size(), 99.0f);  // overwritten everywhere, masked tokens included
  out.d_entropies.assign(batch.size(), 99.0f);
  out.result = r1::GrpoObjective{config}.loss(batch.view(batch_tokens, batch_sequences), out.d_logprobs, out.d_entropies);
  return out;
}

void check_gradient(float got, double expected) {
  CHECK(got == doctest::Approx(expected).epsilon(gradient_tolerance));
}

r1::GrpoConfig config_without_kl() {
  r1::GrpoConfig config;
  config.beta = 0;
  config.eps_low = 0.2;
  config.eps_high = 0.28;
  config.aggregation = r1::Aggregation::token_mean;
  return config;
}

}  // namespace

TEST_CASE("clipped surrogate with clip-higher, on both sides of each bound (DAPO Eq. 10)") {
  LossBatch batch;
  batch.token(-1.0f, 1.5, +1);   // above 1 + ε_high, A > 0: clipped
  batch.token(-2.0f, 0.5, +1);   // below 1 − ε_low,  A > 0: not clipped
  batch.token(-0.5f, 0.5, -1);   // below 1 − ε_low,  A < 0: clipped
  batch.token(-1.5f, 1.5, -1);   // above 1 + ε_high, A < 0: not clipped
  batch.token(-0.7f, 1.1, +1);   // inside
  batch.token(std::numeric_limits<float>::quiet_NaN(), 1.0, 5, 0, 0, /*counted=*/0);  // masked: ignored entirely
  batch.end_sequence();
  const Run r = run(config_without_kl(), batch);
  const double w = 1.0 / 5;  // token mean over 5 counted tokens
  const double p1 = batch.ratio(1), p3 = batch.ratio(3), p4 = batch.ratio(4);
  // loss_t = −min(ρA, clip(ρ, 0.8, 1.28) A)
  const double expected = w * (-1.28 + -p1 + 0.8 + p3 + -p4);
  CHECK(r.result.loss == doctest::Approx(expected).epsilon(loss_tolerance));
  CHECK(r.result.policy_loss == doctest::Approx(expected).epsilon(loss_tolerance));
  check_gradient(r.d_logprobs[0], 0);
  check_gradient(r.d_logprobs[1], -p1 * w);
  check_gradient(r.d_logprobs[2], 0);
  check_gradient(r.d_logprobs[3], +p3 * w);
  check_gradient(r.d_logprobs[4], -p4 * w);
  CHECK(r.d_logprobs[5] == 0.0f);
  CHECK(r.d_entropies[5] == 0.0f);
  CHECK(r.result.tokens == 5);
  CHECK(r.result.clip_fraction_high == doctest::Approx(0.2));
  CHECK(r.result.clip_fraction_low == doctest::Approx(0.2));
  CHECK(r.result.clip_fraction_dual == 0);
  const double ratios[] = {batch.ratio(0), p1, batch.ratio(2), p3, p4};
  double mean_ratio = 0, kl_old = 0;
  for (double p : ratios) mean_ratio += p / 5, kl_old += ((p - 1) - std::log(p)) / 5;  // k3 of KL(old ‖ current)
  CHECK(r.result.mean_ratio == doctest::Approx(mean_ratio).epsilon(loss_tolerance));
  CHECK(r.result.approx_kl_old == doctest::Approx(kl_old).epsilon(loss_tolerance));
}

TEST_CASE("dual clip bounds the loss of negative advantages at −cA (Ye et al. 2020)") {
  r1::GrpoConfig config = config_without_kl();
  config.dual_clip_c = 3;
  LossBatch batch;
  batch.token(-1.0f, 4.0, -1);   // −ρA = 4 > 3: held at 3
  batch.token(-1.0f, 2.0, -1);   // −ρA = 2 < 3: unclipped
  batch.token(-1.0f, 4.0, +1);   // A > 0: the ordinary clip at 1.28
  batch.token(-1.0f, 3.5, -2);   // −ρA = 7 > −cA = 6: held at 6
  batch.end_sequence();
  const Run r = run(config, batch);
  const double w = 1.0 / 4, p1 = batch.ratio(1);
  CHECK(r.result.loss == doctest::Approx(w * (3 + 2 * p1 / 2 - 1.28 + 6)).epsilon(loss_tolerance));
  check_gradient(r.d_logprobs[0], 0);
  check_gradient(r.d_logprobs[1], p1 * w);
  check_gradient(r.d_logprobs[2], 0);
  check_gradient(r.d_logprobs[3], 0);
  CHECK(r.result.clip_fraction_dual == doctest::Approx(0.5));
  CHECK(r.result.clip_fraction_high == doctest::Approx(0.25));
}

TEST_CASE("the log-ratio clamp bounds the ratio and stops its gradient") {
  r1::GrpoConfig config = config_without_kl();
  config.eps_low = config.eps_high = 10;
  config.log_ratio_clamp = 1;
  LossBatch batch;
  batch.token(-4.0f, std::exp(3.0), -1);  // log ρ = 3, clamped to 1
  batch.token(-4.0f, std::exp(0.5), -1);  // inside the clamp
  batch.end_sequence();
  const Run r = run(config, batch);
  const double p1 = batch.ratio(1);
  CHECK(r.result.loss == doctest::Approx(0.5 * (std::exp(1.0) + p1)).epsilon(loss_tolerance));
  check_gradient(r.d_logprobs[0], 0);
  check_gradient(r.d_logprobs[1], 0.5 * p1);
}

TEST_CASE("GSPO clips the sequence ratio exp(mean log ρ) (Zheng et al. 2025, Eq. 7)") {
  r1::GrpoConfig config = config_without_kl();
  config.policy_loss = r1::PolicyLoss::gspo;
  config.aggregation = r1::Aggregation::sequence_mean_token_mean;
  LossBatch batch;
  batch.token(0.0f, std::exp(0.1), +1);
  batch.token(0.0f, std::exp(0.3), +1);
  batch.token(0.0f, std::exp(5.0), +1, 0, 0, /*counted=*/0);  // masked: not in the mean
  batch.end_sequence();
  batch.token(0.0f, std::exp(0.5), +1);
  batch.token(0.0f, std::exp(0.3), +1);
  batch.token(0.0f, std::exp(0.4), +1);
  batch.end_sequence();
  const Run r = run(config, batch);
  const double s0 = std::exp((double(batch.logprobs[0]) + batch.logprobs[1]) / 2);  // ≈ e^0.2 < 1.28: inside
  const double s1 = std::exp((double(batch.logprobs[3]) + batch.logprobs[4] + batch.logprobs[5]) / 3);  // ≈ e^0.4: clipped
  REQUIRE(s0 < 1.28);
  REQUIRE(s1 > 1.28);
  // L = (1/G) Σ_i −min(s_i A, clip(s_i) A), G = 2.
  CHECK(r.result.loss == doctest::Approx((-s0 - 1.28) / 2).epsilon(loss_tolerance));
  // d L / d ℓ_t = −A s_i / (G |o_i|) inside the clip, 0 outside.
  check_gradient(r.d_logprobs[0], -s0 / 4);
  check_gradient(r.d_logprobs[1], -s0 / 4);
  CHECK(r.d_logprobs[2] == 0.0f);
  for (int t = 3; t < 6; ++t) check_gradient(r.d_logprobs[t], 0);
  CHECK(r.result.mean_ratio == doctest::Approx((2 * s0 + 3 * s1) / 5).epsilon(loss_tolerance));
  CHECK(r.result.clip_fraction_high == doctest::Approx(3.0 / 5));
}

TEST_CASE("CISPO keeps the gradient of clipped tokens, weighted by the clipped ratio (MiniMax-M1 Eq. 4)") {
  r1::GrpoConfig config = config_without_kl();
  config.policy_loss = r1::PolicyLoss::cispo;
  LossBatch batch;
  batch.token(-1.0f, 1.5, +1);  // weight 1.28
  batch.token(-2.0f, 0.5, -1);  // weight 0.8
  batch.token(-0.5f, 1.1, +2);  // weight ρ
  batch.end_sequence();
  const Run r = run(config, batch);
  const double w = 1.0 / 3, p2 = batch.ratio(2);
  const double l0 = batch.logprobs[0], l1 = batch.logprobs[1], l2 = batch.logprobs[2];
  // loss_t = −sg[clip(ρ)] A ℓ
  CHECK(r.result.loss == doctest::Approx(w * (-1.28 * l0 + 0.8 * l1 - p2 * 2 * l2)).epsilon(loss_tolerance));
  check_gradient(r.d_logprobs[0], -1.28 * w);
  check_gradient(r.d_logprobs[1], 0.8 * w);
  check_gradient(r.d_logprobs[2], -2 * p2 * w);
  CHECK(r.result.clip_fraction_high == doctest::Approx(w));
  CHECK(r.result.clip_fraction_low == doctest::Approx(w));
}

TEST_CASE("REINFORCE: −A ℓ, independent of the old policy") {
  r1::GrpoConfig config = config_without_kl();
  config.policy_loss = r1::PolicyLoss::reinforce;
  LossBatch batch;
  batch.token(-1.0f, 1.0, +1);
  batch.token(-3.0f, 2.0, -0.5f);
  batch.end_sequence();
  const Run r = run(config, batch);
  CHECK(r.result.loss ==
        doctest::Approx(0.5 * (-1.0 * batch.logprobs[0] + 0.5 * batch.logprobs[1])).epsilon(loss_tolerance));
  check_gradient(r.d_logprobs[0], -0.5);
  check_gradient(r.d_logprobs[1], 0.25);
}

TEST_CASE("KL estimators k1, k2, k3 (Schulman 2020)") {
  // log r = ℓ_ref − ℓ = 0.5
  const double logprob = -1.2, ref = -0.7;
  CHECK(r1::kl_term(r1::KlEstimator::k1, logprob, ref).value == doctest::Approx(-0.5).epsilon(1e-15));
  CHECK(r1::kl_term(r1::KlEstimator::k2, logprob, ref).value == doctest::Approx(0.125).epsilon(1e-15));
  CHECK(r1::kl_term(r1::KlEstimator::k3, logprob, ref).value == doctest::Approx(std::exp(0.5) - 1 - 0.5).epsilon(1e-15));
  CHECK(r1::kl_term(r1::KlEstimator::k1, logprob, ref).d_logprob == 1);
  CHECK(r1::kl_term(r1::KlEstimator::k2, logprob, ref).d_logprob == doctest::Approx(-0.5).epsilon(1e-15));
  CHECK(r1::kl_term(r1::KlEstimator::k3, logprob, ref).d_logprob == doctest::Approx(1 - std::exp(0.5)).epsilon(1e-15));
  // Clamped: |log r| = 3 > 2, constant in ℓ.
  const r1::KlTerm clamped = r1::kl_term(r1::KlEstimator::k3, -3.0, 0.0, 2.0);
  CHECK(clamped.value == doctest::Approx(std::exp(2.0) - 1 - 2).epsilon(1e-15));
  CHECK(clamped.d_logprob == 0);
  CHECK(r1::parse_kl_estimator("k2") == r1::KlEstimator::k2);
  CHECK_THROWS_AS(r1::parse_kl_estimator("k4"), r1::Error);
}

TEST_CASE("KL in the loss with β, or only reported when it goes in the reward") {
  LossBatch batch;
  batch.token(-1.2f, 1.0, 0, /*ref=*/-0.7f);
  batch.token(-0.3f, 1.0, 0, /*ref=*/-0.9f);
  batch.end_sequence();
  const double l[] = {batch.logprobs[0], batch.logprobs[1]}, ref[] = {-0.7f, -0.9f};
  for (auto estimator : {r1::KlEstimator::k1, r1::KlEstimator::k2, r1::KlEstimator::k3}) {
    CAPTURE(r1::to_string(estimator));
    double kl[2] = {0, 0}, d_kl[2] = {0, 0};
    for (int t = 0; t < 2; ++t) {
      const double log_r = ref[t] - l[t];
      if (estimator == r1::KlEstimator::k1) kl[t] = -log_r, d_kl[t] = 1;
      if (estimator == r1::KlEstimator::k2) kl[t] = 0.5 * log_r * log_r, d_kl[t] = -log_r;
      if (estimator == r1::KlEstimator::k3) kl[t] = std::exp(log_r) - 1 - log_r, d_kl[t] = 1 - std::exp(log_r);
    }
    r1::GrpoConfig config = config_without_kl();
    config.beta = 0.1;
    config.kl_estimator = estimator;
    const Run in_loss = run(config, batch);
    // A = 0, so the policy term is 0 and only β KL remains; token mean over 2.
    CHECK(in_loss.result.loss == doctest::Approx(0.1 * (kl[0] + kl[1]) / 2).epsilon(loss_tolerance));
    CHECK(in_loss.result.kl == doctest::Approx((kl[0] + kl[1]) / 2).epsilon(loss_tolerance));
    check_gradient(in_loss.d_logprobs[0], 0.1 * d_kl[0] / 2);
    check_gradient(in_loss.d_logprobs[1], 0.1 * d_kl[1] / 2);
    config.kl_placement = r1::KlPlacement::reward;
    const Run in_reward = run(config, batch);
    CHECK(in_reward.result.loss == 0);
    CHECK(in_reward.result.kl == doctest::Approx((kl[0] + kl[1]) / 2).epsilon(loss_tolerance));
    CHECK(in_reward.d_logprobs[0] == 0.0f);
  }
}

TEST_CASE("entropy bonus: loss −= c H, d loss / d H = −c w") {
  r1::GrpoConfig config = config_without_kl();
  config.entropy_coef = 0.01;
  LossBatch batch;
  batch.token(-1.0f, 1.0, 0, 0, /*entropy=*/2.0f);
  batch.token(-1.0f, 1.0, 0, 0, /*entropy=*/0.5f);
  batch.token(-1.0f, 1.0, 0, 0, /*entropy=*/9.0f, /*counted=*/0);
  batch.end_sequence();
  const Run r = run(config, batch);
  CHECK(r.result.loss == doctest::Approx(-0.01 * (2.0 + 0.5) / 2).epsilon(loss_tolerance));
  CHECK(r.result.entropy == doctest::Approx(1.25));
  check_gradient(r.d_entropies[0], -0.01 / 2);
  check_gradient(r.d_entropies[1], -0.01 / 2);
  CHECK(r.d_entropies[2] == 0.0f);
}

TEST_CASE("aggregation modes weigh tokens as their papers do") {
  // At ρ = 1 inside the clip, loss_t = −A_t and d loss_t / dℓ_t = −A_t.
  LossBatch batch;
  batch.token(-1.0f, 1.0, 1);
  batch.token(-1.0f, 1.0, 2);
  batch.token(-1.0f, 1.0, 9, 0, 0, /*counted=*/0);
  batch.end_sequence();
  batch.token(-1.0f, 1.0, -1);
  batch.token(-1.0f, 1.0, 0.5f);
  batch.token(-1.0f, 1.0, 1);
  batch.end_sequence();
  struct Case {
    r1::Aggregation mode;
    double loss, weight0, weight1;  // expected loss and weights of sequence 0 and 1
  };
  const Case cases[] = {
      {r1::Aggregation::sequence_mean_token_mean, 0.5 * (-3.0 / 2 + -0.5 / 3), 1.0 / 4, 1.0 / 6},  // DeepSeekMath Eq. 3
      {r1::Aggregation::token_mean, (-3.0 - 0.5) / 5, 1.0 / 5, 1.0 / 5},                           // DAPO Eq. 8
      {r1::Aggregation::constant_normaliser, (-3.0 - 0.5) / (2 * 4), 1.0 / 8, 1.0 / 8},             // Dr. GRPO, C = 4
      {r1::Aggregation::sequence_sum, (-3.0 - 0.5) / 2, 1.0 / 2, 1.0 / 2},
  };
  for (const Case& c : cases) {
    CAPTURE(r1::to_string(c.mode));
    r1::GrpoConfig config = config_without_kl();
    config.aggregation = c.mode;
    config.aggregation_constant = 4;
    const Run r = run(config, batch);
    CHECK(r.result.loss == doctest::Approx(c.loss).epsilon(loss_tolerance));
    check_gradient(r.d_logprobs[0], -1 * c.weight0);
    check_gradient(r.d_logprobs[1], -2 * c.weight0);
    CHECK(r.d_logprobs[2] == 0.0f);
    check_gradient(r.d_logprobs[3], 1 * c.weight1);
    check_gradient(r.d_logprobs[4], -0.5 * c.weight1);
    check_gradient(r.d_logprobs[5], -1 * c.weight1);
  }
}

namespace {

// A batch whose ratios stay ≥ 0.05 away from every clip bound (0.8, 1.28, dual c = 3)
// in log space, so a finite-difference step of 1e-3 never crosses one.
LossBatch generic_batch() {
  LossBatch batch;
  const double ratios[] = {0.5, 0.9, 1.0, 1.1, 1.6, 2.0, 0.7, 1.05, 1.2};
  const float advantages[] = {1.0f, -1.0f, 0.5f, -0.3f};
  const int lengths[] = {3, 1, 4, 2, 5};
  int k = 0;
  for (int s = 0; s < 5; ++s) {
    const float advantage = advantages[s % 4];  // constant within a sequence (GSPO's setting)
    for (int t = 0; t < lengths[s]; ++t, ++k) {
      const float old = -0.2f - 0.15f * static_cast<float>(k % 7);
      const float ref = old + 0.1f * static_cast<float>((k % 5) - 2);
      batch.token(old, ratios[k % 9], advantage, ref, 0.3f + 0.1f * static_cast<float>(k % 4), k % 6 == 5 ? 0.0f : 1.0f);
    }
    batch.end_sequence();
  }
  return batch;
}

}  // namespace

TEST_CASE("d loss / d log-prob matches central finite differences away from clip bounds") {
  const LossBatch base = generic_batch();
  for (auto kind : {r1::PolicyLoss::clipped, r1::PolicyLoss::gspo, r1::PolicyLoss::reinforce})
    for (auto mode : {r1::Aggregation::sequence_mean_token_mean, r1::Aggregation::token_mean,
                      r1::Aggregation::constant_normaliser, r1::Aggregation::sequence_sum})
      for (auto estimator : {r1::KlEstimator::k1, r1::KlEstimator::k2, r1::KlEstimator::k3}) {
        CAPTURE(r1::to_string(kind));
        CAPTURE(r1::to_string(mode));
        CAPTURE(r1::to_string(estimator));
        r1::GrpoConfig config = config_without_kl();
        config.policy_loss = kind;
        config.aggregation = mode;
        config.aggregation_constant = 7;
        config.beta = 0.05;
        config.kl_estimator = estimator;
        config.dual_clip_c = 3;
        config.entropy_coef = 0.01;
        const Run analytic = run(config, base);
        for (std::size_t t = 0; t < base.size(); ++t) {
          if (base.mask[t] == 0) continue;
          CAPTURE(t);
          LossBatch plus = base, minus = base;
          plus.logprobs[t] += 1e-3f;
          minus.logprobs[t] -= 1e-3f;
          const double step = static_cast<double>(plus.logprobs[t]) - minus.logprobs[t];  // the float step actually taken
          const double numeric = (run(config, plus).result.loss - run(config, minus).result.loss) / step;
          // Central differences err by (h²/6)|L'''| with h = 1e-3; every term here is
          // a product of exp(≤ 1) and |A|, β ≤ 1 times a weight ≤ 1, so |L'''| ≤ 10 w
          // and the error ≤ 2e-6 w; the float d_logprobs add 6e-8 relative.
          const double weight = std::abs(analytic.d_logprobs[t]) + 1e-2;
          CHECK(std::abs(numeric - analytic.d_logprobs[t]) <= 2e-6 * weight + 1e-7 * std::abs(numeric));
        }
      }
}

TEST_CASE("at a clip bound exactly, the token counts as inside and the gradient −ρA flows") {
  LossBatch batch;
  batch.token(0.0f, std::exp(0.2), +1);   // at 1 + ε_high
  batch.token(0.0f, std::exp(-0.3), -1);  // at 1 − ε_low
  batch.token(0.0f, std::exp(0.9), -1);   // at the dual-clip bound: −ρA = c
  batch.end_sequence();
  // Put the bounds exactly at the computed ratios: 1 + (ρ − 1) == ρ in double for ρ ∈ [0.5, 2]
  // (Sterbenz), and c is the ratio itself.
  r1::GrpoConfig config = config_without_kl();
  config.eps_high = batch.ratio(0) - 1;
  config.eps_low = 1 - batch.ratio(1);
  config.dual_clip_c = batch.ratio(2);
  REQUIRE(1 + config.eps_high == batch.ratio(0));
  REQUIRE(1 - config.eps_low == batch.ratio(1));
  const Run at_bound = run(config, batch);
  check_gradient(at_bound.d_logprobs[0], -batch.ratio(0) / 3);
  check_gradient(at_bound.d_logprobs[1], batch.ratio(1) / 3);
  check_gradient(at_bound.d_logprobs[2], batch.ratio(2) / 3);
  CHECK(at_bound.result.clip_fraction_high == 0);
  CHECK(at_bound.result.clip_fraction_low == 0);
  CHECK(at_bound.result.clip_fraction_dual == 0);
  // One float step further out, each clip is active: the one-sided derivative from outside is 0.
  LossBatch outside = batch;
  outside.logprobs[0] = std::nextafter(outside.logprobs[0], 1.0f);
  outside.logprobs[1] = std::nextafter(outside.logprobs[1], -1.0f);
  outside.logprobs[2] = std::nextafter(outside.logprobs[2], 2.0f);
  const Run beyond = run(config, outside);
  CHECK(beyond.d_logprobs[0] == 0.0f);
  CHECK(beyond.d_logprobs[1] == 0.0f);
  CHECK(beyond.d_logprobs[2] == 0.0f);
  CHECK(beyond.result.clip_fraction_high == doctest::Approx(1.0 / 3));
  CHECK(beyond.result.clip_fraction_low == doctest::Approx(1.0 / 3));
  CHECK(beyond.result.clip_fraction_dual == doctest::Approx(1.0 / 3));
}

TEST_CASE("an empty batch has zero loss") {
  LossBatch empty;
  const Run r = run(config_without_kl(), empty);
  CHECK(r.result.loss == 0);
  CHECK(r.result.tokens == 0);
}

TEST_CASE("micro-batches with whole-batch totals sum to the whole-batch loss and gradient") {
  const LossBatch whole = generic_batch();
  double counted = 0;
  for (float m : whole.mask) counted += m != 0;
  const double sequences = static_cast<double>(whole.sequences());
  for (auto kind : {r1::PolicyLoss::clipped, r1::PolicyLoss::gspo, r1::PolicyLoss::cispo, r1::PolicyLoss::reinforce})
    for (auto mode : {r1::Aggregation::sequence_mean_token_mean, r1::Aggregation::token_mean,
                      r1::Aggregation::constant_normaliser, r1::Aggregation::sequence_sum}) {
      CAPTURE(r1::to_string(kind));
      CAPTURE(r1::to_string(mode));
      r1::GrpoConfig config = config_without_kl();
      config.policy_loss = kind;
      config.aggregation = mode;
      config.aggregation_constant = 7;
      config.beta = 0.05;
      config.entropy_coef = 0.01;
      const Run reference = run(config, whole);
      // Splits {0,2} {2,3} {3,5}: each micro-batch is told the whole batch's totals.
      const std::size_t cuts[] = {0, 2, 3, 5};
      double loss = 0;
      std::vector<float> d_logprobs, d_entropies;
      for (int piece = 0; piece < 3; ++piece) {
        const Run part = run(config, whole.slice(cuts[piece], cuts[piece + 1]), counted, sequences);
        loss += part.result.loss;
        d_logprobs.insert(d_logprobs.end(), part.d_logprobs.begin(), part.d_logprobs.end());
        d_entropies.insert(d_entropies.end(), part.d_entropies.begin(), part.d_entropies.end());
      }
      // Summing 3 double partial sums instead of one changes the result by a few 2^-52.
      CHECK(loss == doctest::Approx(reference.result.loss).epsilon(loss_tolerance));
      REQUIRE(d_logprobs.size() == reference.d_logprobs.size());
      for (std::size_t t = 0; t < d_logprobs.size(); ++t) {
        CAPTURE(t);
        check_gradient(d_logprobs[t], reference.d_logprobs[t]);
        check_gradient(d_entropies[t], reference.d_entropies[t]);
      }
    }
}

TEST_CASE("bad loss input raises r1::Error naming what is wrong") {
  LossBatch batch;
  batch.token(-1.0f, 1.0, 1);
  batch.token(-1.0f, 1.0, 1);
  batch.end_sequence();
  r1::GrpoConfig config = config_without_kl();
  r1::GrpoObjective objective{config};
  std::vector<float> d(2), short_d(1);
  CHECK_THROWS_AS(objective.loss(batch.view(), short_d, {}), r1::Error);
  LossBatch bad_offsets = batch;
  bad_offsets.offsets.back() = 3;
  CHECK_THROWS_AS(objective.loss(bad_offsets.view(), d, {}), r1::Error);
  LossBatch bad_mask = batch;
  bad_mask.mask.pop_back();
  CHECK_THROWS_AS(objective.loss(bad_mask.view(), d, {}), r1::Error);
  LossBatch nan_logprob = batch;
  nan_logprob.logprobs[1] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(objective.loss(nan_logprob.view(), d, {}), r1::Error);
  CHECK_THROWS_AS(objective.loss(batch.view(/*batch_tokens=*/1, 0), d, {}), r1::Error);  // fewer than this micro-batch
  LossBatch no_ref = batch;
  no_ref.ref_logprobs.clear();
  config.beta = 0.1;
  CHECK_THROWS_WITH_AS(r1::GrpoObjective{config}.loss(no_ref.view(), d, {}), doctest::Contains("ref_logprobs"), r1::Error);
  config.beta = 0;
  config.entropy_coef = 0.1;
  CHECK_THROWS_AS(r1::GrpoObjective{config}.loss(batch.view(), d, {}), r1::Error);  // no d_entropies
  LossBatch nan_entropy = batch;
  nan_entropy.entropies[0] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> d_entropies(2);
  CHECK_THROWS_AS(objective.loss(nan_entropy.view(), d, d_entropies), r1::Error);
  CHECK_NOTHROW(objective.loss(batch.view(), d, {}));
  CHECK(r1::DrGrpoObjective{}.config().aggregation == r1::Aggregation::constant_normaliser);
}
