#pragma once
// r1::KvSampler: G completions per prompt from any r1::Model with a KV cache.
//
//   r1::KvSampler sampler{config, detokenizer};   // detokenizer only for stop strings / text
//   std::vector<r1::TokenId> prompts[] = {...};
//   auto completions = sampler.generate(model, {.prompts = prompts, .samples_per_prompt = 8, .seed = 1});
//   // completions[p * 8 + j] is sample j of prompt p
//
// Each prompt is prefilled once and its cache slot copied to its G samples; all
// live sequences then decode together, one token per step, and a finished
// sequence leaves the batch. Sampling (processors + draw) runs per row, over
// oneTBB when the rows are big enough to pay for it; the forward uses the
// model's own threading. Buffers are sized once per generate call: the
// per-token loop allocates nothing (stop strings excepted: the detokenizer
// returns a new string).
//
// A model that samples on its own device (Transformer<cuda>: prefill_device, decode_device,
// sample_device; see DeviceSamplingModel below) keeps its logits there when the config needs only
// temperature, top-k and top-p: each step then moves token ids and their log-probs, not
// vocabulary-sized rows, with the same uniforms, stop rules and callbacks. Its draw follows the
// same distribution but walks it in vocabulary order, so the tokens differ from the host path's.
//
// Reproducibility: the uniform for token t of sample j of prompt p is
//   RandomStream{mix(seed, step), {key_lo, key_hi, j}}.uniform(t),  key = prompt_keys[p],
// a pure function of (seed, step, prompt key, sample, position), so a
// completion is the same whatever the batch size, order, waves or threads
// (given a model whose logits for a row do not depend on the other rows).
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/timer.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/completion.hpp"
#include "r1/sampling/draw_token.hpp"
#include "r1/sampling/logits_processor.hpp"
#include "r1/sampling/processor_chain.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/sampling/stop_strings.hpp"

