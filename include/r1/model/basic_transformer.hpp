#pragma once
// The Llama / Qwen2 decoder (Touvron et al. 2023; Qwen2 report 2024) on the
// CPU, templated on the scalar type so the very same code runs in double for
// gradient checks. r1::Transformer<r1::cpu> (transformer.hpp) is the float one.
//
//   x = embed[tokens]                                              (N, D)
//   per layer:  h = x + o_proj(attention(rope(qkv_proj(rmsnorm(x)))))
//               x = h + down_proj(silu(gate_proj(rmsnorm(h))) * up_proj(rmsnorm(h)))
//   logits = lm_head(rmsnorm(x))                                   (M, V) at scored rows only
//
// Memory: parameters and gradients are two flat buffers laid out once, with
// q/k/v (and their biases) adjacent and gate/up adjacent so each pair or triple
// is one GEMM. Activations live in grow-only buffers: after the first call with
// a given size, score/backward/prefill/decode allocate nothing. score() keeps the
// logits of the M scored rows (M x V) for backward while they fit in the logits
// budget (set_logits_budget); beyond it, the LM head runs in chunks of rows and
// backward recomputes each chunk's logits (one more LM-head GEMM), so a 150k
// vocabulary (600 KB of fp32 logits per token) does not bound the batch.
//
// Less memory per parameter (issue 22):
//   gradient checkpointing  only the residual stream at layer boundaries is kept; backward recomputes
//                           each layer's activations from its input (Chen et al. 2016, "Training Deep
//                           Nets with Sublinear Memory Cost", sec. 3), bit for bit the forward's
//   frozen copies           frozen_copy(): a scoring-only copy (a KL reference) with no gradient buffer,
//                           one layer of activations, and weights kept in bf16 if asked, each layer
//                           widened to fp32 just before it runs
//   LoRA                    enable_lora(): low-rank adapters on the projections (lora_adapters.hpp); the
//                           base is then frozen (no gradient buffer), and with the adapters switched off
//                           (set_adapters_enabled(false)) the model is its base: GRPO's KL reference
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/config.hpp"
#include "r1/model/gemm/few_rows_linear_bf16.hpp"
#include "r1/model/kv_cache.hpp"
#include "r1/model/lora_adapters.hpp"
#include "r1/model/peft_adapter.hpp"
#include "r1/model/ops/attention.hpp"
#include "r1/model/ops/embedding.hpp"
#include "r1/model/ops/linear.hpp"
#include "r1/model/ops/log_softmax_gather.hpp"
#include "r1/model/ops/rmsnorm.hpp"
#include "r1/model/ops/rope.hpp"
#include "r1/model/ops/swiglu.hpp"
#include "r1/model/ops/swiglu_projections.hpp"
#include "r1/model/parallel_chunks.hpp"
#include "r1/model/weight_storage.hpp"

namespace r1 {

// One named parameter tensor inside the flat buffer.
struct ParameterTensor {
  std::string name;                 // HF name
  std::vector<std::int64_t> shape;  // row-major
  std::int64_t offset = 0, size = 0;
  bool weight_decay = true;  // false for norms and biases
};

template <class Scalar>
class BasicTransformer {
 public:
  using Index = Eigen::Index;
  using Cache = BasicKvCache<Scalar>;

  explicit BasicTransformer(const ModelConfig& config) : BasicTransformer(config, WeightStorage::full, false) {
    parameters_.assign(static_cast<std::size_t>(parameter_count_), Scalar(0));
    gradients_.assign(static_cast<std::size_t>(parameter_count_), Scalar(0));
  }

  // A model whose base will not train: weights, no gradient buffer (a 1.5B model's would be 6 GB, touched
  // by zero-filling before enable_lora could release it). enable_lora must follow before any backward.
  static BasicTransformer with_frozen_base(const ModelConfig& config) {
    BasicTransformer model(config, WeightStorage::full, false);
    model.parameters_.assign(static_cast<std::size_t>(model.parameter_count_), Scalar(0));
    return model;
  }

  // A copy of `source`'s weights for scoring only (the KL reference of GRPO): no gradient buffer, no
  // backward, activations of one layer at a time, the weights in `storage`.
  static BasicTransformer frozen_copy(const BasicTransformer& source, WeightStorage storage) {
    BasicTransformer copy(source.config_, storage, true);
    copy.logits_budget_ = source.logits_budget_;
    copy.copy_weights_from(source);
    return copy;
  }

  // Replaces a frozen copy's weights with `source`'s (R1's periodic reference reset), in its storage.
  void copy_weights_from(const BasicTransformer& source) {
    require(frozen_, "copy_weights_from: only a frozen copy takes another model's weights");
    require(source.parameter_count_ == parameter_count_ && source.storage_ == WeightStorage::full,
            "copy_weights_from: the source must be a full-precision model of the same shape");
    if (storage_ == WeightStorage::full) {
      parameters_ = source.parameters_;
    } else {
      bf16_parameters_.resize(static_cast<std::size_t>(parameter_count_));
      std::transform(source.parameters_.begin(), source.parameters_.end(), bf16_parameters_.begin(),
                     [](Scalar value) { return float_to_bf16(static_cast<float>(value)); });
    }
  }

  // Sampling (prefill/decode) from bf16 copies of the weight matrices (issue 26): decoding streams every
  // weight per token, so half the bytes is up to twice the tokens/s; training keeps the fp32 weights. The
  // copy (2 bytes a parameter) is refreshed before the first prefill after the weights change: a non-const
  // access (flat_parameters(), Transformer::parameters(), loading) marks them changed; code that writes
  // through a view it kept must call mark_weights_changed(). Norms and biases stay fp32, and log-probs the
  // sampler records are those of the distribution it samples from (these logits).
  void set_sampling_storage(WeightStorage storage) {
    require(storage == WeightStorage::full || std::is_same_v<Scalar, float>,
            "set_sampling_storage: bf16 sampling weights need a float model");
    require(!frozen_ || storage == WeightStorage::full, "set_sampling_storage: a frozen copy does not sample");
    sampling_storage_ = storage;
    sampling_weights_stale_ = true;
    if (storage == WeightStorage::full) AlignedVector<std::uint16_t>().swap(sampling_bf16_);
  }
  WeightStorage sampling_storage() const { return sampling_storage_; }
  void mark_weights_changed() { sampling_weights_stale_ = true; }

  bool frozen() const { return frozen_; }
  WeightStorage weight_storage() const { return storage_; }
  // The bf16 weights of a frozen bf16 copy (empty otherwise), in the flat layout of tensors().
  std::span<std::uint16_t> bf16_parameters() { return bf16_parameters_; }
  std::span<const std::uint16_t> bf16_parameters() const { return bf16_parameters_; }

  // Keep only layer inputs in the forward and recompute each layer in backward: per token, (L + 1) x D
  // floats plus one layer's activations instead of L layers' (HF's `gradient_checkpointing`). Gradients
  // are bitwise the same either way: the recomputation runs the forward's own code on the same inputs.
  void set_gradient_checkpointing(bool enabled) { checkpointing_ = enabled; }
  bool gradient_checkpointing() const { return checkpointing_; }

