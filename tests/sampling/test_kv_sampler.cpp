// KvSampler over a deterministic table model (table_model.hpp): the batching
// contract (one prefill per prompt, copies for the G samples, finished
// sequences leave the batch), greedy = full-forward argmax, behaviour log-probs
// = the model's recomputed log-probs, reproducibility across batch size, order,
// waves and threads, and stop conditions.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/core/error.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "table_model.hpp"

namespace {

using r1::TokenId;
using r1::test::TableModel;

static_assert(r1::Sampler<r1::KvSampler, TableModel>);

std::vector<std::vector<TokenId>> make_prompts(int count, std::int64_t vocab, std::uint64_t seed) {
  r1::Philox rng(seed);
  std::vector<std::vector<TokenId>> prompts(static_cast<std::size_t>(count));
  for (auto& prompt : prompts) {
    prompt.resize(1 + rng() % 6);
    for (auto& token : prompt) token = static_cast<TokenId>(rng() % static_cast<std::uint32_t>(vocab));
  }
  return prompts;
}

// Greedy decoding by full forward passes: argmax (ties to the lowest id) of the
// logits recomputed from scratch for the whole sequence at every step.
std::vector<TokenId> full_forward_greedy(const TableModel& model, std::vector<TokenId> sequence, int new_tokens) {
  std::vector<float> logits(static_cast<std::size_t>(model.vocab_size()));
  std::vector<TokenId> generated;
  for (int step = 0; step < new_tokens; ++step) {
    model.full_forward_logits(sequence, logits);
    const auto best = static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    generated.push_back(best);
    sequence.push_back(best);
  }
  return generated;
}

// GCC's -Wextra flags designated initializers that leave members out, so requests are built here.
r1::GenerationRequest make_request(std::span<const std::vector<TokenId>> prompts, int samples_per_prompt = 1,
                                   std::uint64_t seed = 0, std::uint64_t step = 0,
                                   std::span<const std::uint64_t> prompt_keys = {}) {
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.prompt_keys = prompt_keys;
  request.samples_per_prompt = samples_per_prompt;
  request.seed = seed;
  request.step = step;
  return request;
}

void check_same_completions(const std::vector<r1::Completion>& a, const std::vector<r1::Completion>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].ids == b[i].ids);
    CHECK(a[i].logprobs == b[i].logprobs);  // bit-equal: same logits, same draws
    CHECK(a[i].finish_reason == b[i].finish_reason);
  }
}

}  // namespace

TEST_CASE("one prefill per prompt, G copies, and finished sequences leave the batch") {
  TableModel model(64);
  const auto prompts = make_prompts(3, 64, 11);
  r1::SamplerConfig config;
  config.max_new_tokens = 30;
  config.eos_token_ids = {5, 17, 33, 40};  // ~1/16 per step: most sequences end early, at different steps
  r1::KvSampler sampler{config};
  const auto completions = sampler.generate(model, make_request(prompts, 4, 3, 0));
  REQUIRE(completions.size() == 12);
  CHECK(model.prefill_calls == 1);
  CHECK(model.prefilled_tokens == static_cast<std::int64_t>(prompts[0].size() + prompts[1].size() + prompts[2].size()));
  CHECK(model.copy_calls == 3 * 3);
  // Decode step s carries exactly the sequences that got a token at step s + 1.
  std::size_t longest = 0;
  for (const auto& completion : completions) longest = std::max(longest, completion.ids.size());
  REQUIRE(model.decode_rows.size() == longest - 1);
  for (std::size_t step = 0; step + 1 < longest; ++step) {
    const auto still_live = std::count_if(completions.begin(), completions.end(),
                                          [&](const auto& completion) { return completion.ids.size() > step + 1; });
    CHECK(model.decode_rows[step] == static_cast<std::size_t>(still_live));
  }
  int eos_count = 0;
  for (const auto& completion : completions) {
    CHECK(completion.ids.size() == completion.logprobs.size());
    CHECK(completion.ids.size() <= 30);
    if (completion.finish_reason == r1::FinishReason::eos) {
      ++eos_count;
      CHECK(std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), completion.ids.back()) !=
            config.eos_token_ids.end());
    } else {
      CHECK(completion.finish_reason == r1::FinishReason::length);
      CHECK(completion.ids.size() == 30);
    }
  }
  CHECK(eos_count > 0);
  const auto& stats = sampler.last_stats();
  std::int64_t generated = 0;
  for (const auto& completion : completions) generated += static_cast<std::int64_t>(completion.ids.size());
  CHECK(stats.new_tokens == generated);
  CHECK(stats.decode_steps == static_cast<std::int64_t>(longest - 1));
}

