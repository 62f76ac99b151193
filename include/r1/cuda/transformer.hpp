#pragma once
// r1::Transformer<r1::cuda>: the Llama / Qwen2 policy model on one GPU, built from
// r1's kernels (kernels/), satisfying r1::Model like Transformer<r1::cpu>, whose
// checkpoint format, tensor layout and formulas it shares.
//
//   auto model = r1::Transformer<r1::cuda>::load("Qwen2.5-0.5B");
//   model.score(batch, 1.0f, scores);   model.backward(batch, d_logprobs, d_entropies);
//
// Storage precision T (bf16 for Transformer<cuda>, fp32 for the lockstep tests);
// all arithmetic accumulates in fp32. Training state is device-resident: the fp32
// master weights, their storage-precision copy, and the fp32 gradients, which
// backward() accumulates across micro-batches and zero_grad() clears, all on the GPU.
// parameters() returns DeviceParameters (r1/cuda/device_parameters.hpp): clip_grad_norm
// of it runs on the device and gpu::CudaAdamW (r1/cuda/cuda_adamw.hpp) steps it there.
// A Transformer<cpu> is the host mirror, used for loading, checkpoints and HF export:
// reading it (save, host() const) copies whatever the device changed since; writing
// access (host(), flat_parameters(), the views parameters() converts to) also marks the
// device copy stale, so the next device use uploads the host values and gradients.
// Log-probs are fp32: the LM head is fused with log-softmax-gather and chunked over
// tokens (head_chunk_rows(), 256 MiB of fp32 logits by default), in score() and again in
// backward(), which writes dlogits over each chunk and runs that chunk's two GEMMs at once
// (llm.c's fused classifier); no (tokens x vocab) buffer exists. Prefill and decode produce
// fp32 logits too, so the LM head adds only fp32 rounding between sampled and trained
// log-probs; in bf16 storage the decode step's attention (decode_attention) may still round
// its bf16 output differently from score()'s (attention_forward). prefill_device / decode_device / sample_device keep
// those logits on the GPU and return only drawn tokens and their log-probs (KvSampler uses
// them). Prefill continues a slot only one token at a time (decode); a multi-token prefill
// needs an empty slot.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/cuda/arena.hpp"
#include "r1/cuda/check.hpp"
#include "r1/cuda/cublaslt.hpp"
#include "r1/cuda/device_parameters.hpp"
#include "r1/cuda/kv_cache.hpp"
#include "r1/cuda/math/rope.hpp"
#include "r1/cuda/ops/attention.hpp"
#include "r1/cuda/ops/convert.hpp"
#include "r1/cuda/ops/decode_attention.hpp"
#include "r1/cuda/ops/embedding.hpp"
#include "r1/cuda/ops/gemm.hpp"
#include "r1/cuda/ops/grad_norm.hpp"
#include "r1/cuda/ops/log_softmax_gather.hpp"
#include "r1/cuda/ops/residual.hpp"
#include "r1/cuda/ops/rmsnorm.hpp"
#include "r1/cuda/ops/rope.hpp"
#include "r1/cuda/ops/sampling.hpp"
#include "r1/cuda/ops/swiglu.hpp"
#include "r1/cuda/stream.hpp"
#include "r1/model/transformer.hpp"

namespace r1 {

struct cuda {};  // backend tag

namespace gpu {

template <StorageType T>
class CudaTransformer {
 public:
  using Cache = DeviceKvCache<T>;

  // Takes the host model (weights, layout, config) and lays out the device weights once.
  explicit CudaTransformer(Transformer<cpu> host) : host_(std::move(host)) {
    const ModelConfig& c = host_.config();
    D_ = c.hidden_size;
    F_ = c.intermediate_size;
    V_ = c.vocab_size;
    L_ = c.num_hidden_layers;
    H_ = c.num_attention_heads;
    K_ = c.num_key_value_heads;
    E_ = c.head_dim();  // HF "head_dim": H_ * E_ need not equal D_, so the attention widths below never use D_
    A_ = H_ * E_;
    KW_ = K_ * E_;
    QKV_ = A_ + 2 * KW_;
    require(!host_.has_lora(), "Transformer<cuda>: LoRA adapters are not supported on the GPU (merge them first)");
    require(E_ <= attention_max_head_dim, "Transformer<cuda>: head_dim ", E_, " exceeds the attention kernels' ",
            attention_max_head_dim);
    require(D_ * std::max({F_, V_, QKV_}) < (std::int64_t{1} << 31),
            "Transformer<cuda>: tensor sizes must fit int32 GEMM shapes");
    head_rows_ = std::clamp<std::int64_t>((std::int64_t{256} << 20) / (4 * V_), 1, 4096);  // 256 MiB of fp32 logits
    embed_ = offset_of("model.embed_tokens.weight");
    for (std::int64_t l = 0; l < L_; ++l) {
      const std::string prefix = "model.layers." + std::to_string(l) + ".";
      Layer p;
      p.input_norm = offset_of(prefix + "input_layernorm.weight");
      p.qkv_weight = offset_of(prefix + "self_attn.q_proj.weight");
      require(offset_of(prefix + "self_attn.v_proj.weight") == p.qkv_weight + (A_ + KW_) * D_,
              "Transformer<cuda>: q/k/v projections must be adjacent in the host layout");
      if (c.attention_bias) p.qkv_bias = offset_of(prefix + "self_attn.q_proj.bias");
      p.o_weight = offset_of(prefix + "self_attn.o_proj.weight");
      p.post_norm = offset_of(prefix + "post_attention_layernorm.weight");
      p.gate_up_weight = offset_of(prefix + "mlp.gate_proj.weight");
      require(offset_of(prefix + "mlp.up_proj.weight") == p.gate_up_weight + F_ * D_,
              "Transformer<cuda>: gate/up projections must be adjacent in the host layout");
      p.down_weight = offset_of(prefix + "mlp.down_proj.weight");
      layers_.push_back(p);
    }
    final_norm_ = offset_of("model.norm.weight");
    lm_head_ = c.tie_word_embeddings ? embed_ : offset_of("lm_head.weight");
    for (const ParameterTensor& tensor : host_.tensors())
      device_tensors_.push_back({tensor.name, tensor.offset, tensor.size, tensor.weight_decay});
    const auto P = static_cast<std::size_t>(host_.parameter_count());
    std::size_t bytes = 2 * DeviceArena::padded_bytes<float>(P);
    if constexpr (!std::is_same_v<T, float>) bytes += DeviceArena::padded_bytes<T>(P);
    weights_arena_ = DeviceArena(bytes);
    master_ = weights_arena_.allocate<float>(P, "fp32 weights").data;
    grads_ = weights_arena_.allocate<float>(P, "fp32 gradients").data;
    if constexpr (std::is_same_v<T, float>)
      weights_ = master_;
    else
      weights_ = weights_arena_.allocate<T>(P, "storage weights").data;
    scalars_arena_ = DeviceArena(DeviceArena::padded_bytes<float>(grad_norm_workspace_floats) +
                                 DeviceArena::padded_bytes<float>(1));
    norm_workspace_ = scalars_arena_.allocate<float>(grad_norm_workspace_floats, "grad norm workspace").data;
    norm_device_ = scalars_arena_.allocate<float>(1, "grad norm").data;
  }