  const ModelConfig& config() const { return config_; }
  std::int64_t vocab_size() const { return config_.vocab_size; }
  std::int64_t parameter_count() const { return parameter_count_; }
  const std::vector<ParameterTensor>& tensors() const { return tensors_; }
  const ParameterTensor* find_tensor(std::string_view name) const {
    for (const auto& tensor : tensors_)
      if (tensor.name == name) return &tensor;
    return nullptr;
  }
  std::span<Scalar> flat_parameters() {
    sampling_weights_stale_ = true;  // the caller may write them
    return parameters_;
  }
  std::span<Scalar> flat_gradients() { return gradients_; }
  std::span<const Scalar> flat_parameters() const { return parameters_; }
  std::span<const Scalar> flat_gradients() const { return gradients_; }

  // normal(0, stddev) for matrices, 1 for norm weights, 0 for biases, drawn in layout order from Philox(seed).
  void init_random(std::uint64_t seed, float stddev = 0.02f) {
    require(!frozen_, "init_random: a frozen copy takes its weights from copy_weights_from");
    Philox rng(seed);
    for (const auto& tensor : tensors_) {
      Scalar* data = parameters_.data() + tensor.offset;
      const bool is_norm = tensor.name.ends_with("norm.weight");
      const bool is_bias = tensor.name.ends_with(".bias");
      for (std::int64_t i = 0; i < tensor.size; ++i)
        data[i] = is_norm ? Scalar(1) : is_bias ? Scalar(0) : static_cast<Scalar>(rng.normal() * stddev);
    }
  }

  void zero_grad() {
    std::fill(gradients_.begin(), gradients_.end(), Scalar(0));
    if (lora_) lora_->zero_grad();
  }

  // LoRA adapters on the projections `config` targets (A drawn from config.seed, B = 0): from here on only
  // they train; the base's gradient buffer is released.
  void enable_lora(const LoraConfig& config) {
    require(!frozen_, "enable_lora: a frozen copy does not train");
    require(!lora_, "enable_lora: the model already has LoRA adapters (merge_lora first)");
    const Index D = config_.hidden_size, F = config_.intermediate_size, A = heads_.q_width(), KW = heads_.kv_width();
    const Index QKV = heads_.qkv_width();
    lora_.emplace(config, config_.num_hidden_layers, [&](LoraTarget target) -> LoraProjection {
      switch (target) {
        case LoraTarget::q_proj: return {D, A, 0, QKV};
        case LoraTarget::k_proj: return {D, KW, A, QKV};
        case LoraTarget::v_proj: return {D, KW, A + KW, QKV};
        case LoraTarget::o_proj: return {A, D, 0, D};
        case LoraTarget::gate_proj: return {D, F, 0, 2 * F};
        case LoraTarget::up_proj: return {D, F, F, 2 * F};
        case LoraTarget::down_proj: return {F, D, 0, D};
      }
      throw Error("enable_lora: unknown target");
    });
    lora_->init(config.seed);
    AlignedVector<Scalar>().swap(gradients_);  // the base is frozen
    adapters_enabled_ = true;
  }
  bool has_lora() const { return lora_.has_value(); }
  BasicLoraAdapters<Scalar>* lora() { return lora_ ? &*lora_ : nullptr; }
  const BasicLoraAdapters<Scalar>* lora() const { return lora_ ? &*lora_ : nullptr; }
  // Off: the model computes its base alone (the frozen reference of a LoRA run); backward needs them on.
  void set_adapters_enabled(bool enabled) { adapters_enabled_ = enabled; }
  bool adapters_enabled() const { return adapters_enabled_; }

  // Folds the adapters into the base, W = W0 + s B A (Hu et al. 2021, sec. 4.1), and removes them: the model
  // is a plain trainable one again.
  void merge_lora() {
    require(lora_.has_value(), "merge_lora: the model has no LoRA adapters");
    const auto& adapters = *lora_;
    for (std::int64_t l = 0; l < config_.num_hidden_layers; ++l)
      for (const auto& module : adapters.modules_of(l)) {
        const ParameterTensor* base = find_tensor(lora_base_tensor_name(l, module.target));
        require(base != nullptr, "merge_lora: no base tensor ", lora_base_tensor_name(l, module.target));
        lora_merge(parameters_.data() + base->offset, module.projection.out, module.projection.in,
                   adapters.values().data() + module.a, adapters.values().data() + module.b, adapters.rank(),
                   adapters.scale());
      }
    lora_.reset();
    gradients_.assign(static_cast<std::size_t>(parameter_count_), Scalar(0));
  }

 private:
  BasicTransformer(const ModelConfig& config, WeightStorage storage, bool frozen)
      : config_(config), storage_(storage), frozen_(frozen) {
    config_.validate("ModelConfig");
    require(frozen || storage == WeightStorage::full, "BasicTransformer: only a frozen copy stores bf16 weights");
    heads_ = AttentionHeads{config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim()};
    lay_out_parameters();
    rope_ = RopeTable<Scalar>(heads_.head_dim, config_.rope_theta, config_.rope_scaling);
  }

 public:

  // Logits held at once by score()/backward, in elements (default 2^25: 128 MB of fp32). When the M x V logits
  // of the scored rows exceed it, they are computed floor(budget / V) rows at a time (at least one row), as
  // Liger Kernel's fused linear cross-entropy chunks them (Hsu et al. 2024, arXiv:2410.10989). Liger forms the
  // gradient inside the forward; here d loss / d logprob is not known until backward, so backward recomputes
  // each chunk's logits instead: memory O(budget) instead of O(M V), for one more LM-head GEMM.
  void set_logits_budget(std::int64_t elements) {
    require(elements > 0, "set_logits_budget: ", elements, " elements: expected a positive count");
    logits_budget_ = elements;
  }
  std::int64_t logits_budget() const { return logits_budget_; }
  // Rows of logits per chunk for M scored rows (M itself when they all fit).
  Index logits_chunk_rows(Index M) const {
    return std::max<Index>(std::min<Index>(M, logits_budget_ / config_.vocab_size), 1);
  }

  // ---- Training path ----