namespace r1 {

// Where the time of the last generate call went.
struct GenerationStats {
  double total_ms = 0.0;
  double forward_ms = 0.0;   // the model's prefill, copy_slot and decode calls
  double sampling_ms = 0.0;  // processors, draws, stop checks
  std::int64_t prompt_tokens = 0;  // prefilled (once per prompt, not per sample)
  std::int64_t new_tokens = 0;     // generated over all completions
  std::int64_t decode_steps = 0;
  double new_tokens_per_second() const { return total_ms > 0.0 ? new_tokens * 1e3 / total_ms : 0.0; }
};

// Called on the generating thread after each token is appended to a sequence
// (sequence = p * G + j), e.g. to stream text. Optional.
using TokenCallback = std::function<void(std::size_t sequence, const Completion& completion)>;

// The RandomStream of sample `sample` of the prompt keyed `prompt_key`. The 64-bit
// step is folded into the Philox key by one Philox block (a bijection of the
// counter for a fixed key, so distinct (seed, step) give distinct streams up to
// a 2^-64 collision chance); the 64-bit prompt key and the sample take the counter.
inline RandomStream sampling_stream(std::uint64_t seed, std::uint64_t step, std::uint64_t prompt_key, int sample) {
  constexpr std::uint32_t kDomain = 0x53414D50u;  // "SAMP": keeps these streams apart from other uses of the seed
  const auto words = philox4x32({static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32), kDomain, 0},
                                {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  const std::uint64_t stream_seed = (std::uint64_t{words[1]} << 32) | words[0];
  return RandomStream{stream_seed,
                      {static_cast<std::uint32_t>(prompt_key), static_cast<std::uint32_t>(prompt_key >> 32),
                       static_cast<std::uint32_t>(sample)}};
}

// The device-sampling capability (detected, never required).
template <class M>
concept DeviceSamplingModel = requires(M& model, typename M::Cache& cache, std::span<const std::int32_t> slots,
                                       const TokenBatch& prompts, std::span<const TokenId> tokens,
                                       std::span<const float> uniforms, std::span<TokenId> drawn,
                                       std::span<float> logprobs) {
  model.prefill_device(cache, slots, prompts);
  model.decode_device(cache, slots, tokens);
  model.sample_device(slots, uniforms, 1.0f, 0, 1.0f, std::int64_t{1}, drawn, logprobs);
};

class KvSampler {
 public:
  // Rows × vocabulary below which sampling runs on the calling thread.
  // bench/sampling bench_sampling_step measures both sides: at 8 rows of 512
  // (4,096 logits) two threads already win on the AVX-512 Xeon, 0.193 against
  // 0.218 ms at temperature 1 and 1.34 against 2.27 ms with top-p
  // (bench/RESULTS.md, 2026-12-07); a warm oneTBB fork costs well under 1 us.
  static constexpr std::size_t kParallelSamplingElements = std::size_t{1} << 12;

  explicit KvSampler(SamplerConfig config = {}, Detokenizer detokenizer = {})
      : config_(std::move(config)), detokenizer_(std::move(detokenizer)) {
    config_.validate();
    require(config_.stop_strings.empty() || static_cast<bool>(detokenizer_),
            "KvSampler: stop_strings need a detokenizer (token ids -> text)");
    stop_matcher_ = StopStringMatcher{config_.stop_strings};
  }

  const SamplerConfig& config() const { return config_; }
  void set_token_callback(TokenCallback callback) { token_callback_ = std::move(callback); }
  const GenerationStats& last_stats() const { return stats_; }
  // Rows × vocabulary from which sampling runs over oneTBB (0 = always, SIZE_MAX = never).
  void set_parallel_sampling_threshold(std::size_t rows_times_vocab) { parallel_threshold_ = rows_times_vocab; }
  // The KV cache is kept from one generate call to the next, so a training loop does not allocate (and the
  // kernel zero) slots x positions x layers of keys and values at every step; it is remade only when a call
  // needs more slots or positions, or another model type. release_cache() frees it, e.g. before a backward
  // pass that needs the memory.
  void release_cache() { cache_.reset(); }

  template <Model M>
  std::vector<Completion> generate(M& model, const GenerationRequest& request) {
    Stopwatch total_clock;
    stats_ = {};
    const std::int64_t vocab_size = model.vocab_size();
    check_request(request, vocab_size);
    const std::size_t prompt_count = request.prompts.size();
    const auto group_size = static_cast<std::size_t>(request.samples_per_prompt);
    std::vector<Completion> completions(prompt_count * group_size);
    if (prompt_count == 0) return completions;
    for (auto& completion : completions) {
      completion.ids.reserve(static_cast<std::size_t>(config_.max_new_tokens));
      completion.logprobs.reserve(static_cast<std::size_t>(config_.max_new_tokens));
    }

    // Whole prompts per wave, so a prompt's samples share its prefill.
    std::size_t prompts_per_wave = prompt_count;
    if (config_.max_batch_sequences > 0)
      prompts_per_wave = std::clamp<std::size_t>(static_cast<std::size_t>(config_.max_batch_sequences) / group_size,
                                                 1, prompt_count);
    std::size_t longest_prompt = 0;
    for (const auto& prompt : request.prompts) longest_prompt = std::max(longest_prompt, prompt.size());
    require(longest_prompt + static_cast<std::size_t>(config_.max_new_tokens) <= 0x7FFFFFFFu, "KvSampler: a prompt of ",
            longest_prompt, " tokens plus max_new_tokens ", config_.max_new_tokens, " exceeds 2^31 positions");
    const std::size_t slots = prompts_per_wave * group_size;
    const auto vocab = static_cast<std::size_t>(vocab_size);

    WaveState state;
    state.vocab = vocab;
    state.decodable = config_.decodable_vocab_size > 0
                          ? std::min(vocab, static_cast<std::size_t>(config_.decodable_vocab_size))
                          : vocab;
    if (!config_.banned_token_ids.empty()) {
      std::vector<bool> banned(state.decodable, false);
      for (const TokenId id : config_.banned_token_ids)
        if (static_cast<std::size_t>(id) < state.decodable) banned[static_cast<std::size_t>(id)] = true;
      require(std::find(banned.begin(), banned.end(), false) != banned.end(),
              "KvSampler config: banned_token_ids ban all ", state.decodable, " drawable ids: nothing is left to sample");
    }
    state.max_positions = static_cast<int>(longest_prompt + static_cast<std::size_t>(config_.max_new_tokens));
    state.chain = make_processor_chain(config_);
    state.logits.assign(slots * vocab, 0.0f);
    state.live_slots.reserve(slots);
    state.next_tokens.reserve(slots);
    state.finished.assign(slots, 0);
    state.prefill_slots.reserve(prompts_per_wave);
    state.streams.reserve(slots);
    state.buffers = std::make_unique<tbb::enumerable_thread_specific<CandidateBuffer>>(
        [vocab] { return CandidateBuffer(vocab); });

    Stopwatch forward_clock;
    auto& cache = cache_for(model, static_cast<int>(slots), state.max_positions);
    stats_.forward_ms += forward_clock.elapsed_ms();
    for (std::size_t first_prompt = 0; first_prompt < prompt_count; first_prompt += prompts_per_wave) {
      const std::size_t wave_prompts = std::min(prompts_per_wave, prompt_count - first_prompt);
      if (first_prompt > 0) reset_cache(model, cache, slots, state.max_positions);
      run_wave(model, cache, request, first_prompt, wave_prompts, completions, state);
    }
    stats_.total_ms = total_clock.elapsed_ms();
    return completions;
  }

 private:
  struct WaveState {
    std::size_t vocab = 0;
    std::size_t decodable = 0;               // ids from here up are masked (SamplerConfig::decodable_vocab_size)
    int max_positions = 0;
    LogitsProcessorChain chain;
    std::vector<float> logits;               // (slots, vocab): row i belongs to live_slots[i]
    std::vector<std::int32_t> live_slots;    // slots still generating, in row order
    std::vector<TokenId> next_tokens;        // their newest tokens, fed to decode
    std::vector<std::uint8_t> finished;      // per slot
    std::vector<std::int32_t> prefill_slots;
    std::vector<RandomStream> streams;       // per slot
    std::unique_ptr<tbb::enumerable_thread_specific<CandidateBuffer>> buffers;
  };

  void check_request(const GenerationRequest& request, std::int64_t vocab_size) const {
    require(vocab_size > 0, "KvSampler: the model reports a vocabulary of ", vocab_size, " tokens");
    config_.validate_tokens(vocab_size, "KvSampler config");
    require(request.samples_per_prompt >= 1, "GenerationRequest: samples_per_prompt = ", request.samples_per_prompt,
            ": expected >= 1");
    require(request.prompt_keys.empty() || request.prompt_keys.size() == request.prompts.size(),
            "GenerationRequest: ", request.prompt_keys.size(), " prompt_keys for ", request.prompts.size(),
            " prompts: expected one per prompt or none");
    const auto total = static_cast<std::uint64_t>(request.prompts.size()) *
                       static_cast<std::uint64_t>(request.samples_per_prompt);
    require(total <= 0x7FFFFFFFu, "GenerationRequest: ", total, " completions: too many for one call");
    for (std::size_t p = 0; p < request.prompts.size(); ++p) {
      const auto& prompt = request.prompts[p];
      require(!prompt.empty(), "GenerationRequest: prompt ", p, " is empty: expected at least one token");
      for (std::size_t t = 0; t < prompt.size(); ++t)
        require(prompt[t] >= 0 && prompt[t] < vocab_size, "GenerationRequest: prompt ", p, " token ", t, " = ",
                prompt[t], " is outside the vocabulary [0, ", vocab_size, ")");
    }
  }

  // A cache with at least `slots` slots of `max_positions` positions for `model`, every slot empty: the one
  // kept from the last call when it is big enough and was made by this model type for the same shape.
  template <class M>
  typename M::Cache& cache_for(M& model, int slots, int max_positions) {
    using Cache = typename M::Cache;
    if constexpr (requires(Cache& c, const M& m) {
                    { c.slots() } -> std::convertible_to<int>;
                    { c.max_positions() } -> std::convertible_to<int>;
                    { m.cache_fits(c) } -> std::convertible_to<bool>;
                  }) {
      auto* kept = cache_type_ == &typeid(Cache) ? static_cast<Cache*>(cache_.get()) : nullptr;
      if (kept != nullptr && kept->slots() >= slots && kept->max_positions() >= max_positions && model.cache_fits(*kept)) {
        reset_cache(model, *kept, static_cast<std::size_t>(kept->slots()), kept->max_positions());
        return *kept;
      }
    }
    cache_.reset();  // the old one goes before the new one is allocated
    cache_ = std::make_shared<Cache>(model.make_cache(slots, max_positions));
    cache_type_ = &typeid(Cache);
    return *static_cast<Cache*>(cache_.get());
  }

  template <class M>
  static void reset_cache(M& model, typename M::Cache& cache, std::size_t slots, int max_positions) {
    if constexpr (requires { cache.reset(0); }) {
      for (std::size_t slot = 0; slot < slots; ++slot) cache.reset(static_cast<int>(slot));
    } else {
      cache = model.make_cache(static_cast<int>(slots), max_positions);
    }
  }

  template <class M>
  void run_wave(M& model, typename M::Cache& cache, const GenerationRequest& request, std::size_t first_prompt,
                std::size_t wave_prompts, std::vector<Completion>& completions, WaveState& state) {
    if constexpr (DeviceSamplingModel<M>) {
      // The device draws temperature, top-k and top-p; other processors and banned ids run on the host.
      if (config_.repetition_penalty == 1.0f && config_.min_p == 0.0f && config_.banned_token_ids.empty())
        return run_wave_on_device(model, cache, request, first_prompt, wave_prompts, completions, state);
    }
    Stopwatch wave_clock;
    const std::size_t group_size = static_cast<std::size_t>(request.samples_per_prompt);
    const std::size_t vocab = state.vocab;
    const std::size_t wave_slots = wave_prompts * group_size;
    const std::size_t first_sequence = first_prompt * group_size;

    // Prefill each prompt once into the slot of its sample 0.
    Stopwatch forward_clock;
    TokenBatch prompts;
    state.prefill_slots.clear();
    for (std::size_t p = 0; p < wave_prompts; ++p) {
      prompts.push_back(request.prompts[first_prompt + p]);
      state.prefill_slots.push_back(static_cast<std::int32_t>(p * group_size));
      stats_.prompt_tokens += static_cast<std::int64_t>(request.prompts[first_prompt + p].size());
    }
    model.prefill(cache, std::span<const std::int32_t>(state.prefill_slots), prompts,
                  std::span<float>(state.logits.data(), wave_prompts * vocab));
    for (std::size_t p = 0; p < wave_prompts; ++p)
      for (std::size_t j = 1; j < group_size; ++j)
        model.copy_slot(cache, static_cast<int>(p * group_size), static_cast<int>(p * group_size + j));
    stats_.forward_ms += forward_clock.elapsed_ms();

    state.streams.clear();
    state.live_slots.clear();
    for (std::size_t slot = 0; slot < wave_slots; ++slot) {
      const std::size_t prompt = first_prompt + slot / group_size;
      const std::uint64_t key = request.prompt_keys.empty() ? prompt : request.prompt_keys[prompt];
      state.streams.push_back(sampling_stream(request.seed, request.step, key, static_cast<int>(slot % group_size)));
      state.live_slots.push_back(static_cast<std::int32_t>(slot));
      state.finished[slot] = 0;
    }

    // The first token of every sample comes from its prompt's prefill row.
    bool first_step = true;
    while (!state.live_slots.empty()) {
      Stopwatch sampling_clock;
      const std::size_t rows = state.live_slots.size();
      const auto sample_row = [&](std::size_t row) {
        const auto slot = static_cast<std::size_t>(state.live_slots[row]);
        const std::size_t logits_row = first_step ? slot / group_size : row;
        const std::size_t sequence = first_sequence + slot;
        const std::size_t prompt = first_prompt + slot / group_size;
        Completion& completion = completions[sequence];
        CandidateBuffer& buffer = state.buffers->local();
        CandidateSet candidates = buffer.load(std::span<const float>(state.logits.data() + logits_row * vocab, vocab));
        mask_ids_from(candidates, state.decodable);
        mask_ids(candidates, config_.banned_token_ids);
        state.chain.apply(candidates, SequenceContext{request.prompts[prompt], completion.ids});
        const auto position = static_cast<std::uint32_t>(completion.ids.size());
        const DrawnToken drawn = draw_token(candidates, state.streams[slot].uniform(position));
        completion.ids.push_back(drawn.id);
        completion.logprobs.push_back(drawn.logprob);
        state.finished[slot] = finish_check(completion) ? 1 : 0;
        if (state.finished[slot] != 0) completion.generation_ms = wave_clock.elapsed_ms();
      };
      if (rows * vocab >= parallel_threshold_) {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, rows), [&](const tbb::blocked_range<std::size_t>& range) {
          for (std::size_t row = range.begin(); row != range.end(); ++row) sample_row(row);
        });
      } else {
        for (std::size_t row = 0; row < rows; ++row) sample_row(row);
      }
      stats_.new_tokens += static_cast<std::int64_t>(rows);

      const std::size_t kept = retire_finished_rows(first_sequence, completions, state);
      stats_.sampling_ms += sampling_clock.elapsed_ms();
      first_step = false;
      if (kept == 0) break;

      forward_clock.restart();
      model.decode(cache, std::span<const std::int32_t>(state.live_slots), std::span<const TokenId>(state.next_tokens),
                   std::span<float>(state.logits.data(), kept * vocab));
      stats_.forward_ms += forward_clock.elapsed_ms();
      ++stats_.decode_steps;
    }
  }