TEST_CASE("temperature 0 (and temperature -> 0) equals greedy decoding by full forward passes") {
  TableModel model(64);
  const auto prompts = make_prompts(4, 64, 21);
  r1::SamplerConfig config;
  config.max_new_tokens = 20;
  config.temperature = 0.0f;
  const auto greedy = r1::KvSampler{config}.generate(model, make_request(prompts, 3, 1, 0));
  // A tiny temperature is greedy in effect: the gap between the two largest logits,
  // divided by 1e-6, makes the runner-up's probability exp(-gap * 1e6) ~ 0.
  config.temperature = 1e-6f;
  const auto cold = r1::KvSampler{config}.generate(model, make_request(prompts, 3, 1, 0));
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    const auto expected = full_forward_greedy(model, prompts[p], 20);
    for (std::size_t j = 0; j < 3; ++j) {
      CAPTURE(p);
      CAPTURE(j);
      CHECK(greedy[p * 3 + j].ids == expected);
      CHECK(std::all_of(greedy[p * 3 + j].logprobs.begin(), greedy[p * 3 + j].logprobs.end(),
                        [](float logprob) { return logprob == 0.0f; }));
      CHECK(cold[p * 3 + j].ids == expected);
      // log p of the argmax at T -> 0 tends to 0 from below.
      CHECK(std::all_of(cold[p * 3 + j].logprobs.begin(), cold[p * 3 + j].logprobs.end(),
                        [](float logprob) { return logprob <= 0.0f && logprob > -1e-6f; }));
    }
  }
}

TEST_CASE("behaviour log-probs equal the model's recomputed log-probs at the same temperature") {
  TableModel model(64);
  const auto prompts = make_prompts(4, 64, 31);
  for (const float temperature : {1.0f, 0.7f, 1.6f}) {
    CAPTURE(temperature);
    r1::SamplerConfig config;
    config.max_new_tokens = 12;
    config.temperature = temperature;
    const auto completions =
        r1::KvSampler{config}.generate(model, make_request(prompts, 3, 5, 0));
    r1::TokenBatch batch;
    std::vector<TokenId> sequence;
    for (std::size_t i = 0; i < completions.size(); ++i) {
      const auto& prompt = prompts[i / 3];
      sequence.assign(prompt.begin(), prompt.end());
      sequence.insert(sequence.end(), completions[i].ids.begin(), completions[i].ids.end());
      batch.push_back(sequence, static_cast<std::int32_t>(prompt.size()));
    }
    r1::TokenScores scores;
    model.score(batch, temperature, scores);
    for (std::size_t i = 0; i < completions.size(); ++i) {
      const auto first = static_cast<std::size_t>(batch.offsets[i]) + prompts[i / 3].size();
      for (std::size_t t = 0; t < completions[i].ids.size(); ++t) {
        // Both sides take the same float logits / T and a double log-sum-exp over
        // 64 terms; only the order of the sum differs (relative error <= 64 * 2^-53),
        // so the float results agree to their rounding: |ℓ| < 10, 10 * 2^-24 ≈ 6e-7 → 2e-6.
        CHECK(std::abs(completions[i].logprobs[t] - scores.logprobs[first + t]) < 2e-6f);
      }
    }
  }
}

TEST_CASE("with truncation the behaviour log-prob is that of the renormalised distribution") {
  // Top-k 1 leaves one candidate: every token is the argmax, with log-prob 0,
  // while the model's full distribution gives it less than probability 1.
  TableModel model(64);
  const auto prompts = make_prompts(2, 64, 41);
  r1::SamplerConfig config;
  config.max_new_tokens = 6;
  config.top_k = 1;
  const auto completions = r1::KvSampler{config}.generate(model, make_request(prompts, 2, 0, 0));
  for (std::size_t i = 0; i < completions.size(); ++i) {
    CHECK(completions[i].ids == full_forward_greedy(model, prompts[i / 2], 6));
    for (const float logprob : completions[i].logprobs) CHECK(logprob == 0.0f);
  }
}