  // logprobs[i] / entropies[i] (N each) for scored positions, 0 elsewhere; see Transformer<cpu>::score.
  void forward_scores(const TokenBatch& batch, Scalar temperature, std::span<Scalar> logprobs,
                      std::span<Scalar> entropies) {
    batch.validate(config_.vocab_size, "score: batch");
    require(std::isfinite(static_cast<double>(temperature)) && temperature > Scalar(0), "score: temperature ",
            temperature, ": expected a finite positive number");
    const auto N = static_cast<Index>(batch.total_tokens());
    require(static_cast<Index>(logprobs.size()) == N && static_cast<Index>(entropies.size()) == N,
            "score: output spans must have one entry per token (", N, ")");
    const Index D = config_.hidden_size, V = config_.vocab_size, L = config_.num_hidden_layers;

    // Row r of the final hidden states predicts token r + 1 of the same sequence.
    scored_rows_.clear();
    for (std::size_t s = 0; s < batch.size(); ++s)
      for (std::int64_t t = batch.first_scored(s); t < batch.length(s); ++t)
        scored_rows_.push_back(batch.offsets[s] + t - 1);
    const auto M = static_cast<Index>(scored_rows_.size());
    reserve_training(N, M);
    rope_.reserve(detail::longest_sequence(batch.offsets));
    tokens_ = N;
    offsets_.assign(batch.offsets.begin(), batch.offsets.end());
    temperature_ = temperature;

    activation_slots_ = keeps_one_layer() ? 1 : L;
    forward_adapted_ = lora_.has_value() && adapters_enabled_;
    embed_rows(std::span<const TokenId>(batch.tokens), at(resid_, 0, N * D));
    for (Index l = 0; l < L; ++l) forward_layer(l, activation_slots_ == 1 ? 0 : l);
    // Final norm and LM head only at the M rows that predict a scored token.
    const Scalar* last = at(resid_, L, N * D);
    for (Index m = 0; m < M; ++m) std::copy_n(last + scored_rows_[static_cast<std::size_t>(m)] * D, D, final_in_.data() + m * D);
    rmsnorm_forward(final_in_.data(), final_norm_weight(), M, D, config_.rms_norm_eps, final_normed_.data(),
                    final_rstd_.data());
    std::fill(logprobs.begin(), logprobs.end(), Scalar(0));
    std::fill(entropies.begin(), entropies.end(), Scalar(0));
    const Index chunk_rows = logits_chunk_rows(M);
    score_chunk_rows_ = chunk_rows;  // backward chunks the same way even if the budget changes in between
    for (Index first = 0; first < M; first += chunk_rows) {
      const Index rows = std::min(chunk_rows, M - first);
      Scalar* logits = logits_.data();  // one chunk at a time (all M rows when they fit the budget)
      lm_head_forward(final_normed_.data() + first * D, rows, logits);
      parallel_chunks(rows, chunk_count(rows, 8), [&](int, Index begin, Index end) {
        for (Index m = first + begin; m < first + end; ++m) {
          const Index target_index = scored_rows_[static_cast<std::size_t>(m)] + 1;
          const auto result = log_softmax_gather_forward(logits + (m - first) * V, V, temperature,
                                                         batch.tokens[static_cast<std::size_t>(target_index)]);
          row_results_[static_cast<std::size_t>(m)] = result;
          logprobs[static_cast<std::size_t>(target_index)] = result.logprob;
          entropies[static_cast<std::size_t>(target_index)] = result.entropy;
        }
      });
    }
    backward_ready_ = !frozen_;
  }

  // Accumulates parameter gradients from d loss / d logprob and d loss / d entropy (d_entropies may be empty).
  void backward_scores(const TokenBatch& batch, std::span<const Scalar> d_logprobs, std::span<const Scalar> d_entropies) {
    require(!frozen_, "backward: a frozen copy has no gradients");
    const auto N = static_cast<Index>(batch.total_tokens());
    require(backward_ready_ && N == tokens_ &&
                std::equal(batch.offsets.begin(), batch.offsets.end(), offsets_.begin(), offsets_.end()),
            "backward: must follow score() on the same batch (and only once)");
    require(static_cast<Index>(d_logprobs.size()) == N, "backward: d_logprobs has ", d_logprobs.size(),
            " entries, expected one per token (", N, ")");
    require(d_entropies.empty() || static_cast<Index>(d_entropies.size()) == N, "backward: d_entropies has ",
            d_entropies.size(), " entries, expected 0 or one per token (", N, ")");
    require(lora_ || static_cast<std::int64_t>(gradients_.size()) == parameter_count_,
            "backward: the model's base is frozen (with_frozen_base) and it has no LoRA adapters");
    require(!lora_ || forward_adapted_, "backward: score() ran with the LoRA adapters off (a reference pass)");
    // Dropout is an adapter's training-time noise only (PEFT applies it in train mode): an adapter saved with
    // lora_dropout > 0 loads, scores and merges, but r1 does not train with dropout.
    require(!lora_ || lora_->config().dropout == 0, "backward: LoRA 'lora_dropout' = ", lora_ ? lora_->config().dropout : 0.0f,
            ": r1 trains LoRA adapters without dropout; set it to 0");
    backward_ready_ = false;  // the logits buffer becomes d logits below
    const Index D = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
    const Index L = config_.num_hidden_layers, A = heads_.q_width(), QKV = heads_.qkv_width();
    const auto M = static_cast<Index>(scored_rows_.size());
    const Scalar* W = parameters_.data();
    // With LoRA the base is frozen: its weight gradients are not formed, and a norm's weight gradient (which
    // rmsnorm_backward forms with the input's) goes to a scratch.
    const bool train_base = !lora_;
    Scalar* G = gradients_.data();
    grow(frozen_norm_grad_, D);
    const auto norm_grad = [&](std::int64_t offset) { return train_base ? G + offset : frozen_norm_grad_.data(); };
    // LoRA's backward of each targeted projection: its A, B gradients, and its share of d input.
    const auto adapt_back = [&](Index l, Index slot, std::initializer_list<LoraTarget> targets, const Scalar* input,
                                const Scalar* d_output, Scalar* d_input) {
      if (!lora_) return;
      for (const auto target : targets)
        if (const auto* module = lora_->find(l, target))
          lora_->backward(*module, input, lora_xa(slot, module->index_in_layer), d_output, N, d_input, lora_scratch_);
    };

    Scalar* d_final = d_final_normed_.data();
    const Index chunk_rows = score_chunk_rows_;
    for (Index first = 0; first < M; first += chunk_rows) {
      const Index rows = std::min(chunk_rows, M - first);
      Scalar* d_logits = logits_.data();
      // Chunked logits were not kept: the same GEMM on the same rows writes them again, bit for bit.
      if (chunk_rows < M)
        linear_forward(final_normed_.data() + first * D, W + lm_head_, static_cast<const Scalar*>(nullptr), rows, D,
                       V, d_logits);
      parallel_chunks(rows, chunk_count(rows, 8), [&](int, Index begin, Index end) {
        for (Index m = first + begin; m < first + end; ++m) {
          const auto target_index = static_cast<std::size_t>(scored_rows_[static_cast<std::size_t>(m)] + 1);
          log_softmax_gather_backward(d_logits + (m - first) * V, V, temperature_, batch.tokens[target_index],
                                      row_results_[static_cast<std::size_t>(m)], d_logprobs[target_index],
                                      d_entropies.empty() ? Scalar(0) : d_entropies[target_index]);
        }
      });
      linear_backward_input(d_logits, W + lm_head_, rows, D, V, d_final + first * D);
      if (train_base)
        linear_backward_weight(d_logits, final_normed_.data() + first * D, rows, D, V, G + lm_head_,
                               static_cast<Scalar*>(nullptr));
    }
    Scalar* d_final_in = d_final_in_.data();
    std::fill_n(d_final_in, M * D, Scalar(0));
    rmsnorm_backward(d_final, final_in_.data(), W + final_norm_, final_rstd_.data(), M, D, d_final_in,
                     norm_grad(final_norm_));

    // d_x: d loss / d (residual stream), carried down through the layers in place.
    Scalar* d_x = d_x_.data();
    std::fill_n(d_x, N * D, Scalar(0));
    for (Index m = 0; m < M; ++m)
      std::copy_n(d_final_in + m * D, D, d_x + scored_rows_[static_cast<std::size_t>(m)] * D);
    Scalar* d_normed = d_normed_.data();
    for (Index l = L - 1; l >= 0; --l) {
      const LayerOffsets& p = layers_[static_cast<std::size_t>(l)];
      const Index slot = activation_slots_ == 1 ? 0 : l;
      if (activation_slots_ == 1) forward_layer(l, 0);  // checkpointing: this layer's activations again
      // MLP branch: x_next = mid + down(swiglu(gate_up(rmsnorm(mid)))).
      Scalar* gate_up = at(gate_up_, slot, N * 2 * F);
      Scalar* act = at(act_, slot, N * F);
      Scalar* xn2 = at(xn2_, slot, N * D);
      Scalar* attn = at(attn_, slot, N * A);
      Scalar* xn1 = at(xn1_, slot, N * D);
      if (adapts(l, {LoraTarget::down_proj})) {
        linear_backward_input(d_x, W + p.down_weight, N, F, D, d_act_.data());
        adapt_back(l, slot, {LoraTarget::down_proj}, act, d_x, d_act_.data());
        swiglu_backward(d_act_.data(), gate_up, N, F, d_gate_up_.data());
      } else {
        down_swiglu_backward(d_x, W + p.down_weight, gate_up, N, F, D, d_act_.data(), d_gate_up_.data());
      }
      if (train_base)
        linear_backward_weight(d_x, act, N, F, D, G + p.down_weight, static_cast<Scalar*>(nullptr));
      linear_backward_input(d_gate_up_.data(), W + p.gate_up_weight, N, D, 2 * F, d_normed);
      adapt_back(l, slot, {LoraTarget::gate_proj, LoraTarget::up_proj}, xn2, d_gate_up_.data(), d_normed);
      if (train_base)
        linear_backward_weight(d_gate_up_.data(), xn2, N, D, 2 * F, G + p.gate_up_weight, static_cast<Scalar*>(nullptr));
      rmsnorm_backward(d_normed, at(mid_, slot, N * D), W + p.post_norm, at(rstd2_, slot, N), N, D, d_x,
                       norm_grad(p.post_norm));
      // Attention branch: mid = x + o_proj(attention(...)).
      linear_backward_input(d_x, W + p.o_weight, N, A, D, d_attn_.data());
      adapt_back(l, slot, {LoraTarget::o_proj}, attn, d_x, d_attn_.data());
      if (train_base) linear_backward_weight(d_x, attn, N, A, D, G + p.o_weight, static_cast<Scalar*>(nullptr));
      attention_backward_packed(d_attn_.data(), at(qkv_, slot, N * QKV), attn, at(lse_, slot, N * heads_.heads),
                                std::span<const std::int64_t>(batch.offsets), heads_, d_qkv_.data(), attention_scratch_);
      rotate_packed(d_qkv_.data(), batch.offsets, true);
      linear_backward_input(d_qkv_.data(), W + p.qkv_weight, N, D, QKV, d_normed);
      adapt_back(l, slot, {LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj}, xn1, d_qkv_.data(), d_normed);
      if (train_base)
        linear_backward_weight(d_qkv_.data(), xn1, N, D, QKV, G + p.qkv_weight,
                               p.qkv_bias >= 0 ? G + p.qkv_bias : static_cast<Scalar*>(nullptr));
      rmsnorm_backward(d_normed, at(resid_, l, N * D), W + p.input_norm, at(rstd1_, slot, N), N, D, d_x,
                       norm_grad(p.input_norm));
    }
    if (train_base) embedding_backward(d_x, std::span<const TokenId>(batch.tokens), D, G + embed_);
  }