  static CudaTransformer load(const std::string& directory) { return CudaTransformer(Transformer<cpu>::load(directory)); }
  // Movable (a KL reference lives in a std::optional), not copyable: device memory is owned once.
  // DeviceParameters handles of a moved-from model must not be used.
  CudaTransformer(CudaTransformer&&) = default;
  CudaTransformer& operator=(CudaTransformer&&) = default;

  // A scoring-only copy of `source` (GrpoTrainer's KL reference): its host mirror has no gradient
  // buffer. The device storage precision is T whatever `storage` asks (a bf16 model already stores
  // bf16; the fp32 test model keeps fp32).
  static CudaTransformer frozen_copy(const CudaTransformer& source, WeightStorage /*storage*/) {
    return CudaTransformer(Transformer<cpu>::frozen_copy(source.host(), WeightStorage::full));
  }
  // This model's weights replaced by `source`'s (R1's periodic reference reset), device to device.
  void copy_weights_from(const CudaTransformer& source) {
    require(source.parameter_count() == parameter_count() && source.V_ == V_ && source.L_ == L_,
            "copy_weights_from: the source has another shape (", source.parameter_count(), " parameters, this model ",
            parameter_count(), ")");
    ensure_device();
    const std::size_t P = parameter_elements();
    if (source.device_stale_) {  // the source's host mirror holds its newest values
      copy_to_device<float>(std::as_const(source.host_).flat_parameters(), DeviceSpan<float>{master_, P}, stream_,
                            "copy_weights_from");
    } else {
      source.stream_.synchronize("copy_weights_from");
      R1_CUDA_CHECK(cudaMemcpyAsync(master_, source.master_, P * sizeof(float), cudaMemcpyDeviceToDevice, stream_),
                    "copy_weights_from");
    }
    if constexpr (!std::is_same_v<T, float>)
      convert_from_fp32<T>(master_, weights_, static_cast<std::int64_t>(P), stream_);
    stream_.synchronize("copy_weights_from");
    host_values_stale_ = true;
  }
  void save(const std::string& directory, SafetensorsDtype dtype = SafetensorsDtype::f32,
            std::int64_t max_shard_bytes = kDefaultMaxShardBytes) const {
    sync_host();
    host_.save(directory, dtype, max_shard_bytes);
  }

  const ModelConfig& config() const { return host_.config(); }
  std::int64_t vocab_size() const { return V_; }
  std::int64_t parameter_count() const { return host_.parameter_count(); }

  // ---- Parameters (see the header comment and r1/cuda/device_parameters.hpp) ----

  DeviceParameters<CudaTransformer> parameters() { return DeviceParameters<CudaTransformer>(*this); }
  void zero_grad() {
    ensure_device();
    fill_zero(DeviceSpan<float>{grads_, parameter_elements()}, stream_, "zero_grad");
    host_grads_stale_ = true;
  }
  // The host mirror, synced; writing access marks the device copy stale.
  Transformer<cpu>& host() {
    sync_host();
    device_stale_ = true;
    return host_;
  }
  const Transformer<cpu>& host() const {
    sync_host();
    return host_;
  }
  std::span<const ParameterView> host_parameters() { return host().parameters(); }
  std::span<float> flat_parameters() { return host().flat_parameters(); }  // checkpoints (r1/train/checkpoint.hpp)

  std::span<const DeviceTensor> device_tensors() const { return device_tensors_; }
  std::int64_t device_parameter_count() const { return host_.parameter_count(); }
  float* device_values() {
    ensure_device();
    return master_;
  }
  float* device_gradients() {
    ensure_device();
    return grads_;
  }
  // The storage copy an optimizer rewrites with the master; null when the storage is the fp32 master.
  T* device_storage() {
    ensure_device();
    if constexpr (std::is_same_v<T, float>)
      return nullptr;
    else
      return weights_;
  }
  cudaStream_t device_stream() const { return stream_; }
  void device_values_written() { host_values_stale_ = true; }

  // clip_grad_norm on the device (gpu::clip_grad_norm of parameters() calls this): the global L2 norm
  // (kernels/grad_norm.cu), one float copied to the host, and there the coefficient of
  // r1::clip_grad_norm, max_norm / (norm + 1e-6) in double, applied on the device when below 1.
  double clip_device_gradients(double max_norm) {
    require(!std::isnan(max_norm), "clip_grad_norm: max_norm is NaN");
    ensure_device();
    const auto P = static_cast<std::int64_t>(parameter_elements());
    global_grad_norm(grads_, P, norm_workspace_, norm_device_, nullptr, 0.0f, stream_);
    float norm = 0.0f;
    R1_CUDA_CHECK(cudaMemcpyAsync(&norm, norm_device_, sizeof(float), cudaMemcpyDeviceToHost, stream_),
                  "clip_grad_norm");
    stream_.synchronize("clip_grad_norm");
    if (!std::isfinite(norm) || max_norm <= 0 || std::isinf(max_norm)) return norm;
    const double coefficient = max_norm / (static_cast<double>(norm) + 1e-6);
    if (coefficient < 1) {
      scale_gradients(grads_, P, static_cast<float>(coefficient), stream_);
      host_grads_stale_ = true;
    }
    return norm;
  }

  // ---- Training path (see Transformer<cpu>::score / backward for the contract) ----