TEST_CASE("banned ids are never drawn, and log-probs are those of the distribution renormalised without them") {
  TableModel model(16);
  const std::vector<std::vector<TokenId>> prompt{{3, 5}};
  std::vector<float> logits(16);
  model.full_forward_logits(prompt[0], logits);
  // Ban the most likely first token and token 0; the first token's log-prob must be its logit minus the
  // log-sum-exp over the 14 ids left, worked here in double.
  const auto top = static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  r1::SamplerConfig config;
  config.max_new_tokens = 5;
  config.banned_token_ids = {top, 0, top};  // a repeated id is harmless
  double kept_mass = 0.0;
  for (int id = 0; id < 16; ++id)
    if (id != top && id != 0) kept_mass += std::exp(static_cast<double>(logits[static_cast<std::size_t>(id)]));
  const auto completions = r1::KvSampler{config}.generate(model, make_request(prompt, 400, 5, 0));
  for (const auto& completion : completions) {
    for (const TokenId id : completion.ids) {
      CHECK(id != top);
      CHECK(id != 0);
    }
    const auto first = static_cast<std::size_t>(completion.ids.at(0));
    CHECK(completion.logprobs.at(0) ==
          doctest::Approx(static_cast<double>(logits[first]) - std::log(kept_mass)).epsilon(1e-5));
  }
  // Greedy with the argmax banned draws the runner-up.
  config.temperature = 0.0f;
  config.max_new_tokens = 1;
  config.banned_token_ids = {top};
  std::vector<float> without_top = logits;
  without_top[static_cast<std::size_t>(top)] = -1e30f;
  const auto runner_up = static_cast<TokenId>(std::max_element(without_top.begin(), without_top.end()) - without_top.begin());
  CHECK(r1::KvSampler{config}.generate(model, make_request(prompt, 1, 0, 0)).at(0).ids.at(0) == runner_up);

  // Banning every drawable id, or an id outside the vocabulary, is an error.
  r1::SamplerConfig all;
  for (TokenId id = 0; id < 16; ++id) all.banned_token_ids.push_back(id);
  CHECK_THROWS_WITH_AS(r1::KvSampler{all}.generate(model, make_request(prompt, 1, 0, 0)),
                       doctest::Contains("ban all 16 drawable ids"), r1::Error);
  r1::SamplerConfig decodable_all;
  decodable_all.decodable_vocab_size = 2;
  decodable_all.banned_token_ids = {0, 1};
  CHECK_THROWS_WITH_AS(r1::KvSampler{decodable_all}.generate(model, make_request(prompt, 1, 0, 0)),
                       doctest::Contains("ban all 2 drawable ids"), r1::Error);
  r1::SamplerConfig outside;
  outside.banned_token_ids = {16};
  CHECK_THROWS_WITH_AS(r1::KvSampler{outside}.generate(model, make_request(prompt, 1, 0, 0)),
                       doctest::Contains("banned_token_ids[0] = 16 is outside the vocabulary"), r1::Error);
  r1::SamplerConfig negative;
  negative.banned_token_ids = {-2};
  CHECK_THROWS_WITH_AS(r1::KvSampler{negative}, doctest::Contains("banned_token_ids[0] = -2"), r1::Error);
}

TEST_CASE("end to end, first tokens follow the top-k distribution of the prompt's logits (chi-square, alpha = 0.001)") {
  TableModel model(64);
  const std::vector<std::vector<TokenId>> prompt{{7, 9}};
  std::vector<float> logits(64);
  model.full_forward_logits(prompt[0], logits);
  // Expected: softmax over the 5 largest logits, in double.
  std::vector<int> order(64);
  for (int i = 0; i < 64; ++i) order[static_cast<std::size_t>(i)] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)]; });
  std::vector<double> expected(64, 0.0);
  double total = 0.0;
  for (int rank = 0; rank < 5; ++rank) total += std::exp(static_cast<double>(logits[static_cast<std::size_t>(order[static_cast<std::size_t>(rank)])]));
  for (int rank = 0; rank < 5; ++rank) {
    const auto token = static_cast<std::size_t>(order[static_cast<std::size_t>(rank)]);
    expected[token] = std::exp(static_cast<double>(logits[token])) / total;
  }
  constexpr int kSamples = 8000;
  r1::SamplerConfig config;
  config.max_new_tokens = 1;
  config.top_k = 5;
  const auto completions =
      r1::KvSampler{config}.generate(model, make_request(prompt, kSamples, 99, 0));
  std::vector<int> counts(64, 0);
  for (const auto& completion : completions) ++counts[static_cast<std::size_t>(completion.ids.at(0))];
  double statistic = 0.0;
  for (std::size_t token = 0; token < 64; ++token) {
    if (expected[token] == 0.0) {
      CHECK(counts[token] == 0);
      continue;
    }
    CHECK(expected[token] * kSamples > 5.0);  // the chi-square approximation needs >= 5 per cell
    statistic += (counts[token] - expected[token] * kSamples) * (counts[token] - expected[token] * kSamples) /
                 (expected[token] * kSamples);
  }
  CHECK(statistic < 18.467);  // chi-square upper 0.1% point, 4 degrees of freedom (NIST table 1.3.6.7.4)
}