  // ---- Inference path ----

  Cache make_cache(int slots, int max_positions) const {
    return Cache(static_cast<int>(config_.num_hidden_layers), slots, max_positions, heads_.kv_heads, heads_.head_dim);
  }

  // Appends sequence i of `sequences` to slot slots[i] (positions continue from the slot's length) and writes
  // the raw logits (slots.size(), V) of each sequence's last position.
  void extend(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& sequences, std::span<Scalar> logits) {
    sequences.validate(config_.vocab_size, "prefill: prompts");
    require(storage_ == WeightStorage::full, "prefill/decode: a bf16 frozen copy only scores");
    const auto S = static_cast<Index>(slots.size());
    require(S == static_cast<Index>(sequences.size()), "prefill: ", slots.size(), " slots for ", sequences.size(),
            " sequences");
    require(cache_fits(cache), "prefill: the cache was made for another model shape");
    const Index D = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
    const Index L = config_.num_hidden_layers, A = heads_.q_width(), QKV = heads_.qkv_width(), KW = heads_.kv_width();
    require(static_cast<Index>(logits.size()) == S * V, "prefill/decode: logits has ", logits.size(),
            " entries, expected slots x vocab = ", S * V);
    Index longest_total = 0, longest_new = 0;
    for (Index s = 0; s < S; ++s) {
      const int slot = slots[static_cast<std::size_t>(s)];
      require(slot >= 0 && slot < cache.slots(), "prefill/decode: slot ", slot, " outside [0, ", cache.slots(), ")");
      for (Index other = 0; other < s; ++other)
        require(slots[static_cast<std::size_t>(other)] != slot, "prefill/decode: slot ", slot, " appears twice");
      const Index length = sequences.length(static_cast<std::size_t>(s));
      require(length >= 1, "prefill/decode: sequence ", s, " is empty");
      require(cache.length(slot) + length <= cache.max_positions(), "prefill/decode: slot ", slot, " holds ",
              cache.length(slot), " tokens; ", length, " more exceed max_positions ", cache.max_positions());
      longest_total = std::max<Index>(longest_total, cache.length(slot) + length);
      longest_new = std::max(longest_new, length);
    }
    const auto N = static_cast<Index>(sequences.total_tokens());
    reserve_inference(N, S);
    rope_.reserve(longest_total);
    const int chunks = chunk_count(S * heads_.kv_heads);
    attention_scratch_.reserve(chunks, longest_total, heads_.head_dim);

    const Scalar* W = parameters_.data();
    if (sampling_storage_ == WeightStorage::bf16) refresh_sampling_weights();
    Scalar* x = infer_x_.data();
    Scalar* xn = infer_normed_.data();
    Scalar* qkv = infer_qkv_.data();
    Scalar* attn = infer_attn_.data();
    embedding_forward(W + embed_, std::span<const TokenId>(sequences.tokens), D, x);
    // A decode step splits the key/value heads over the threads when each gets the same number (attention_by_heads).
    const int head_chunks = chunk_count(heads_.kv_heads);
    const bool heads_split_evenly = head_chunks == std::max(active_threads(), 1) && heads_.kv_heads % head_chunks == 0;
    for (Index l = 0; l < L; ++l) {
      const LayerOffsets& p = layers_[static_cast<std::size_t>(l)];
      const bool attention_by_heads = N <= detail::kFewRows && heads_split_evenly &&
                                      !adapts(l, {LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj});
      rmsnorm_forward(x, W + p.input_norm, N, D, config_.rms_norm_eps, xn, infer_rstd_.data());
      // Sequence s's queries and new key and value of key/value head g: RoPE, the key and value into the cache,
      // then attention for the group's query heads.
      const auto attend = [&](int chunk, Index s, Index g) {
        const Index E = heads_.head_dim;
        const int slot = slots[static_cast<std::size_t>(s)];
        const Index first = sequences.offsets[static_cast<std::size_t>(s)], length = sequences.length(static_cast<std::size_t>(s));
        const Index start = cache.length(slot);
        Scalar* rows = qkv + first * QKV;
        rope_rotate(rows + g * heads_.group() * E, length, QKV, heads_.group(), start, rope_, false);
        rope_rotate(rows + A + g * E, length, QKV, Index{1}, start, rope_, false);
        Scalar* keys = cache.keys(static_cast<int>(l), slot, g);
        Scalar* values = cache.values(static_cast<int>(l), slot, g);
        for (Index t = 0; t < length; ++t) {
          std::copy_n(rows + t * QKV + A + g * E, E, keys + (start + t) * E);
          std::copy_n(rows + t * QKV + A + KW + g * E, E, values + (start + t) * E);
        }
        const Index visible_keys = start + length;
        for (Index h = g * heads_.group(); h < (g + 1) * heads_.group(); ++h) {
          const AttentionHeadInputs<Scalar> in{rows + h * E, QKV, keys, values, E, length, visible_keys, E};
          attention_head_forward(in, attn + first * A + h * E, A, infer_lse_.data() + first * heads_.heads + h,
                                 heads_.heads, attention_scratch_.chunk(chunk));
        }
      };
      if (attention_by_heads) {
        // A decode step: one parallel region for the projections and attention. Each chunk takes whole key/value
        // heads: their query, key and value rows of qkv (few_rows_product, the values infer_linear gives), then
        // their attention for every sequence.
        const Index G = heads_.group(), E = heads_.head_dim;
        const Scalar* qkv_bias = p.qkv_bias >= 0 ? W + p.qkv_bias : nullptr;
        parallel_chunks(heads_.kv_heads, head_chunks, [&](int chunk, Index g0, Index g1) {
          for (const auto& [begin, end] : {std::pair{g0 * G * E, g1 * G * E}, std::pair{A + g0 * E, A + g1 * E},
                                          std::pair{A + KW + g0 * E, A + KW + g1 * E}}) {
            few_rows_product(xn, N, D, p.qkv_weight, begin, end, qkv, QKV, false);
            if (qkv_bias != nullptr)
              view(qkv + begin, N, end - begin, QKV).rowwise() +=
                  Eigen::Map<const RowVectorOf<Scalar>>(qkv_bias + begin, end - begin);
          }
          for (Index s = 0; s < S; ++s)
            for (Index g = g0; g < g1; ++g) attend(chunk, s, g);
        });
      } else {
        infer_linear(xn, p.qkv_weight, p.qkv_bias >= 0 ? W + p.qkv_bias : nullptr, N, D, QKV, qkv, false);
        infer_adapt(l, N, {LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj}, xn, qkv);
        // One task per (sequence, key/value head). One parallel region for RoPE, the cache and attention.
        parallel_dealt(S * heads_.kv_heads, chunks, [&](int chunk, std::int64_t item) {
          attend(chunk, item / heads_.kv_heads, item % heads_.kv_heads);
        });
      }
      infer_linear(attn, p.o_weight, nullptr, N, A, D, x, true);
      infer_adapt(l, N, {LoraTarget::o_proj}, attn, x);
      rmsnorm_forward(x, W + p.post_norm, N, D, config_.rms_norm_eps, xn, infer_rstd_.data());
      if (N <= detail::kFewRows && !adapts(l, {LoraTarget::gate_proj, LoraTarget::up_proj})) {
        infer_gate_up_swiglu(xn, p.gate_up_weight, N, D, F, infer_gate_up_.data(), infer_act_.data());
      } else {
        infer_linear(xn, p.gate_up_weight, nullptr, N, D, 2 * F, infer_gate_up_.data(), false);
        infer_adapt(l, N, {LoraTarget::gate_proj, LoraTarget::up_proj}, xn, infer_gate_up_.data());
        swiglu_forward(infer_gate_up_.data(), N, F, infer_act_.data());
      }
      infer_linear(infer_act_.data(), p.down_weight, nullptr, N, F, D, x, true);
      infer_adapt(l, N, {LoraTarget::down_proj}, infer_act_.data(), x);
    }
    for (Index s = 0; s < S; ++s) {
      const int slot = slots[static_cast<std::size_t>(s)];
      cache.set_length(slot, cache.length(slot) + static_cast<int>(sequences.length(static_cast<std::size_t>(s))));
      std::copy_n(x + (sequences.offsets[static_cast<std::size_t>(s) + 1] - 1) * D, D, infer_last_.data() + s * D);
    }
    rmsnorm_forward(infer_last_.data(), W + final_norm_, S, D, config_.rms_norm_eps, infer_last_normed_.data(),
                    infer_rstd_.data());
    infer_linear(infer_last_normed_.data(), lm_head_, nullptr, S, D, V, logits.data(), false);
  }