  // run_wave with prefill, decode and the draw on the model's device: per step the host sends the live
  // rows' logits rows and uniforms and gets back their tokens and log-probs.
  template <class M>
  void run_wave_on_device(M& model, typename M::Cache& cache, const GenerationRequest& request,
                          std::size_t first_prompt, std::size_t wave_prompts, std::vector<Completion>& completions,
                          WaveState& state) {
    Stopwatch wave_clock;
    const std::size_t group_size = static_cast<std::size_t>(request.samples_per_prompt);
    const std::size_t wave_slots = wave_prompts * group_size;
    const std::size_t first_sequence = first_prompt * group_size;

    Stopwatch forward_clock;
    TokenBatch prompts;
    state.prefill_slots.clear();
    for (std::size_t p = 0; p < wave_prompts; ++p) {
      prompts.push_back(request.prompts[first_prompt + p]);
      state.prefill_slots.push_back(static_cast<std::int32_t>(p * group_size));
      stats_.prompt_tokens += static_cast<std::int64_t>(request.prompts[first_prompt + p].size());
    }
    model.prefill_device(cache, std::span<const std::int32_t>(state.prefill_slots), prompts);
    for (std::size_t p = 0; p < wave_prompts; ++p)
      for (std::size_t j = 1; j < group_size; ++j)
        model.copy_slot(cache, static_cast<int>(p * group_size), static_cast<int>(p * group_size + j));
    stats_.forward_ms += forward_clock.elapsed_ms();

    state.streams.clear();
    state.live_slots.clear();
    for (std::size_t slot = 0; slot < wave_slots; ++slot) {
      const std::size_t prompt = first_prompt + slot / group_size;
      const std::uint64_t key = request.prompt_keys.empty() ? prompt : request.prompt_keys[prompt];
      state.streams.push_back(sampling_stream(request.seed, request.step, key, static_cast<int>(slot % group_size)));
      state.live_slots.push_back(static_cast<std::int32_t>(slot));
      state.finished[slot] = 0;
    }
    std::vector<std::int32_t> logits_rows;
    std::vector<float> uniforms, logprobs;
    std::vector<TokenId> drawn;
    bool first_step = true;  // the first token of every sample comes from its prompt's prefill row
    while (!state.live_slots.empty()) {
      Stopwatch sampling_clock;
      const std::size_t rows = state.live_slots.size();
      logits_rows.resize(rows);
      uniforms.resize(rows);
      drawn.resize(rows);
      logprobs.resize(rows);
      for (std::size_t row = 0; row < rows; ++row) {
        const auto slot = static_cast<std::size_t>(state.live_slots[row]);
        logits_rows[row] = static_cast<std::int32_t>(first_step ? slot / group_size : row);
        const auto position = static_cast<std::uint32_t>(completions[first_sequence + slot].ids.size());
        uniforms[row] = static_cast<float>(state.streams[slot].uniform(position));
      }
      model.sample_device(std::span<const std::int32_t>(logits_rows), std::span<const float>(uniforms),
                          config_.temperature, config_.top_k, config_.top_p, static_cast<std::int64_t>(state.decodable),
                          std::span<TokenId>(drawn), std::span<float>(logprobs));
      for (std::size_t row = 0; row < rows; ++row) {
        const auto slot = static_cast<std::size_t>(state.live_slots[row]);
        Completion& completion = completions[first_sequence + slot];
        completion.ids.push_back(drawn[row]);
        completion.logprobs.push_back(logprobs[row]);
        state.finished[slot] = finish_check(completion) ? 1 : 0;
        if (state.finished[slot] != 0) completion.generation_ms = wave_clock.elapsed_ms();
      }
      stats_.new_tokens += static_cast<std::int64_t>(rows);

      const std::size_t kept = retire_finished_rows(first_sequence, completions, state);
      stats_.sampling_ms += sampling_clock.elapsed_ms();
      first_step = false;
      if (kept == 0) break;

      forward_clock.restart();
      model.decode_device(cache, std::span<const std::int32_t>(state.live_slots),
                          std::span<const TokenId>(state.next_tokens));
      stats_.forward_ms += forward_clock.elapsed_ms();
      ++stats_.decode_steps;
    }
  }