TEST_CASE("same seed, same completions at batch size 1 and 32, in any order, in waves, at 1 and 2 threads") {
  // A vocabulary of 2048 makes 32 prompts x G 2 rows pass the parallel-sampling
  // threshold (64 * 2048 >= 2^12), so the 2-thread run really samples in parallel.
  static_assert(64 * 2048 >= r1::KvSampler::kParallelSamplingElements);
  TableModel model(2048);
  const auto prompts = make_prompts(32, 2048, 51);
  r1::SamplerConfig config;
  config.max_new_tokens = 10;
  config.top_p = 0.95f;
  config.repetition_penalty = 1.2f;
  config.eos_token_ids = {1, 2, 3};
  const r1::GenerationRequest together = make_request(prompts, 2, 8, 4);
  r1::KvSampler sampler{config};
  const auto batched = [&] {
    tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
    return sampler.generate(model, together);
  }();

  SUBCASE("2 threads") {
    tbb::global_control two_threads(tbb::global_control::max_allowed_parallelism, 2);
    check_same_completions(sampler.generate(model, together), batched);
  }
  SUBCASE("batch size 1") {
    std::vector<r1::Completion> alone;
    for (std::size_t p = 0; p < prompts.size(); ++p) {
      const std::uint64_t key = p;  // the prompt's key, as when it sat at index p
      const auto one = sampler.generate(
          model, make_request(std::span(prompts).subspan(p, 1), 2, 8, 4, std::span(&key, 1)));
      alone.insert(alone.end(), one.begin(), one.end());
    }
    check_same_completions(alone, batched);
  }
  SUBCASE("reversed order") {
    std::vector<std::vector<TokenId>> reversed(prompts.rbegin(), prompts.rend());
    std::vector<std::uint64_t> keys(prompts.size());
    for (std::size_t p = 0; p < keys.size(); ++p) keys[p] = prompts.size() - 1 - p;
    const auto result =
        sampler.generate(model, make_request(reversed, 2, 8, 4, keys));
    std::vector<r1::Completion> unreversed;
    for (std::size_t p = prompts.size(); p-- > 0;)
      for (std::size_t j = 0; j < 2; ++j) unreversed.push_back(result[p * 2 + j]);
    check_same_completions(unreversed, batched);
  }
  SUBCASE("waves of at most 6 sequences") {
    auto waved = config;
    waved.max_batch_sequences = 6;
    check_same_completions(r1::KvSampler{waved}.generate(model, together), batched);
  }
  SUBCASE("another seed or step gives other completions") {
    auto other = together;
    other.seed = 9;
    const auto reseeded = sampler.generate(model, other);
    other = together;
    other.step = 5;
    const auto restepped = sampler.generate(model, other);
    int same_seed = 0, same_step = 0;
    for (std::size_t i = 0; i < batched.size(); ++i) {
      same_seed += reseeded[i].ids == batched[i].ids ? 1 : 0;
      same_step += restepped[i].ids == batched[i].ids ? 1 : 0;
    }
    CHECK(same_seed < 4);  // an EOS at the first token can coincide by chance (3/2048 per sample)
    CHECK(same_step < 4);
  }
}

namespace {

// A scripted walk: after token 9 the model (almost surely) emits
// 0 "ab", 1 "c<", 2 "/an", 3 "swer>", 4 "tail", 4 "tail", ...
const std::vector<std::string> kPieces = {"ab", "c<", "/an", "swer>", "tail", "x", "y", "z", "w", "v", "u", "t", "s", "r", "q", "p"};

TableModel scripted_model() {
  TableModel model(16);
  model.script(9, 0);
  model.script(0, 1);
  model.script(1, 2);
  model.script(2, 3);
  model.script(3, 4);
  model.script(4, 4);
  return model;
}

std::string detokenize(std::span<const TokenId> ids) {
  std::string text;
  for (const TokenId id : ids) text += kPieces.at(static_cast<std::size_t>(id));
  return text;
}

r1::Completion generate_scripted(r1::SamplerConfig config) {
  auto model = scripted_model();
  config.temperature = 0.0f;
  const std::vector<std::vector<TokenId>> prompt{{5, 9}};
  auto completions = r1::KvSampler{config, detokenize}.generate(model, make_request(prompt, 2, 0, 0));
  REQUIRE(completions.size() == 2);
  CHECK(completions[0].ids == completions[1].ids);
  CHECK(completions[0].text == completions[1].text);
  return completions[0];
}

}  // namespace