  // Appends tokens[i] to slot slots[i] for all i in one batched step; logits (slots.size(), V).
  void decode(Cache& cache, std::span<const std::int32_t> slots, std::span<const TokenId> tokens, std::span<Scalar> logits) {
    require(slots.size() == tokens.size(), "decode: ", slots.size(), " slots for ", tokens.size(), " tokens");
    decode_batch_.tokens.assign(tokens.begin(), tokens.end());
    decode_batch_.offsets.resize(tokens.size() + 1);
    for (std::size_t i = 0; i <= tokens.size(); ++i) decode_batch_.offsets[i] = static_cast<std::int64_t>(i);
    decode_batch_.score_from.clear();
    extend(cache, slots, decode_batch_, logits);
  }

  void copy_slot(Cache& cache, int from_slot, int to_slot) const { cache.copy_slot(from_slot, to_slot); }

  // Whether `cache` was made for this model's shape (so a sampler may keep it across calls).
  bool cache_fits(const Cache& cache) const {
    return cache.layers() == config_.num_hidden_layers && cache.kv_heads() == heads_.kv_heads &&
           cache.head_dim() == heads_.head_dim;
  }

 protected:
  struct LayerOffsets {
    std::int64_t input_norm = 0, qkv_weight = 0, qkv_bias = -1, o_weight = 0, post_norm = 0, gate_up_weight = 0,
                 down_weight = 0, end = 0;  // end: one past the layer's last parameter
  };