  // After a step's draw: the token callback sees every live row, finished sequences leave the batch
  // and the rest gather their new token into state.next_tokens for the next decode, keeping row order.
  // Returns the number of rows still live.
  std::size_t retire_finished_rows(std::size_t first_sequence, const std::vector<Completion>& completions,
                                   WaveState& state) const {
    state.next_tokens.clear();
    std::size_t kept = 0;
    for (std::size_t row = 0; row < state.live_slots.size(); ++row) {  // rows are compacted in place
      const auto slot = static_cast<std::size_t>(state.live_slots[row]);
      if (token_callback_) token_callback_(first_sequence + slot, completions[first_sequence + slot]);
      if (state.finished[slot] != 0) continue;
      state.live_slots[kept++] = static_cast<std::int32_t>(slot);
      state.next_tokens.push_back(completions[first_sequence + slot].ids.back());
    }
    state.live_slots.resize(kept);
    return kept;
  }

  // Sets the finish reason and text when `completion` just finished.
  bool finish_check(Completion& completion) const {
    const TokenId last = completion.ids.back();
    const auto contains = [last](const std::vector<TokenId>& list) {
      return std::find(list.begin(), list.end(), last) != list.end();
    };
    if (contains(config_.eos_token_ids)) return finish(completion, FinishReason::eos, true);
    if (contains(config_.stop_token_ids)) return finish(completion, FinishReason::stop, true);
    if (!stop_matcher_.empty()) {
      std::string text;
      if (const auto match = stop_matcher_.find_new(completion.ids, detokenizer_, text)) {
        text.resize(match->text_offset);
        completion.text = std::move(text);
        completion.finish_reason = FinishReason::stop;
        return true;
      }
    }
    if (completion.ids.size() >= static_cast<std::size_t>(config_.max_new_tokens))
      return finish(completion, FinishReason::length, false);
    return false;
  }

  bool finish(Completion& completion, FinishReason reason, bool drop_last_from_text) const {
    completion.finish_reason = reason;
    if (detokenizer_) {
      const std::span<const TokenId> shown(completion.ids.data(), completion.ids.size() - (drop_last_from_text ? 1 : 0));
      completion.text = detokenizer_(shown);
      if (const auto match = stop_matcher_.find(completion.text)) completion.text.resize(match->text_offset);
    }
    return true;
  }

  SamplerConfig config_;
  Detokenizer detokenizer_;
  StopStringMatcher stop_matcher_;
  TokenCallback token_callback_;
  GenerationStats stats_;
  std::size_t parallel_threshold_ = kParallelSamplingElements;
  std::shared_ptr<void> cache_;                   // a M::Cache, kept between calls (see release_cache)
  const std::type_info* cache_type_ = nullptr;    // which M::Cache cache_ holds
};

}  // namespace r1