TEST_CASE("stop strings straddling tokens stop at the right place") {
  r1::SamplerConfig config;
  config.max_new_tokens = 10;
  SUBCASE("across three tokens: text cut before the match, ids end with the completing token") {
    config.stop_strings = {"</answer>"};
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2, 3});
    CHECK(completion.text == "abc");
    CHECK(completion.finish_reason == r1::FinishReason::stop);
  }
  SUBCASE("starting inside a token") {
    config.stop_strings = {"bc</"};
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2});
    CHECK(completion.text == "a");
    CHECK(completion.finish_reason == r1::FinishReason::stop);
  }
  SUBCASE("the earliest of several matches wins") {
    config.stop_strings = {"tail", "wer", "an"};
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2});  // "an" completes first, with token 2
    CHECK(completion.text == "abc</");
  }
  SUBCASE("no match: the length limit, full text") {
    config.stop_strings = {"never"};
    config.max_new_tokens = 6;
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2, 3, 4, 4});
    CHECK(completion.text == "abc</answer>tailtail");
    CHECK(completion.finish_reason == r1::FinishReason::length);
  }
  SUBCASE("stop token id: kept in ids, left out of the text") {
    config.stop_token_ids = {2};
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2});
    CHECK(completion.text == "abc<");
    CHECK(completion.finish_reason == r1::FinishReason::stop);
  }
  SUBCASE("EOS: kept in ids, left out of the text") {
    config.eos_token_ids = {3};
    const auto completion = generate_scripted(config);
    CHECK(completion.ids == std::vector<TokenId>{0, 1, 2, 3});
    CHECK(completion.text == "abc</an");
    CHECK(completion.finish_reason == r1::FinishReason::eos);
  }
}

TEST_CASE("stop strings: each step decodes a tail of the completion, not all of it") {
  // 300 tokens of "tail" and a stop string that never comes: the whole-text check decoded
  // 1 + 2 + ... + 300 = 45,150 tokens per sequence; a tail of longest + 4 = 9 tokens per step, plus the newest
  // token alone, is 3,000.
  std::atomic<long> decoded{0};
  const r1::Detokenizer counting = [&decoded](std::span<const TokenId> ids) {
    decoded.fetch_add(static_cast<long>(ids.size()));
    return detokenize(ids);
  };
  r1::SamplerConfig config;
  config.temperature = 0.0f;
  config.max_new_tokens = 300;
  config.stop_strings = {"never"};
  auto model = scripted_model();
  const std::vector<std::vector<TokenId>> prompt{{5, 9}};
  const auto completions = r1::KvSampler{config, counting}.generate(model, make_request(prompt, 2, 0, 0));
  REQUIRE(completions.size() == 2);
  CHECK(completions[0].ids.size() == 300);
  CHECK(completions[0].finish_reason == r1::FinishReason::length);
  CHECK(completions[0].text.size() == std::string("abc</answer>").size() + 4 * 296);
  // Per sequence: at most 9 + 1 tokens per step plus the final whole-text decode of 300.
  CHECK(decoded.load() <= 2 * (300 * 10 + 300));
}

