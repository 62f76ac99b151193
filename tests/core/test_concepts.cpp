// Conformance of the five policy concepts in both directions: a minimal
// archetype satisfies each; a type lacking any one requirement does not.
#include <doctest/doctest.h>

#include <iosfwd>
#include <span>
#include <vector>

#include "r1/concepts.hpp"

namespace {

struct ArchetypeCache {};

// ---- Model ----
struct ModelArchetype {
  using Cache = ArchetypeCache;
  std::int64_t vocab_size() const { return 4; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void backward(const r1::TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  std::span<const r1::ParameterView> parameters() { return {}; }
  Cache make_cache(int, int) const { return {}; }
  void prefill(Cache&, std::span<const std::int32_t>, const r1::TokenBatch&, std::span<float>) {}
  void decode(Cache&, std::span<const std::int32_t>, std::span<const r1::TokenId>, std::span<float>) {}
  void copy_slot(Cache&, int, int) {}
};
struct ModelWithoutCache {
  std::int64_t vocab_size() const { return 4; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void backward(const r1::TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  std::span<const r1::ParameterView> parameters() { return {}; }
};
struct ModelWithoutBackward {
  using Cache = ArchetypeCache;
  std::int64_t vocab_size() const { return 4; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void zero_grad() {}
  std::span<const r1::ParameterView> parameters() { return {}; }
  Cache make_cache(int, int) const { return {}; }
  void prefill(Cache&, std::span<const std::int32_t>, const r1::TokenBatch&, std::span<float>) {}
  void decode(Cache&, std::span<const std::int32_t>, std::span<const r1::TokenId>, std::span<float>) {}
  void copy_slot(Cache&, int, int) {}
};
struct ModelWithoutDecode {
  using Cache = ArchetypeCache;
  std::int64_t vocab_size() const { return 4; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void backward(const r1::TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  std::span<const r1::ParameterView> parameters() { return {}; }
  Cache make_cache(int, int) const { return {}; }
  void prefill(Cache&, std::span<const std::int32_t>, const r1::TokenBatch&, std::span<float>) {}
  void copy_slot(Cache&, int, int) {}
};
struct ModelWithoutParameters {
  using Cache = ArchetypeCache;
  std::int64_t vocab_size() const { return 4; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void backward(const r1::TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  Cache make_cache(int, int) const { return {}; }
  void prefill(Cache&, std::span<const std::int32_t>, const r1::TokenBatch&, std::span<float>) {}
  void decode(Cache&, std::span<const std::int32_t>, std::span<const r1::TokenId>, std::span<float>) {}
  void copy_slot(Cache&, int, int) {}
};

// ---- Sampler ----
struct SamplerArchetype {
  template <class M>
  std::vector<r1::Completion> generate(M&, const r1::GenerationRequest&) { return {}; }
};
struct SamplerReturningWrongType {
  template <class M>
  int generate(M&, const r1::GenerationRequest&) { return 0; }
};

// ---- RewardVerifier ----
struct VerifierArchetype {
  std::string_view name() const { return "archetype"; }
  r1::Reward operator()(const r1::Problem&, std::string_view) const { return {}; }
};
struct VerifierNotConst {  // mutating call: not safe to run from many threads
  std::string_view name() const { return "mutating"; }
  r1::Reward operator()(const r1::Problem&, std::string_view) { return {}; }
};
struct VerifierWithoutName {
  r1::Reward operator()(const r1::Problem&, std::string_view) const { return {}; }
};
struct VerifierReturningDouble {
  std::string_view name() const { return "double"; }
  double operator()(const r1::Problem&, std::string_view) const { return 0; }
};

// ---- Optimizer ----
struct OptimizerArchetype {
  void step(std::span<const r1::ParameterView>) {}
  void set_learning_rate(float) {}
  float learning_rate() const { return 0; }
  void save_state(std::ostream&) const {}
  void load_state(std::istream&) {}
};
struct OptimizerWithoutState {
  void step(std::span<const r1::ParameterView>) {}
  void set_learning_rate(float) {}
  float learning_rate() const { return 0; }
};
struct OptimizerWithoutStep {
  void set_learning_rate(float) {}
  float learning_rate() const { return 0; }
  void save_state(std::ostream&) const {}
  void load_state(std::istream&) {}
};

// ---- Objective ----
struct ObjectiveArchetype {
  r1::Advantages advantages(const r1::AdvantageInput&) const { return {}; }
  r1::LossResult loss(const r1::PolicyBatch&, std::span<float>, std::span<float>) const { return {}; }
};
struct ObjectiveWithoutAdvantages {
  r1::LossResult loss(const r1::PolicyBatch&, std::span<float>, std::span<float>) const { return {}; }
};
struct ObjectiveWithoutLoss {
  r1::Advantages advantages(const r1::AdvantageInput&) const { return {}; }
};

}  // namespace

TEST_CASE("Model concept") {
  static_assert(r1::Model<ModelArchetype>);
  static_assert(!r1::Model<ModelWithoutCache>);
  static_assert(!r1::Model<ModelWithoutBackward>);
  static_assert(!r1::Model<ModelWithoutDecode>);
  static_assert(!r1::Model<ModelWithoutParameters>);
  static_assert(!r1::Model<int>);
  CHECK(r1::Model<ModelArchetype>);
}

TEST_CASE("Sampler concept") {
  static_assert(r1::Sampler<SamplerArchetype, ModelArchetype>);
  static_assert(!r1::Sampler<SamplerReturningWrongType, ModelArchetype>);
  static_assert(!r1::Sampler<SamplerArchetype, ModelWithoutDecode>);  // needs a Model
  CHECK(r1::Sampler<SamplerArchetype, ModelArchetype>);
}

TEST_CASE("RewardVerifier concept") {
  static_assert(r1::RewardVerifier<VerifierArchetype>);
  static_assert(!r1::RewardVerifier<VerifierNotConst>);
  static_assert(!r1::RewardVerifier<VerifierWithoutName>);
  static_assert(!r1::RewardVerifier<VerifierReturningDouble>);
  CHECK(r1::RewardVerifier<VerifierArchetype>);
}

TEST_CASE("Optimizer concept") {
  static_assert(r1::Optimizer<OptimizerArchetype>);
  static_assert(!r1::Optimizer<OptimizerWithoutState>);
  static_assert(!r1::Optimizer<OptimizerWithoutStep>);
  CHECK(r1::Optimizer<OptimizerArchetype>);
}

TEST_CASE("Objective concept") {
  static_assert(r1::Objective<ObjectiveArchetype>);
  static_assert(!r1::Objective<ObjectiveWithoutAdvantages>);
  static_assert(!r1::Objective<ObjectiveWithoutLoss>);
  CHECK(r1::Objective<ObjectiveArchetype>);
}