  void score(const TokenBatch& batch, float temperature, TokenScores& scores) {
    batch.validate(V_, "score: batch");
    require(std::isfinite(temperature) && temperature > 0.0f, "score: temperature ", temperature,
            ": expected a finite positive number");
    const auto N = static_cast<std::int64_t>(batch.total_tokens());
    scores.logprobs.assign(static_cast<std::size_t>(N), 0.0f);
    scores.entropies.assign(static_cast<std::size_t>(N), 0.0f);
    backward_ready_ = false;
    if (N == 0) return;
    ensure_device();
    prepare_batch(batch);
    targets_host_.assign(static_cast<std::size_t>(N), -1);
    for (std::size_t s = 0; s < batch.size(); ++s)
      for (std::int64_t t = batch.first_scored(s); t < batch.length(s); ++t)
        targets_host_[static_cast<std::size_t>(batch.offsets[s] + t - 1)] = batch.tokens[static_cast<std::size_t>(batch.offsets[s] + t)];
    copy_to_device<std::int32_t>(targets_host_, span(buffers_.targets, N), stream_, "score");

    forward_layers(N, /*keep_activations=*/true);
    T* last = buffers_.resid[static_cast<std::size_t>(L_)];
    rmsnorm_forward<T>(last, weights_ + final_norm_, buffers_.final_normed, buffers_.final_rstd, int(N), int(D_), eps(),
                       stream_);
    auto& b = buffers_;
    for (std::int64_t first = 0; first < N; first += head_rows_) {
      const auto rows = static_cast<int>(std::min(head_rows_, N - first));
      head_logits(first, rows);
      log_softmax_gather_forward<float>(b.head_chunk, b.targets + first, rows, int(V_), temperature,
                                        b.row_logprob + first, b.row_entropy + first, b.row_lse + first,
                                        b.row_mean + first, stream_);
    }
    const auto logprob = copy_to_host(span(buffers_.row_logprob, N), stream_, "score");
    const auto entropy = copy_to_host(span(buffers_.row_entropy, N), stream_, "score");
    for (std::int64_t r = 0; r < N; ++r)
      if (targets_host_[static_cast<std::size_t>(r)] >= 0) {  // row r predicts token r + 1
        scores.logprobs[static_cast<std::size_t>(r + 1)] = logprob[static_cast<std::size_t>(r)];
        scores.entropies[static_cast<std::size_t>(r + 1)] = entropy[static_cast<std::size_t>(r)];
      }
    offsets_ = batch.offsets;
    temperature_ = temperature;
    backward_ready_ = true;
  }

  void backward(const TokenBatch& batch, std::span<const float> d_logprobs, std::span<const float> d_entropies) {
    const auto N = static_cast<std::int64_t>(batch.total_tokens());
    require(backward_ready_ && batch.offsets == offsets_, "backward: must follow score() on the same batch (and only once)");
    require(static_cast<std::int64_t>(d_logprobs.size()) == N, "backward: d_logprobs has ", d_logprobs.size(),
            " entries, expected one per token (", N, ")");
    require(d_entropies.empty() || static_cast<std::int64_t>(d_entropies.size()) == N, "backward: d_entropies has ",
            d_entropies.size(), " entries, expected 0 or one per token (", N, ")");
    backward_ready_ = false;
    ensure_device();
    std::vector<float> d_lp(static_cast<std::size_t>(N), 0.0f), d_h(static_cast<std::size_t>(N), 0.0f);
    for (std::int64_t r = 0; r < N; ++r)
      if (targets_host_[static_cast<std::size_t>(r)] >= 0) {
        d_lp[static_cast<std::size_t>(r)] = d_logprobs[static_cast<std::size_t>(r + 1)];
        if (!d_entropies.empty()) d_h[static_cast<std::size_t>(r)] = d_entropies[static_cast<std::size_t>(r + 1)];
      }
    copy_to_device<float>(d_lp, span(buffers_.d_logprob, N), stream_, "backward");
    copy_to_device<float>(d_h, span(buffers_.d_entropy, N), stream_, "backward");
    float* G = grads_;  // accumulated into: micro-batches add up until zero_grad()
    const T* W = weights_;
    const int n = int(N);
    auto& b = buffers_;

    // The fused LM head, chunk by chunk (llm.c's fused classifier): recompute the chunk's fp32 logits,
    // write dlogits over them (in place in fp32 storage; rounded once into the bf16 chunk otherwise),
    // then the chunk's two GEMMs: d_hidden = dlogits W (rows, D), dW += dlogits^T hidden (V, D).
    for (std::int64_t first = 0; first < N; first += head_rows_) {
      const auto rows = static_cast<int>(std::min(head_rows_, N - first));
      head_logits(first, rows);
      log_softmax_gather_backward<float, T>(b.head_chunk, b.targets + first, b.row_lse + first, b.row_mean + first,
                                            b.d_logprob + first, b.d_entropy + first, rows, int(V_), temperature_,
                                            b.head_chunk_grad, stream_);
      gemm<T, T>(*blas_, {rows, int(D_), int(V_), false, false}, 1.0f, b.head_chunk_grad, W + lm_head_, 0.0f,
                 b.d_normed + first * D_, stream_);
      gemm<T, float>(*blas_, {int(V_), int(D_), rows, true, false}, 1.0f, b.head_chunk_grad, b.final_normed + first * D_,
                     1.0f, G + lm_head_, stream_);
    }
    rmsnorm_backward<T>(b.resid[static_cast<std::size_t>(L_)], W + final_norm_, b.d_normed, b.final_rstd, b.d_x,
                        G + final_norm_, n, int(D_), stream_);
    for (std::int64_t l = L_ - 1; l >= 0; --l) {
      const Layer& p = layers_[static_cast<std::size_t>(l)];
      const auto i = static_cast<std::size_t>(l);
      // MLP branch: x_next = mid + down(swiglu(gate_up(rmsnorm(mid)))).
      gemm<T, T>(*blas_, {n, int(F_), int(D_), false, false}, 1.0f, b.d_x, W + p.down_weight, 0.0f, b.d_act, stream_);
      gemm<T, float>(*blas_, {int(D_), int(F_), n, true, false}, 1.0f, b.d_x, b.act[i], 1.0f, G + p.down_weight, stream_);
      swiglu_backward<T>(b.gate_up[i], b.d_act, n, int(F_), b.d_gate_up, stream_);
      gemm<T, T>(*blas_, {n, int(D_), int(2 * F_), false, false}, 1.0f, b.d_gate_up, W + p.gate_up_weight, 0.0f,
                 b.d_normed, stream_);
      gemm<T, float>(*blas_, {int(2 * F_), int(D_), n, true, false}, 1.0f, b.d_gate_up, b.xn2[i], 1.0f,
                     G + p.gate_up_weight, stream_);
      rmsnorm_backward<T>(b.mid[i], W + p.post_norm, b.d_normed, b.rstd2[i], b.d_branch, G + p.post_norm, n, int(D_),
                          stream_);
      residual_add<T>(b.d_x, b.d_branch, N * D_, stream_);
      // Attention branch: mid = x + o_proj(attention(rope(qkv_proj(rmsnorm(x))))).
      gemm<T, T>(*blas_, {n, int(A_), int(D_), false, false}, 1.0f, b.d_x, W + p.o_weight, 0.0f, b.d_attn, stream_);
      gemm<T, float>(*blas_, {int(D_), int(A_), n, true, false}, 1.0f, b.d_x, b.attn[i], 1.0f, G + p.o_weight, stream_);
      attention_backward<T>(b.qkv[i], b.qkv[i] + A_, b.qkv[i] + A_ + KW_, b.attn[i], b.d_attn, b.lse[i], b.offsets,
                            attention_shape(N), b.attention_workspace, b.d_qkv, b.d_qkv + A_, b.d_qkv + A_ + KW_,
                            stream_);
      rope_backward<T>(b.d_qkv, b.positions, rope_cos_, rope_sin_, n, int(H_), int(E_), rope_positions_, stream_,
                       int(QKV_));
      rope_backward<T>(b.d_qkv + A_, b.positions, rope_cos_, rope_sin_, n, int(K_), int(E_), rope_positions_, stream_,
                       int(QKV_));
      gemm<T, T>(*blas_, {n, int(D_), int(QKV_), false, false}, 1.0f, b.d_qkv, W + p.qkv_weight, 0.0f, b.d_normed,
                 stream_);
      gemm<T, float>(*blas_, {int(QKV_), int(D_), n, true, false}, 1.0f, b.d_qkv, b.xn1[i], 1.0f, G + p.qkv_weight,
                     stream_);
      if (p.qkv_bias >= 0) bias_gradient<T>(b.d_qkv, n, int(QKV_), G + p.qkv_bias, stream_);
      rmsnorm_backward<T>(b.resid[i], W + p.input_norm, b.d_normed, b.rstd1[i], b.d_branch, G + p.input_norm, n,
                          int(D_), stream_);
      residual_add<T>(b.d_x, b.d_branch, N * D_, stream_);
    }
    embedding_backward<T>(b.tokens_device, n, b.d_x, int(V_), int(D_), G + embed_, stream_);
    host_grads_stale_ = true;
  }