 private:
  // Tensor order in the flat buffer (HF names), with q/k/v and gate/up adjacent.
  void lay_out_parameters() {
    const std::int64_t D = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
    const std::int64_t E = heads_.head_dim, H = heads_.heads, K = heads_.kv_heads;
    std::int64_t offset = 0;
    const auto add = [&](std::string name, std::vector<std::int64_t> shape, bool decay) {
      std::int64_t size = 1;
      for (const auto extent : shape) size *= extent;
      tensors_.push_back({std::move(name), std::move(shape), offset, size, decay});
      offset += size;
      return tensors_.back().offset;
    };
    embed_ = add("model.embed_tokens.weight", {V, D}, true);
    for (std::int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      const std::string prefix = "model.layers." + std::to_string(l) + ".";
      LayerOffsets p;
      p.input_norm = add(prefix + "input_layernorm.weight", {D}, false);
      p.qkv_weight = add(prefix + "self_attn.q_proj.weight", {H * E, D}, true);
      add(prefix + "self_attn.k_proj.weight", {K * E, D}, true);
      add(prefix + "self_attn.v_proj.weight", {K * E, D}, true);
      if (config_.attention_bias) {
        p.qkv_bias = add(prefix + "self_attn.q_proj.bias", {H * E}, false);
        add(prefix + "self_attn.k_proj.bias", {K * E}, false);
        add(prefix + "self_attn.v_proj.bias", {K * E}, false);
      }
      p.o_weight = add(prefix + "self_attn.o_proj.weight", {D, H * E}, true);
      p.post_norm = add(prefix + "post_attention_layernorm.weight", {D}, false);
      p.gate_up_weight = add(prefix + "mlp.gate_proj.weight", {F, D}, true);
      add(prefix + "mlp.up_proj.weight", {F, D}, true);
      p.down_weight = add(prefix + "mlp.down_proj.weight", {D, F}, true);
      p.end = offset;
      layers_.push_back(p);
    }
    final_norm_ = add("model.norm.weight", {D}, false);
    lm_head_ = config_.tie_word_embeddings ? embed_ : add("lm_head.weight", {V, D}, true);
    parameter_count_ = offset;
  }

  // Per-layer buffers hold one slot per layer, each starting on a 64-byte boundary (stride rounded up to 16
  // elements), so a layer's arithmetic sees the same alignment in every slot: Eigen peels an unaligned head
  // with scalar code, so an address's alignment can change a result's last bit, and checkpointing (one slot)
  // must give what the plain backward (L slots) gives, bit for bit.
  static constexpr Index padded(Index stride) { return (stride + 15) / 16 * 16; }
  static Scalar* at(AlignedVector<Scalar>& buffer, Index index, Index stride) {
    return buffer.data() + index * padded(stride);
  }

  bool keeps_one_layer() const { return checkpointing_ || frozen_; }

  // One decoder layer's weights, where the layer's GEMMs read them: in place, or widened from bf16 into a
  // one-layer scratch (a layer's tensors are contiguous in the flat layout).
  struct LayerWeights {
    const Scalar *input_norm, *qkv, *qkv_bias, *o, *post_norm, *gate_up, *down;
  };
  LayerWeights layer_weights(Index l) {
    const LayerOffsets& p = layers_[static_cast<std::size_t>(l)];
    const Scalar* base = parameters_.data() + p.input_norm;
    if (storage_ == WeightStorage::bf16) base = widen(p.input_norm, p.end - p.input_norm, layer_scratch_);
    const auto in_layer = [&](std::int64_t offset) { return offset < 0 ? nullptr : base + (offset - p.input_norm); };
    return {in_layer(p.input_norm), in_layer(p.qkv_weight), in_layer(p.qkv_bias), in_layer(p.o_weight),
            in_layer(p.post_norm), in_layer(p.gate_up_weight), in_layer(p.down_weight)};
  }
  // bf16 weights [offset, offset + count) as Scalar in `scratch`.
  // Placed at the alignment the same values have in the flat fp32 buffer (offset mod 16 elements past a
  // 64-byte boundary), so the kernels peel and vectorise them as they would the fp32 model's.
  const Scalar* widen(std::int64_t offset, std::int64_t count, AlignedVector<Scalar>& scratch) {
    return widen_from(bf16_parameters_.data(), offset, count, scratch);
  }
  const Scalar* widen_from(const std::uint16_t* source, std::int64_t offset, std::int64_t count,
                           AlignedVector<Scalar>& scratch) {
    grow(scratch, count + 16);
    Scalar* to = scratch.data() + offset % 16;
    const std::uint16_t* from = source + offset;
    parallel_chunks(count, chunk_count(count, 1 << 16), [&](int, Index begin, Index end) {
      for (Index i = begin; i < end; ++i) to[i] = static_cast<Scalar>(bf16_to_float(from[i]));
    });
    return to;
  }

  // Layer l of the training forward: resid_[l] -> resid_[l + 1], its activations into activation slot `slot`.
  void forward_layer(Index l, Index slot) {
    const Index N = tokens_, D = config_.hidden_size, F = config_.intermediate_size;
    const Index A = heads_.q_width(), QKV = heads_.qkv_width();
    const LayerWeights w = layer_weights(l);
    Scalar* x = at(resid_, l, N * D);
    Scalar* xn1 = at(xn1_, slot, N * D);
    Scalar* qkv = at(qkv_, slot, N * QKV);
    Scalar* attn = at(attn_, slot, N * A);
    Scalar* mid = at(mid_, slot, N * D);
    Scalar* xn2 = at(xn2_, slot, N * D);
    Scalar* gate_up = at(gate_up_, slot, N * 2 * F);
    Scalar* act = at(act_, slot, N * F);
    Scalar* next = at(resid_, l + 1, N * D);
    // LoRA's term of each targeted projection, added into its columns of the (fused) output.
    const auto adapt = [&](std::initializer_list<LoraTarget> targets, const Scalar* input, Scalar* output) {
      if (!lora_ || !adapters_enabled_) return;
      for (const auto target : targets)
        if (const auto* module = lora_->find(l, target))
          lora_->forward(*module, input, N, output, lora_xa(slot, module->index_in_layer));
    };
    rmsnorm_forward(x, w.input_norm, N, D, config_.rms_norm_eps, xn1, at(rstd1_, slot, N));
    linear_forward(xn1, w.qkv, w.qkv_bias, N, D, QKV, qkv);                  // (N, QKV)
    adapt({LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj}, xn1, qkv);
    rotate_packed(qkv, offsets_, false);
    attention_forward_packed(qkv, std::span<const std::int64_t>(offsets_), heads_, attn, at(lse_, slot, N * heads_.heads),
                             attention_scratch_);                            // (N, A)
    linear_forward_residual(attn, w.o, static_cast<const Scalar*>(nullptr), x, N, A, D, mid);
    adapt({LoraTarget::o_proj}, attn, mid);
    rmsnorm_forward(mid, w.post_norm, N, D, config_.rms_norm_eps, xn2, at(rstd2_, slot, N));
    if (adapts(l, {LoraTarget::gate_proj, LoraTarget::up_proj})) {
      linear_forward(xn2, w.gate_up, static_cast<const Scalar*>(nullptr), N, D, 2 * F, gate_up);  // (N, 2F)
      adapt({LoraTarget::gate_proj, LoraTarget::up_proj}, xn2, gate_up);
      swiglu_forward(gate_up, N, F, act);
    } else {
      gate_up_swiglu_forward(xn2, w.gate_up, N, D, F, gate_up, act);
    }
    linear_forward_residual(act, w.down, static_cast<const Scalar*>(nullptr), mid, N, F, D, next);
    adapt({LoraTarget::down_proj}, act, next);
  }

