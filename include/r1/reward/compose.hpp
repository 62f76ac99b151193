#pragma once
// Weighted sums of verifiers, each part reported by name in Reward::components
// (the TRL/verl "rewards/<name>" metrics):
//
//   // compile time: types resolved by the recipe
//   r1::Sum<r1::MathAnswer, r1::R1Format> reward{{1.0, 0.5}};   // weights
//   reward(problem, completion).components == {{"accuracy", 1}, {"format", 0}}
//
//   // run time: built from a config
//   r1::RewardList list;
//   list.add(r1::MathAnswer{}, 1.0).add(r1::TagCount{}, 0.25);
//
// score = sum_i w_i * s_i over the parts that are applicable; the components carry
// each part's unweighted score. A part that is not applicable is left out of both
// (and named in the reason); when no part is applicable the sum is not applicable.
// A part that is itself a composite contributes its own components, so nested sums
// report their leaves.
#include <array>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/reward/reward.hpp"
#include "r1/reward/verifier_concept.hpp"

namespace r1 {

namespace compose_detail {

// Accumulates the parts of a weighted sum.
class SumBuilder {
 public:
  void add(std::string_view name, double weight, Reward part) {
    if (!part.applicable) {
      skipped_ += skipped_.empty() ? "" : ", ";
      skipped_.append(name);
      return;
    }
    any_applicable_ = true;
    total_.score += weight * part.score;
    if (part.components.empty()) {
      total_.components.push_back({std::string(name), part.score});
    } else {
      for (auto& component : part.components) total_.components.push_back(std::move(component));
    }
    if (total_.extracted.empty()) total_.extracted = std::move(part.extracted);
    if (!part.reason.empty()) {
      if (!total_.reason.empty()) total_.reason += "; ";
      total_.reason.append(name).append(": ").append(part.reason);
    }
  }
  Reward finish() && {
    if (!any_applicable_) return Reward::not_applicable("no part applicable (" + skipped_ + ")");
    if (!skipped_.empty()) total_.reason += (total_.reason.empty() ? "" : "; ") + ("not applicable: " + skipped_);
    return std::move(total_);
  }

 private:
  Reward total_;
  std::string skipped_;
  bool any_applicable_ = false;
};

}  // namespace compose_detail

template <RewardVerifier... Verifiers>
class Sum {
 public:
  static constexpr std::size_t size = sizeof...(Verifiers);
  static_assert(size >= 1, "r1::Sum needs at least one verifier");
  using Weights = std::array<double, size>;

  Sum() requires(std::default_initializable<Verifiers> && ...) { weights_.fill(1.0); }
  explicit Sum(Weights weights) requires(std::default_initializable<Verifiers> && ...) : weights_(weights) {}
  explicit Sum(Verifiers... verifiers) : verifiers_(std::move(verifiers)...) { weights_.fill(1.0); }
  Sum(Weights weights, Verifiers... verifiers) : verifiers_(std::move(verifiers)...), weights_(weights) {}

  std::string_view name() const { return "sum"; }
  const Weights& weights() const { return weights_; }
  template <std::size_t I>
  const auto& part() const { return std::get<I>(verifiers_); }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    compose_detail::SumBuilder builder;
    add_parts(builder, problem, completion, std::index_sequence_for<Verifiers...>{});
    return std::move(builder).finish();
  }

 private:
  template <std::size_t... I>
  void add_parts(compose_detail::SumBuilder& builder, const Problem& problem, std::string_view completion,
                 std::index_sequence<I...>) const {
    (builder.add(std::get<I>(verifiers_).name(), weights_[I], std::get<I>(verifiers_)(problem, completion)), ...);
  }

  std::tuple<Verifiers...> verifiers_;
  Weights weights_{};
};

// Any RewardVerifier behind one type, for lists built at run time. Copies share
// the verifier (it is const and thread-safe by the concept).
class AnyVerifier {
 public:
  template <RewardVerifier V>
    requires(!std::same_as<std::remove_cvref_t<V>, AnyVerifier>)
  AnyVerifier(V verifier)  // NOLINT: implicit, so list.add(MathAnswer{}) reads naturally
      : name_(verifier.name()) {
    auto shared = std::make_shared<const V>(std::move(verifier));
    call_ = [shared](const Problem& problem, std::string_view completion) { return (*shared)(problem, completion); };
  }
  // A verifier from a plain function, named `name`.
  AnyVerifier(std::string name, std::function<Reward(const Problem&, std::string_view)> call)
      : name_(std::move(name)), call_(std::move(call)) {
    require(static_cast<bool>(call_), "AnyVerifier '", name_, "': empty function");
  }

  std::string_view name() const { return name_; }
  Reward operator()(const Problem& problem, std::string_view completion) const { return call_(problem, completion); }

 private:
  std::string name_;
  std::function<Reward(const Problem&, std::string_view)> call_;
};

class RewardList {
 public:
  RewardList& add(AnyVerifier verifier, double weight = 1.0) {
    parts_.push_back({std::move(verifier), weight});
    return *this;
  }
  std::size_t size() const { return parts_.size(); }
  std::string_view name() const { return "reward_list"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    require(!parts_.empty(), "RewardList: no verifier added");
    compose_detail::SumBuilder builder;
    for (const auto& part : parts_) builder.add(part.verifier.name(), part.weight, part.verifier(problem, completion));
    return std::move(builder).finish();
  }

 private:
  struct Part {
    AnyVerifier verifier;
    double weight;
  };
  std::vector<Part> parts_;
};

}  // namespace r1