  // ---- Inference path ----

  Cache make_cache(int slots, int max_positions) const {
    return Cache(static_cast<int>(L_), slots, max_positions, static_cast<int>(K_), static_cast<int>(E_));
  }
  void prefill(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& prompts, std::span<float> logits) {
    check_logits_size(slots.size(), logits);
    prefill_device(cache, slots, prompts);
    copy_last_logits(logits);
  }
  void decode(Cache& cache, std::span<const std::int32_t> slots, std::span<const TokenId> tokens,
              std::span<float> logits) {
    check_logits_size(slots.size(), logits);
    decode_device(cache, slots, tokens);
    copy_last_logits(logits);
  }

  // ---- Decoding on the device (KvSampler uses these when the model has them) ----
  // prefill_device / decode_device leave the fp32 logits of each sequence's last position on the
  // device (one row per slot of the call); sample_device draws from them (kernels/sampling.cu), so a
  // decode step moves token ids and their log-probs, never vocabulary-sized rows.
  void prefill_device(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& prompts) {
    ensure_device();
    extend(cache, slots, prompts);
  }
  void decode_device(Cache& cache, std::span<const std::int32_t> slots, std::span<const TokenId> tokens) {
    require(slots.size() == tokens.size(), "decode: ", slots.size(), " slots for ", tokens.size(), " tokens");
    ensure_device();
    decode_batch_.clear();
    for (const TokenId token : tokens) decode_batch_.push_back(std::span<const TokenId>(&token, 1));
    extend(cache, slots, decode_batch_);
  }
  // tokens[i], logprobs[i] <- a draw from logits row rows[i] of the last prefill_device/decode_device
  // with uniform uniforms[i], among ids [0, decodable): temperature (0: greedy), then top-k (0: off),
  // then top-p (1: off), as SamplerConfig means them; logprobs[i] is the drawn token's log-probability
  // under the distribution drawn from (draw_token's behaviour log-prob).
  void sample_device(std::span<const std::int32_t> rows, std::span<const float> uniforms, float temperature, int top_k,
                     float top_p, std::int64_t decodable, std::span<TokenId> tokens, std::span<float> logprobs) {
    const std::size_t R = rows.size();
    require(uniforms.size() == R && tokens.size() == R && logprobs.size() == R, "sample_device: ", R, " rows, ",
            uniforms.size(), " uniforms, ", tokens.size(), " tokens and ", logprobs.size(),
            " log-probs: expected one of each per row");
    require(decodable >= 1 && decodable <= V_, "sample_device: decodable vocabulary ", decodable, " outside [1, ", V_,
            "]");
    require(temperature >= 0.0f && std::isfinite(temperature), "sample_device: temperature ", temperature,
            ": expected a finite number >= 0");
    require(top_k >= 0, "sample_device: top_k ", top_k, ": expected >= 0");
    require(top_p > 0.0f && top_p <= 1.0f, "sample_device: top_p ", top_p, ": expected a value in (0, 1]");
    for (std::size_t i = 0; i < R; ++i)
      require(rows[i] >= 0 && rows[i] < last_rows_, "sample_device: row ", rows[i], " outside the ", last_rows_,
              " logits rows of the last prefill/decode");
    if (R == 0) return;
    if (static_cast<std::int64_t>(R) > sampling_capacity_) {
      sampling_capacity_ = std::max<std::int64_t>(static_cast<std::int64_t>(R), 2 * sampling_capacity_);
      const auto n = static_cast<std::size_t>(sampling_capacity_);
      sampling_arena_ = DeviceArena();
      sampling_arena_ =
          DeviceArena(2 * DeviceArena::padded_bytes<std::int32_t>(n) + 2 * DeviceArena::padded_bytes<float>(n));
      sampling_rows_ = sampling_arena_.allocate<std::int32_t>(n, "sampling rows").data;
      sampling_tokens_ = sampling_arena_.allocate<std::int32_t>(n, "sampled tokens").data;
      sampling_uniforms_ = sampling_arena_.allocate<float>(n, "sampling uniforms").data;
      sampling_logprobs_ = sampling_arena_.allocate<float>(n, "sampled log-probs").data;
    }
    copy_to_device<std::int32_t>(rows, span(sampling_rows_, std::int64_t(R)), stream_, "sample_device");
    copy_to_device<float>(uniforms, span(sampling_uniforms_, std::int64_t(R)), stream_, "sample_device");
    sample_tokens(buffers_.last_logits, int(R), int(decodable), SamplingParameters{temperature, top_k, top_p},
                  sampling_uniforms_, sampling_tokens_, stream_, sampling_rows_, int(V_), sampling_logprobs_);
    static_assert(sizeof(TokenId) == sizeof(std::int32_t));
    R1_CUDA_CHECK(cudaMemcpyAsync(tokens.data(), sampling_tokens_, R * sizeof(std::int32_t), cudaMemcpyDeviceToHost,
                                  stream_),
                  "sample_device");
    R1_CUDA_CHECK(cudaMemcpyAsync(logprobs.data(), sampling_logprobs_, R * sizeof(float), cudaMemcpyDeviceToHost,
                                  stream_),
                  "sample_device");
    stream_.synchronize("sample_device");
  }
  // Tokens per chunk of the fused LM head (score and backward): its buffers hold rows x vocab fp32
  // logits and as many storage-precision dlogits, never N x vocab. Default: 256 MiB of fp32 logits.
  std::int64_t head_chunk_rows() const { return head_rows_; }
  void set_head_chunk_rows(std::int64_t rows) {
    require(rows >= 1, "set_head_chunk_rows: expected at least 1 row, got ", rows);
    head_rows_ = rows;
    buffers_ = Buffers{};  // re-laid out at the next call
    activations_arena_ = DeviceArena();
    last_rows_ = 0;
    backward_ready_ = false;
  }