TEST_CASE("StopStringMatcher::find_new grows its tail past tokens that decode to nothing") {
  // Token 0 decodes to "", token 1 to "<", 2 to "/", 3 to "a>": "</a>" spread over tokens with empty ones between.
  const r1::Detokenizer decode = [](std::span<const TokenId> ids) {
    static const char* pieces[] = {"", "<", "/", "a>", "x"};
    std::string text;
    for (const TokenId id : ids) text += pieces[id];
    return text;
  };
  const r1::StopStringMatcher matcher({"</a>"});
  std::string text = "untouched";
  const std::vector<TokenId> no_match{4, 4, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0};
  CHECK_FALSE(matcher.find_new(no_match, decode, text));
  CHECK(text == "untouched");
  std::vector<TokenId> ids{4, 4, 4, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};  // 8 + 9 empty tokens inside
  const auto match = matcher.find_new(ids, decode, text);
  REQUIRE(match);
  CHECK(text == "xxx</a>");
  CHECK(match->text_offset == 3);
  // A long newest token: the tail must reach longest - 1 bytes before it, past the empty tokens.
  const r1::Detokenizer decode_long = [](std::span<const TokenId> ids) {
    static const char* pieces[] = {"", "ab", "</a>yyyyyyyyyyyyyyyyyyyy", "x"};
    std::string text;
    for (const TokenId id : ids) text += pieces[id];
    return text;
  };
  const r1::StopStringMatcher straddling({"ab</a>"});
  const std::vector<TokenId> long_newest{3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // 9 empty tokens between
  const auto across = straddling.find_new(long_newest, decode_long, text);
  REQUIRE(across);
  CHECK(across->text_offset == 1);
  CHECK(text == "xab</a>yyyyyyyyyyyyyyyyyyyy");
  // The earliest match of the whole text wins even when the tail sees a later one.
  const r1::StopStringMatcher two({"x", "a>"});
  const std::vector<TokenId> late{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
  const auto earliest = two.find_new(late, decode, text);
  REQUIRE(earliest);
  CHECK(earliest->text_offset == 0);
  CHECK(earliest->stop_index == 0);
}

TEST_CASE("the token callback sees every token of every sequence once, in order") {
  TableModel model(32);
  const auto prompts = make_prompts(2, 32, 61);
  r1::SamplerConfig config;
  config.max_new_tokens = 7;
  config.eos_token_ids = {0, 1};
  r1::KvSampler sampler{config};
  std::vector<std::vector<TokenId>> seen(4);
  sampler.set_token_callback([&](std::size_t sequence, const r1::Completion& completion) {
    REQUIRE(sequence < seen.size());
    CHECK(completion.ids.size() == seen[sequence].size() + 1);
    seen[sequence].push_back(completion.ids.back());
  });
  const auto completions = sampler.generate(model, make_request(prompts, 2, 2, 0));
  for (std::size_t i = 0; i < completions.size(); ++i) CHECK(seen[i] == completions[i].ids);
}

TEST_CASE("bad requests raise r1::Error naming what is wrong") {
  TableModel model(16);
  r1::KvSampler sampler{r1::SamplerConfig{}};
  const auto message_of = [&](const r1::GenerationRequest& request) {
    try {
      sampler.generate(model, request);
    } catch (const r1::Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const std::vector<std::vector<TokenId>> empty_prompt{{1, 2}, {}};
  CHECK(message_of(make_request(empty_prompt, 1, 0, 0)).find("prompt 1 is empty") != std::string::npos);
  const std::vector<std::vector<TokenId>> outside{{1, 16}};
  CHECK(message_of(make_request(outside, 1, 0, 0)).find("prompt 0 token 1 = 16 is outside the vocabulary") != std::string::npos);
  const std::vector<std::vector<TokenId>> negative{{-1}};
  CHECK(message_of(make_request(negative, 1, 0, 0)).find("outside the vocabulary") != std::string::npos);
  const std::vector<std::vector<TokenId>> good{{1, 2}};
  CHECK(message_of(make_request(good, 0, 0, 0)).find("samples_per_prompt = 0") != std::string::npos);
  const std::vector<std::uint64_t> two_keys{1, 2};
  CHECK(message_of(make_request(good, 1, 0, 0, two_keys)).find("2 prompt_keys for 1 prompts") != std::string::npos);
  CHECK(sampler.generate(model, {}).empty());

  r1::SamplerConfig eos_outside;
  eos_outside.eos_token_ids = {16};
  CHECK_THROWS_WITH_AS(r1::KvSampler{eos_outside}.generate(model, make_request(good, 1, 0, 0)),
                       doctest::Contains("eos_token_ids[0] = 16 is outside the vocabulary"), r1::Error);
  r1::SamplerConfig needs_text;
  needs_text.stop_strings = {"</answer>"};
  CHECK_THROWS_WITH_AS(r1::KvSampler{needs_text}, doctest::Contains("need a detokenizer"), r1::Error);
  r1::SamplerConfig bad_temperature;
  bad_temperature.temperature = -1.0f;
  CHECK_THROWS_WITH_AS(r1::KvSampler{bad_temperature}, doctest::Contains("temperature"), r1::Error);
}