  // y (rows, out) (+)= x (rows, in) W^T + bias for the weight matrix at `offset`, in the inference path: from
  // the fp32 weights, or from their bf16 copy: for few rows (decoding) read as bf16 by few_rows_linear_bf16,
  // else widened kHeadRowsAtOnce rows of W at a time for the GEMM (the same values either way).
  void infer_linear(const Scalar* x, std::int64_t offset, const Scalar* bias, Index rows, Index in, Index out, Scalar* y,
                    bool accumulate) {
    if (sampling_storage_ == WeightStorage::full) {
      linear_forward(x, parameters_.data() + offset, bias, rows, in, out, y, accumulate);
      return;
    }
    if constexpr (std::is_same_v<Scalar, float>) {
      if (rows <= detail::kFewRows) {
        parallel_chunks(out, chunk_count(out, 64), [&](int, Index begin, Index end) {
          few_rows_product(x, rows, in, offset, begin, end, y, out, accumulate);
          if (bias != nullptr)
            for (Index r = 0; r < rows; ++r)
              for (Index j = begin; j < end; ++j) y[r * out + j] += bias[j];
        });
        return;
      }
      for (Index first = 0; first < out; first += kHeadRowsAtOnce) {
        const Index count = std::min(kHeadRowsAtOnce, out - first);
        const Scalar* block = widen_from(sampling_bf16_.data(), offset + first * in, count * in, head_scratch_);
        if (count == out) {
          linear_forward(x, block, bias, rows, in, out, y, accumulate);
          return;
        }
        grow(head_logits_, rows * count);
        linear_forward(x, block, bias != nullptr ? bias + first : nullptr, rows, in, count, head_logits_.data());
        for (Index r = 0; r < rows; ++r)
          for (Index j = 0; j < count; ++j) {
            Scalar& target = y[r * out + first + j];
            target = accumulate ? target + head_logits_[static_cast<std::size_t>(r * count + j)]
                                : head_logits_[static_cast<std::size_t>(r * count + j)];
          }
      }
    }
  }

  // y[r * y_stride + j] (+)= x (rows, in) . row j of the weight matrix at `offset`, for j in [begin, end), on the
  // calling thread: the few-rows kernel of the sampling weights' storage.
  void few_rows_product(const Scalar* x, Index rows, Index in, std::int64_t offset, Index begin, Index end, Scalar* y,
                        Index y_stride, bool accumulate) const {
    if constexpr (std::is_same_v<Scalar, float>) {
      if (sampling_storage_ == WeightStorage::bf16) {
        few_rows_linear_bf16(x, rows, in, sampling_bf16_.data() + offset + begin * in, end - begin, y + begin, y_stride,
                             accumulate);
        return;
      }
    }
    few_rows_linear(x, rows, in, parameters_.data() + offset + begin * in, end - begin, y + begin, y_stride, accumulate);
  }

  // A decode step's MLP input half in one parallel region: each chunk of features f computes its gate rows f and
  // up rows F + f of gate_up (rows, 2F), then act (rows, F) of those columns. The values are infer_linear's and
  // swiglu_forward's: a few-rows output does not depend on how the rows of W are chunked.
  void infer_gate_up_swiglu(const Scalar* x, std::int64_t offset, Index rows, Index in, Index features, Scalar* gate_up,
                            Scalar* act) {
    parallel_chunks(features, chunk_count(features, 32), [&](int, Index begin, Index end) {
      few_rows_product(x, rows, in, offset, begin, end, gate_up, 2 * features, false);
      few_rows_product(x, rows, in, offset + features * in, begin, end, gate_up + features, 2 * features, false);
      swiglu_forward_columns(gate_up, rows, features, begin, end, act);
    });
  }

  // The bf16 copy of the weights, when they changed since it was made.
  void refresh_sampling_weights() {
    if (!sampling_weights_stale_ && static_cast<std::int64_t>(sampling_bf16_.size()) == parameter_count_) return;
    sampling_bf16_.resize(static_cast<std::size_t>(parameter_count_));
    const Scalar* from = parameters_.data();
    std::uint16_t* to = sampling_bf16_.data();
    parallel_chunks(parameter_count_, chunk_count(parameter_count_, 1 << 18), [&](int, Index begin, Index end) {
      for (Index i = begin; i < end; ++i) to[i] = float_to_bf16(static_cast<float>(from[i]));
    });
    sampling_weights_stale_ = false;
  }

  // LoRA's terms in the inference path (x A^T into a scratch: nothing is kept).
  void infer_adapt(Index l, Index N, std::initializer_list<LoraTarget> targets, const Scalar* input, Scalar* output) {
    if (!lora_ || !adapters_enabled_) return;
    grow(infer_lora_xa_, N * lora_->rank());
    for (const auto target : targets)
      if (const auto* module = lora_->find(l, target)) lora_->forward(*module, input, N, output, infer_lora_xa_.data());
  }

  // Whether LoRA adds a term to one of `targets` of layer l in this pass.
  bool adapts(Index l, std::initializer_list<LoraTarget> targets) const {
    if (!lora_ || !adapters_enabled_) return false;
    for (const auto target : targets)
      if (lora_->find(l, target) != nullptr) return true;
    return false;
  }
  // x A^T (N, r) of module `index` of a layer, in activation slot `slot`.
  Scalar* lora_xa(Index slot, Index index) {
    const Index stride = padded(tokens_ * lora_->rank());
    return lora_xa_.data() + (slot * lora_->modules_per_layer() + index) * stride;
  }

  // x (N, D) = embedding rows of `tokens`.
  void embed_rows(std::span<const TokenId> tokens, Scalar* x) {
    const Index D = config_.hidden_size;
    if (storage_ == WeightStorage::full) {
      embedding_forward(parameters_.data() + embed_, tokens, D, x);
      return;
    }
    const auto rows = static_cast<Index>(tokens.size());
    parallel_chunks(rows, chunk_count(rows, 64), [&](int, Index begin, Index end) {
      for (Index row = begin; row < end; ++row) {
        const std::uint16_t* from = bf16_parameters_.data() + embed_ + static_cast<Index>(tokens[static_cast<std::size_t>(row)]) * D;
        for (Index i = 0; i < D; ++i) x[row * D + i] = static_cast<Scalar>(bf16_to_float(from[i]));
      }
    });
  }

  const Scalar* final_norm_weight() {
    if (storage_ == WeightStorage::full) return parameters_.data() + final_norm_;
    return widen(final_norm_, config_.hidden_size, final_norm_scratch_);
  }