  void copy_slot(Cache& cache, int from_slot, int to_slot) {
    cache.copy_slot(from_slot, to_slot, stream_);
    stream_.synchronize("copy_slot");
  }

 private:
  struct Layer {
    std::int64_t input_norm = 0, qkv_weight = 0, qkv_bias = -1, o_weight = 0, post_norm = 0, gate_up_weight = 0,
                 down_weight = 0;
  };
  // Activation and scratch buffers for up to `tokens` tokens and `sequences` sequences, laid
  // out once per size (the step loop then allocates nothing).
  struct Buffers {
    std::int64_t capacity_tokens = -1, capacity_sequences = -1;
    std::vector<T*> resid, xn1, qkv, attn, mid, xn2, gate_up, act;
    std::vector<float*> rstd1, rstd2, lse;
    T *final_normed = nullptr, *head_chunk_grad = nullptr, *d_x = nullptr, *d_branch = nullptr,
      *d_normed = nullptr, *d_act = nullptr, *d_gate_up = nullptr, *d_attn = nullptr, *d_qkv = nullptr,
      *q_dense = nullptr;
    float *head_chunk = nullptr, *final_rstd = nullptr, *row_logprob = nullptr, *row_entropy = nullptr,
          *row_lse = nullptr, *row_mean = nullptr, *d_logprob = nullptr, *d_entropy = nullptr, *attention_workspace = nullptr,
          *last_logits = nullptr;
    std::int32_t *tokens_device = nullptr, *targets = nullptr, *positions = nullptr, *token_slots = nullptr,
                 *sequence_slots = nullptr, *lengths = nullptr;
    std::int64_t* offsets = nullptr;
  };

  std::int64_t offset_of(const std::string& name) const {
    const ParameterTensor* tensor = host_.find_tensor(name);
    require(tensor != nullptr, "Transformer<cuda>: the host model has no tensor '", name, "'");
    return tensor->offset;
  }
  float eps() const { return static_cast<float>(host_.config().rms_norm_eps); }
  template <class U>
  static DeviceSpan<U> span(U* data, std::int64_t count) {
    return {data, static_cast<std::size_t>(count)};
  }

  std::size_t parameter_elements() const { return static_cast<std::size_t>(host_.parameter_count()); }

  // Host mirror -> device (values, storage copy, gradients), when the host may have been written.
  void ensure_device() {
    if (!device_stale_) return;
    const std::size_t P = parameter_elements();
    const auto values = std::as_const(host_).flat_parameters();
    copy_to_device<float>(values, DeviceSpan<float>{master_, P}, stream_, "upload weights");
    if constexpr (!std::is_same_v<T, float>)
      convert_from_fp32<T>(master_, weights_, static_cast<std::int64_t>(P), stream_);
    const auto grads = std::as_const(host_).flat_gradients();
    if (grads.empty())  // a host model without a gradient buffer: the device starts from zero
      fill_zero(DeviceSpan<float>{grads_, P}, stream_, "upload gradients");
    else
      copy_to_device<float>(grads, DeviceSpan<float>{grads_, P}, stream_, "upload gradients");
    stream_.synchronize("upload weights");  // the host mirror may be written as soon as this returns
    device_stale_ = false;
  }

  // Device -> host mirror, for whatever the device changed since the last sync.
  void sync_host() const {
    if (!host_values_stale_ && !host_grads_stale_) return;
    const std::size_t P = parameter_elements();
    stream_.synchronize("sync host mirror");
    if (host_values_stale_) {
      const auto values = host_.flat_parameters();
      R1_CUDA_CHECK(cudaMemcpyAsync(values.data(), master_, P * sizeof(float), cudaMemcpyDeviceToHost, stream_),
                    "sync host mirror");
      host_.mark_weights_changed();
    }
    const auto grads = host_.flat_gradients();
    if (host_grads_stale_ && !grads.empty())
      R1_CUDA_CHECK(cudaMemcpyAsync(grads.data(), grads_, P * sizeof(float), cudaMemcpyDeviceToHost, stream_),
                    "sync host mirror");
    stream_.synchronize("sync host mirror");
    host_values_stale_ = host_grads_stale_ = false;
  }

  // fp32 logits of tokens [first, first + rows) into the head chunk: (rows, V) = final_normed (rows, D) W_head^T.
  void head_logits(std::int64_t first, int rows) {
    gemm<T, float>(*blas_, {rows, int(V_), int(D_), false, true}, 1.0f, buffers_.final_normed + first * D_,
                   weights_ + lm_head_, 0.0f, buffers_.head_chunk, stream_);
  }

  void ensure_buffers(std::int64_t N, std::int64_t S) {
    if (N <= buffers_.capacity_tokens && S <= buffers_.capacity_sequences) return;
    N = std::max(N, buffers_.capacity_tokens);
    S = std::max(S, buffers_.capacity_sequences);
    std::size_t bytes = 0;
    allocate_buffers(N, S, nullptr, bytes);
    activations_arena_ = DeviceArena();  // free the old one first
    activations_arena_ = DeviceArena(bytes);
    last_rows_ = 0;  // the last logits went with the old buffers
    allocate_buffers(N, S, &activations_arena_, bytes);
    buffers_.capacity_tokens = N;
    buffers_.capacity_sequences = S;
  }

  void allocate_buffers(std::int64_t N, std::int64_t S, DeviceArena* arena, std::size_t& bytes) {
    bytes = 0;
    auto take = [&](auto* tag, std::int64_t count) {
      using U = std::remove_pointer_t<decltype(tag)>;
      bytes += DeviceArena::padded_bytes<U>(static_cast<std::size_t>(count));
      return arena != nullptr ? arena->allocate<U>(static_cast<std::size_t>(count), "Transformer<cuda> activations").data
                              : static_cast<U*>(nullptr);
    };
    T* t = nullptr;
    float* f = nullptr;
    std::int32_t* i32 = nullptr;
    std::int64_t* i64 = nullptr;
    auto& b = buffers_;
    const auto layers = static_cast<std::size_t>(L_);
    b.resid.assign(layers + 1, nullptr);
    for (auto& p : b.resid) p = take(t, N * D_);
    for (auto* list : {&b.xn1, &b.mid, &b.xn2}) {
      list->assign(layers, nullptr);
      for (auto& p : *list) p = take(t, N * D_);
    }
    b.qkv.assign(layers, nullptr);
    for (auto& p : b.qkv) p = take(t, N * QKV_);
    b.attn.assign(layers, nullptr);
    for (auto& p : b.attn) p = take(t, N * A_);
    b.gate_up.assign(layers, nullptr);
    for (auto& p : b.gate_up) p = take(t, N * 2 * F_);
    b.act.assign(layers, nullptr);
    for (auto& p : b.act) p = take(t, N * F_);
    for (auto* list : {&b.rstd1, &b.rstd2}) {
      list->assign(layers, nullptr);
      for (auto& p : *list) p = take(f, N);
    }
    b.lse.assign(layers, nullptr);
    for (auto& p : b.lse) p = take(f, N * H_);
    b.final_normed = take(t, N * D_);
    // The LM head's chunk: fp32 logits of up to head_rows_ tokens, and their dlogits in storage precision
    // (in place over the fp32 chunk when that is the storage type).
    const std::int64_t chunk = std::min(N, head_rows_) * V_;
    b.head_chunk = take(f, chunk);
    if constexpr (std::is_same_v<T, float>)
      b.head_chunk_grad = b.head_chunk;
    else
      b.head_chunk_grad = take(t, chunk);
    b.d_x = take(t, N * D_);
    b.d_branch = take(t, N * D_);
    b.d_normed = take(t, N * D_);
    b.d_act = take(t, N * F_);
    b.d_gate_up = take(t, N * 2 * F_);
    b.d_attn = take(t, N * A_);
    b.d_qkv = take(t, N * QKV_);
    b.q_dense = take(t, N * A_);
    b.final_rstd = take(f, N);
    b.row_logprob = take(f, N);
    b.row_entropy = take(f, N);
    b.row_lse = take(f, N);
    b.row_mean = take(f, N);
    b.d_logprob = take(f, N);
    b.d_entropy = take(f, N);
    b.attention_workspace = take(f, N * H_ * (E_ + 1));
    b.last_logits = take(f, S * V_);
    b.tokens_device = take(i32, N);
    b.targets = take(i32, N);
    b.positions = take(i32, N);
    b.token_slots = take(i32, N);
    b.sequence_slots = take(i32, S);
    b.lengths = take(i32, S);
    b.offsets = take(i64, S + 1);
  }

  void ensure_rope(std::int64_t positions) {
    if (positions <= rope_positions_) return;
    const int capacity = static_cast<int>(std::max<std::int64_t>(positions, 2 * std::int64_t{rope_positions_}));
    const auto tables =
        make_rope_tables(capacity, static_cast<int>(E_), host_.config().rope_theta, host_.config().rope_scaling);
    rope_arena_ = DeviceArena();
    rope_arena_ = DeviceArena(2 * DeviceArena::padded_bytes<float>(tables.cos.size()));
    auto cos = rope_arena_.allocate<float>(tables.cos.size(), "rope cos");
    auto sin = rope_arena_.allocate<float>(tables.sin.size(), "rope sin");
    copy_to_device<float>(tables.cos, cos, stream_, "rope tables");
    copy_to_device<float>(tables.sin, sin, stream_, "rope tables");
    stream_.synchronize("rope tables");  // the host tables go out of scope
    rope_cos_ = cos.data;
    rope_sin_ = sin.data;
    rope_positions_ = capacity;
  }

  // Uploads tokens, offsets and per-token positions (from 0 in each sequence) for the training path.
  void prepare_batch(const TokenBatch& batch) {
    const auto N = static_cast<std::int64_t>(batch.total_tokens());
    const auto S = static_cast<std::int64_t>(batch.size());
    ensure_buffers(N, S);
    positions_host_.resize(static_cast<std::size_t>(N));
    std::int64_t longest = 0;
    for (std::size_t s = 0; s < batch.size(); ++s) {
      longest = std::max(longest, batch.length(s));
      for (std::int64_t t = 0; t < batch.length(s); ++t)
        positions_host_[static_cast<std::size_t>(batch.offsets[s] + t)] = static_cast<std::int32_t>(t);
    }
    require(S <= 65535, "score: at most 65535 sequences per batch, got ", S);
    ensure_rope(longest);
    longest_ = longest;
    sequences_ = S;
    copy_to_device<std::int32_t>(batch.tokens, span(buffers_.tokens_device, N), stream_, "score");
    copy_to_device<std::int64_t>(batch.offsets, span(buffers_.offsets, S + 1), stream_, "score");
    copy_to_device<std::int32_t>(positions_host_, span(buffers_.positions, N), stream_, "score");
    stream_.synchronize("score: uploads");  // the host vectors may change before the copies run
  }

  AttentionShape attention_shape(std::int64_t N) const {
    AttentionShape shape{int(N), int(sequences_), int(longest_), int(H_), int(K_), int(E_),
                         1.0f / std::sqrt(static_cast<float>(E_))};
    shape.q_row_stride = shape.kv_row_stride = int(QKV_);
    return shape;
  }