  // logits (rows, V) = input (rows, D) lm_head^T. From bf16, the head is widened kHeadRowsAtOnce vocabulary
  // rows at a time (a 151,936 x 896 head would need 545 MB in fp32) and each block's logits placed.
  static constexpr Index kHeadRowsAtOnce = 16384;
  void lm_head_forward(const Scalar* input, Index rows, Scalar* logits) {
    const Index D = config_.hidden_size, V = config_.vocab_size;
    if (storage_ == WeightStorage::full) {
      linear_forward(input, parameters_.data() + lm_head_, static_cast<const Scalar*>(nullptr), rows, D, V, logits);
      return;
    }
    for (Index first = 0; first < V; first += kHeadRowsAtOnce) {
      const Index count = std::min(kHeadRowsAtOnce, V - first);
      const Scalar* head = widen(lm_head_ + first * D, count * D, head_scratch_);
      grow(head_logits_, rows * count);
      linear_forward(input, head, static_cast<const Scalar*>(nullptr), rows, D, count, head_logits_.data());  // (rows, count)
      for (Index r = 0; r < rows; ++r) std::copy_n(head_logits_.data() + r * count, count, logits + r * V + first);
    }
  }
  static void grow(AlignedVector<Scalar>& buffer, Index size) {
    if (static_cast<Index>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
  }

  void reserve_training(Index N, Index M) {
    const Index D = config_.hidden_size, F = config_.intermediate_size, V = config_.vocab_size;
    const Index L = config_.num_hidden_layers, A = heads_.q_width(), QKV = heads_.qkv_width();
    // Per-layer buffers are indexed with stride N * width, so they must hold L (or L + 1) of them.
    // With checkpointing (or frozen: no backward) one layer's activations are kept, the residual stream at
    // every layer boundary still.
    const Index K = keeps_one_layer() ? 1 : L;
    grow(resid_, (L + 1) * padded(N * D));
    grow(xn1_, K * padded(N * D));
    grow(rstd1_, K * padded(N));
    grow(qkv_, K * padded(N * QKV));
    grow(attn_, K * padded(N * A));
    grow(lse_, K * padded(N * heads_.heads));
    grow(mid_, K * padded(N * D));
    grow(xn2_, K * padded(N * D));
    grow(rstd2_, K * padded(N));
    grow(gate_up_, K * padded(N * 2 * F));
    grow(act_, K * padded(N * F));
    if (lora_) grow(lora_xa_, K * lora_->modules_per_layer() * padded(N * lora_->rank()));
    grow(final_in_, M * D);
    grow(final_normed_, M * D);
    grow(final_rstd_, M);
    grow(logits_, logits_chunk_rows(M) * V);
    if (static_cast<Index>(row_results_.size()) < M) row_results_.resize(static_cast<std::size_t>(M));
    if (frozen_) return;  // no backward
    grow(d_final_normed_, M * D);
    grow(d_final_in_, M * D);
    grow(d_x_, N * D);
    grow(d_normed_, N * D);
    grow(d_act_, N * F);
    grow(d_gate_up_, N * 2 * F);
    grow(d_attn_, N * A);
    grow(d_qkv_, N * QKV);
  }

  void reserve_inference(Index N, Index S) {
    const Index D = config_.hidden_size, F = config_.intermediate_size;
    grow(infer_x_, N * D);
    grow(infer_normed_, N * D);
    grow(infer_rstd_, std::max(N, S));
    grow(infer_qkv_, N * heads_.qkv_width());
    grow(infer_attn_, N * heads_.q_width());
    grow(infer_lse_, N * heads_.heads);
    grow(infer_gate_up_, N * 2 * F);
    grow(infer_act_, N * F);
    grow(infer_last_, S * D);
    grow(infer_last_normed_, S * D);
  }

  // RoPE on the q and k parts of packed qkv rows, each sequence from position 0 (inverse: the backward).
  void rotate_packed(Scalar* qkv, const std::vector<std::int64_t>& offsets, bool inverse) {
    const Index QKV = heads_.qkv_width();
    parallel_dealt(static_cast<std::int64_t>(offsets.size()) - 1, chunk_count(static_cast<Index>(offsets.size()) - 1),
                   [&](int, std::int64_t s) {
                     Scalar* rows = qkv + offsets[static_cast<std::size_t>(s)] * QKV;
                     const Index length = offsets[static_cast<std::size_t>(s) + 1] - offsets[static_cast<std::size_t>(s)];
                     rope_rotate(rows, length, QKV, heads_.heads, 0, rope_, inverse);
                     rope_rotate(rows + heads_.q_width(), length, QKV, heads_.kv_heads, 0, rope_, inverse);
                   });
  }

  ModelConfig config_;
  WeightStorage storage_ = WeightStorage::full;
  bool frozen_ = false, checkpointing_ = false;
  WeightStorage sampling_storage_ = WeightStorage::full;
  bool sampling_weights_stale_ = true;
  AlignedVector<std::uint16_t> sampling_bf16_;
  AlignedVector<std::uint16_t> bf16_parameters_;
  AlignedVector<Scalar> layer_scratch_, final_norm_scratch_, head_scratch_, head_logits_;
  std::optional<BasicLoraAdapters<Scalar>> lora_;
  bool adapters_enabled_ = true, forward_adapted_ = false;
  AlignedVector<Scalar> lora_xa_, lora_scratch_, frozen_norm_grad_, infer_lora_xa_;
  AttentionHeads heads_;
  std::vector<ParameterTensor> tensors_;
  std::vector<LayerOffsets> layers_;
  std::int64_t embed_ = 0, final_norm_ = 0, lm_head_ = 0, parameter_count_ = 0;
  AlignedVector<Scalar> parameters_, gradients_;
  RopeTable<Scalar> rope_;
  AttentionScratch<Scalar> attention_scratch_;

  // Saved by forward_scores for backward_scores.
  bool backward_ready_ = false;
  Index tokens_ = 0, activation_slots_ = 0;
  Scalar temperature_ = 1;
  std::vector<std::int64_t> offsets_, scored_rows_;
  AlignedVector<Scalar> resid_, xn1_, rstd1_, qkv_, attn_, lse_, mid_, xn2_, rstd2_, gate_up_, act_;
  AlignedVector<Scalar> final_in_, final_normed_, final_rstd_, logits_;
  std::int64_t logits_budget_ = std::int64_t{1} << 25;
  Index score_chunk_rows_ = 0;
  std::vector<TokenLogprob<Scalar>> row_results_;
  AlignedVector<Scalar> d_final_normed_, d_final_in_, d_x_, d_normed_, d_act_, d_gate_up_, d_attn_, d_qkv_;

  // Inference scratch.
  TokenBatch decode_batch_;
  AlignedVector<Scalar> infer_x_, infer_normed_, infer_rstd_, infer_qkv_, infer_attn_, infer_lse_, infer_gate_up_,
      infer_act_, infer_last_, infer_last_normed_;
};

}  // namespace r1