  // The layer stack over the N uploaded tokens; with keep_activations each layer's inputs
  // stay in its own buffers for backward.
  void forward_layers(std::int64_t N, bool keep_activations) {
    auto& b = buffers_;
    const int n = int(N);
    const T* W = weights_;
    embedding_forward<T>(b.tokens_device, n, W + embed_, int(V_), int(D_), b.resid[0], stream_);
    for (std::int64_t l = 0; l < L_; ++l) {
      const Layer& p = layers_[static_cast<std::size_t>(l)];
      const auto i = keep_activations ? static_cast<std::size_t>(l) : 0;
      T* x = b.resid[keep_activations ? i : 0];
      T* next = b.resid[keep_activations ? i + 1 : 0];
      rmsnorm_forward<T>(x, W + p.input_norm, b.xn1[i], b.rstd1[i], n, int(D_), eps(), stream_);
      gemm<T, T>(*blas_, {n, int(QKV_), int(D_), false, true}, 1.0f, b.xn1[i], W + p.qkv_weight, 0.0f, b.qkv[i], stream_,
                 p.qkv_bias >= 0 ? W + p.qkv_bias : nullptr);
      rope_forward<T>(b.qkv[i], b.positions, rope_cos_, rope_sin_, n, int(H_), int(E_), rope_positions_, stream_,
                      int(QKV_));
      rope_forward<T>(b.qkv[i] + A_, b.positions, rope_cos_, rope_sin_, n, int(K_), int(E_), rope_positions_, stream_,
                      int(QKV_));
      attention_forward<T>(b.qkv[i], b.qkv[i] + A_, b.qkv[i] + A_ + KW_, b.offsets, attention_shape(N), b.attn[i],
                           b.lse[i], stream_);
      R1_CUDA_CHECK(cudaMemcpyAsync(b.mid[i], x, sizeof(T) * N * D_, cudaMemcpyDeviceToDevice, stream_), "score");
      gemm<T, T>(*blas_, {n, int(D_), int(A_), false, true}, 1.0f, b.attn[i], W + p.o_weight, 1.0f, b.mid[i], stream_);
      rmsnorm_forward<T>(b.mid[i], W + p.post_norm, b.xn2[i], b.rstd2[i], n, int(D_), eps(), stream_);
      gemm<T, T>(*blas_, {n, int(2 * F_), int(D_), false, true}, 1.0f, b.xn2[i], W + p.gate_up_weight, 0.0f,
                 b.gate_up[i], stream_);
      swiglu_forward<T>(b.gate_up[i], n, int(F_), b.act[i], stream_);
      R1_CUDA_CHECK(cudaMemcpyAsync(next, b.mid[i], sizeof(T) * N * D_, cudaMemcpyDeviceToDevice, stream_), "score");
      gemm<T, T>(*blas_, {n, int(D_), int(F_), false, true}, 1.0f, b.act[i], W + p.down_weight, 1.0f, next, stream_);
    }
  }

  void check_logits_size(std::size_t slots, std::span<float> logits) const {
    const auto expected = static_cast<std::int64_t>(slots) * V_;
    require(static_cast<std::int64_t>(logits.size()) == expected, "prefill/decode: logits has ", logits.size(),
            " entries, expected slots x vocab = ", expected);
  }
  void copy_last_logits(std::span<float> logits) {
    const auto host_logits = copy_to_host(span(buffers_.last_logits, last_rows_ * V_), stream_, "prefill/decode");
    std::copy(host_logits.begin(), host_logits.end(), logits.begin());
  }

  // Appends sequence s of `sequences` to slot slots[s]; leaves the fp32 logits (slots.size(), V) of each
  // last position in buffers_.last_logits.
  void extend(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& sequences) {
    sequences.validate(V_, "prefill: prompts");
    const auto S = static_cast<std::int64_t>(slots.size());
    require(S == static_cast<std::int64_t>(sequences.size()), "prefill: ", slots.size(), " slots for ",
            sequences.size(), " sequences");
    require(cache.layers() == L_ && cache.shape().kv_heads == K_ && cache.shape().head_dim == E_,
            "prefill: the cache was made for another model shape");
    bool all_single = true, all_empty = true;
    std::int64_t longest_total = 0;
    for (std::int64_t s = 0; s < S; ++s) {
      const int slot = slots[static_cast<std::size_t>(s)];
      require(slot >= 0 && slot < cache.slots(), "prefill/decode: slot ", slot, " outside [0, ", cache.slots(), ")");
      for (std::int64_t other = 0; other < s; ++other)
        require(slots[static_cast<std::size_t>(other)] != slot, "prefill/decode: slot ", slot, " appears twice");
      const std::int64_t length = sequences.length(static_cast<std::size_t>(s));
      require(length >= 1, "prefill/decode: sequence ", s, " is empty");
      require(cache.length(slot) + length <= cache.max_positions(), "prefill/decode: slot ", slot, " holds ",
              cache.length(slot), " tokens; ", length, " more exceed max_positions ", cache.max_positions());
      all_single = all_single && length == 1;
      all_empty = all_empty && cache.length(slot) == 0;
      longest_total = std::max<std::int64_t>(longest_total, cache.length(slot) + length);
    }
    backward_ready_ = false;  // inference reuses the training activations' first-layer buffers
    require(all_single || all_empty, "prefill: on the GPU a slot that already holds tokens is extended one token at a "
                                     "time (decode); prefill several tokens only into empty slots");
    const auto N = static_cast<std::int64_t>(sequences.total_tokens());
    require(S <= 65535, "prefill/decode: at most 65535 sequences per call, got ", S);
    ensure_buffers(N, S);
    ensure_rope(longest_total);
    positions_host_.resize(static_cast<std::size_t>(N));
    token_slots_host_.resize(static_cast<std::size_t>(N));
    lengths_host_.resize(static_cast<std::size_t>(S));
    std::int64_t longest_new = 0;
    for (std::int64_t s = 0; s < S; ++s) {
      const int slot = slots[static_cast<std::size_t>(s)];
      const std::int64_t first = sequences.offsets[static_cast<std::size_t>(s)];
      const std::int64_t length = sequences.length(static_cast<std::size_t>(s));
      longest_new = std::max(longest_new, length);
      for (std::int64_t t = 0; t < length; ++t) {
        positions_host_[static_cast<std::size_t>(first + t)] = static_cast<std::int32_t>(cache.length(slot) + t);
        token_slots_host_[static_cast<std::size_t>(first + t)] = slot;
      }
      lengths_host_[static_cast<std::size_t>(s)] = static_cast<std::int32_t>(cache.length(slot) + length);
    }
    auto& b = buffers_;
    copy_to_device<std::int32_t>(sequences.tokens, span(b.tokens_device, N), stream_, "prefill");
    copy_to_device<std::int64_t>(sequences.offsets, span(b.offsets, S + 1), stream_, "prefill");
    copy_to_device<std::int32_t>(positions_host_, span(b.positions, N), stream_, "prefill");
    copy_to_device<std::int32_t>(token_slots_host_, span(b.token_slots, N), stream_, "prefill");
    copy_to_device<std::int32_t>(slots, span(b.sequence_slots, S), stream_, "prefill");
    copy_to_device<std::int32_t>(lengths_host_, span(b.lengths, S), stream_, "prefill");
    sequences_ = S;
    longest_ = longest_new;

    const int n = int(N);
    const T* W = weights_;
    T* x = b.resid[0];
    embedding_forward<T>(b.tokens_device, n, W + embed_, int(V_), int(D_), x, stream_);
    for (std::int64_t l = 0; l < L_; ++l) {
      const Layer& p = layers_[static_cast<std::size_t>(l)];
      rmsnorm_forward<T>(x, W + p.input_norm, b.xn1[0], b.rstd1[0], n, int(D_), eps(), stream_);
      gemm<T, T>(*blas_, {n, int(QKV_), int(D_), false, true}, 1.0f, b.xn1[0], W + p.qkv_weight, 0.0f, b.qkv[0], stream_,
                 p.qkv_bias >= 0 ? W + p.qkv_bias : nullptr);
      rope_forward<T>(b.qkv[0], b.positions, rope_cos_, rope_sin_, n, int(H_), int(E_), rope_positions_, stream_,
                      int(QKV_));
      rope_forward<T>(b.qkv[0] + A_, b.positions, rope_cos_, rope_sin_, n, int(K_), int(E_), rope_positions_, stream_,
                      int(QKV_));
      kv_cache_write<T>(b.qkv[0] + A_, b.qkv[0] + A_ + KW_, b.token_slots, b.positions, n, cache.shape(),
                        cache.keys(int(l)), cache.values(int(l)), stream_, int(QKV_));
      if (all_single) {
        // One new token per slot: attend over the slot's cache (which now holds the new key too).
        R1_CUDA_CHECK(cudaMemcpy2DAsync(b.q_dense, sizeof(T) * A_, b.qkv[0], sizeof(T) * QKV_, sizeof(T) * A_, N,
                                        cudaMemcpyDeviceToDevice, stream_),
                      "decode");
        decode_attention<T>(b.q_dense, cache.keys(int(l)), cache.values(int(l)), b.sequence_slots, b.lengths, n,
                            int(H_), cache.shape(), 1.0f / std::sqrt(static_cast<float>(E_)), b.attn[0], stream_);
      } else {
        attention_forward<T>(b.qkv[0], b.qkv[0] + A_, b.qkv[0] + A_ + KW_, b.offsets, attention_shape(N), b.attn[0],
                             b.lse[0], stream_);
      }
      gemm<T, T>(*blas_, {n, int(D_), int(A_), false, true}, 1.0f, b.attn[0], W + p.o_weight, 1.0f, x, stream_);
      rmsnorm_forward<T>(x, W + p.post_norm, b.xn2[0], b.rstd2[0], n, int(D_), eps(), stream_);
      gemm<T, T>(*blas_, {n, int(2 * F_), int(D_), false, true}, 1.0f, b.xn2[0], W + p.gate_up_weight, 0.0f,
                 b.gate_up[0], stream_);
      swiglu_forward<T>(b.gate_up[0], n, int(F_), b.act[0], stream_);
      gemm<T, T>(*blas_, {n, int(D_), int(F_), false, true}, 1.0f, b.act[0], W + p.down_weight, 1.0f, x, stream_);
    }
    for (std::int64_t s = 0; s < S; ++s) {
      const int slot = slots[static_cast<std::size_t>(s)];
      cache.set_length(slot, cache.length(slot) + static_cast<int>(sequences.length(static_cast<std::size_t>(s))));
      const std::int64_t last = sequences.offsets[static_cast<std::size_t>(s) + 1] - 1;
      R1_CUDA_CHECK(cudaMemcpyAsync(b.final_normed + s * D_, x + last * D_, sizeof(T) * D_, cudaMemcpyDeviceToDevice,
                                    stream_),
                    "prefill");
    }
    rmsnorm_forward<T>(b.final_normed, W + final_norm_, b.d_normed, b.final_rstd, int(S), int(D_), eps(), stream_);
    gemm<T, float>(*blas_, {int(S), int(V_), int(D_), false, true}, 1.0f, b.d_normed, W + lm_head_, 0.0f, b.last_logits,
                   stream_);
    last_rows_ = S;
  }

  mutable Transformer<cpu> host_;  // the mirror: a cache of the device state (see sync_host)
  std::int64_t D_ = 0, F_ = 0, V_ = 0, L_ = 0, H_ = 0, K_ = 0, E_ = 0, A_ = 0, KW_ = 0, QKV_ = 0;
  std::int64_t embed_ = 0, final_norm_ = 0, lm_head_ = 0;
  std::vector<Layer> layers_;
  Stream stream_;
  std::unique_ptr<CublasLt> blas_ = std::make_unique<CublasLt>();  // behind a pointer: the model is movable
  DeviceArena weights_arena_, activations_arena_, rope_arena_;
  std::vector<DeviceTensor> device_tensors_;
  DeviceArena scalars_arena_;
  float* norm_workspace_ = nullptr;
  float* norm_device_ = nullptr;
  mutable bool host_values_stale_ = false, host_grads_stale_ = false;  // the device changed them since
  bool device_stale_ = true;  // the host mirror may have been written since the last upload
  float* master_ = nullptr;
  float* grads_ = nullptr;
  T* weights_ = nullptr;
  float* rope_cos_ = nullptr;
  float* rope_sin_ = nullptr;
  int rope_positions_ = 0;
  Buffers buffers_;
  std::vector<std::int32_t> targets_host_, positions_host_, token_slots_host_, lengths_host_;
  std::vector<std::int64_t> offsets_;
  std::int64_t sequences_ = 0, longest_ = 0;
  std::int64_t head_rows_ = 1;  // set from the vocabulary in the constructor
  float temperature_ = 1.0f;
  bool backward_ready_ = false;
  TokenBatch decode_batch_;
  std::int64_t last_rows_ = 0;  // logits rows the last extend left in buffers_.last_logits
  DeviceArena sampling_arena_;
  std::int64_t sampling_capacity_ = 0;
  std::int32_t* sampling_rows_ = nullptr;
  std::int32_t* sampling_tokens_ = nullptr;
  float* sampling_uniforms_ = nullptr;
  float* sampling_logprobs_ = nullptr;
};

}  // namespace gpu

// The bf16 GPU model (fp32 accumulation, fp32 master weights on the host side).
template <>
class Transformer<cuda> : public gpu::CudaTransformer<gpu::bf16> {
 public:
  using gpu::CudaTransformer<gpu::bf16>::CudaTransformer;
  explicit Transformer(const ModelConfig& config) : gpu::CudaTransformer<gpu::bf16>(Transformer<cpu>(config)) {}
  static Transformer load(const std::string& directory) { return Transformer(Transformer<cpu>::load(directory)); }
  static Transformer frozen_copy(const Transformer& source, WeightStorage /*storage*/) {
    return Transformer(Transformer<cpu>::frozen_copy(source.host(), WeightStorage::full));
  }
};

}  // namespace r1
