// R1-Zero, second act: does self-checking that the base rarely does emerge from
// rewards alone, does it pay, and does length grow with difficulty? (What every
// configuration tried found is in bench/RESULTS.md.)
//
// The default task (--task quotient, r1/tasks/quotient.hpp) finds the one-digit
// quotient of a number by a divisor of 2 to 5 digits; difficulty is the divisor's
// digits. A worked solution writes long division's trial quotient (the dividend's
// leading digits over the divisor's), which is too big about 45% of the time. Two
// bases are pretrained (SFT) on the same synthetic corpus except for one thing: in
// the "checks" base 5% of worked solutions then multiply back, compare with the
// dividend and, when the estimate was too big, move it down and check again; the
// "no_checks" base (the ablation) never saw a check. Each base is then trained by
// GRPO from rule-based rewards only (answer accuracy + format), G 16 completions a
// prompt, the levels opened one at a time, easiest first, over the first 400 of 500
// steps (--curriculum-steps; 0 mixes them from the start), and evaluated on
// held-out problems of every level along the way, every sampled completion read by
// the task's self-check detector. At the end the policy is evaluated once more
// with <check> never sampled, which says what checking is worth to it.
//
// --task subset_sum (r1/tasks/subset_sum.hpp) picks some of 3 to 6 two-digit
// numbers that add up to a target, checked by comparing the chain's sum with the
// target; its --revision and --checked-miss-draw choose how its checked examples
// revise a miss. --task chain_sum (sums of three-digit numbers) runs the first task
// tried.
//
//   r1_zero_aha --pretrain-only --out out/aha          pretrain both bases (OUT/checks/base, OUT/no_checks/base)
//   r1_zero_aha --bases DIR --out out/aha_rl           RL from the bases in DIR/checks[/base], DIR/no_checks[/base]
//   r1_zero_aha --from-scratch --out out/aha           both in one run
//   r1_zero_aha --bases DIR --probe                    the bases sampled at T 1, accuracy by completion style
//   r1_zero_aha --quick --from-scratch                 a smoke run, seconds
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "study.hpp"
#include "study_tasks.hpp"
#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/threads.hpp"
#include "r1/core/timer.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/curriculum.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "r1/train/plot.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/standard_hooks.hpp"
#include "r1/train/trend.hpp"

namespace {

using aha::Policy;
using aha::Reward;
using aha::StudyTask;
using Recipe = r1::Grpo<Policy, r1::KvSampler, Reward, r1::AdamW, r1::GrpoObjective>;
using Trainer = r1::GrpoTrainer<Recipe, r1::SingleProcess>;

struct Options {
  std::string out = "out/r1_zero_aha";
  std::string bases;  // DIR/checks and DIR/no_checks hold the bases; empty: --from-scratch is needed
  bool from_scratch = false;
  std::string variants = "checks,no_checks";
  std::string task = "quotient";
  std::vector<int> levels;  // empty: the task's
  int digits = 0;           // 0: the task's
  std::int64_t hidden = 128, layers = 4;
  std::int64_t pretrain_steps = 0;  // 0: the task's
  int pretrain_batch = 128;
  std::size_t corpus = 0;  // 0: the task's
  // The committed bases' corpus: 90% worked, 40% of first attempts (and direct answers) wrong, 5% of worked
  // examples checked, half of those after a wrong first attempt.
  double worked_fraction = 0.9, error_fraction = 0.4, checked_fraction = 0.05, checked_error_fraction = 0.5;
  std::string revision = "nearest_sum";  // how the checked examples revise a miss (r1/tasks/subset_sum.hpp)
  std::string checked_miss_draw = "near";  // how the checked examples' missed first choices are drawn (near, far)
  std::string drill = "compared";  // what the quotient corpus's drills practise (product, compared)
  std::int64_t grpo_steps = 500;
  int prompts_per_step = 16;
  int group_size = 0;  // 0: the task's
  float grpo_lr = 2e-4f;
  float beta = 0.02f;
  std::int64_t curriculum_steps = -1;  // the levels open one at a time over these steps (r1/train/curriculum.hpp);
                                       // 0: all mixed; < 0: the task's
  std::int64_t eval_every = 50;
  int eval_per_level = 64;
  int final_per_level = 250;
  int samples = 4;
  int max_new_tokens = 0;  // 0: the task's
  std::uint64_t seed = 1;
  int threads = 0;
  bool quick = false;
  bool pretrain_only = false;
  bool probe = false;
};

struct Variant {
  std::string name;
  double checked_fraction = 0;
  std::vector<std::pair<std::int64_t, aha::Evaluation>> curve;  // step -> held-out evaluation
  aha::Evaluation base_final;  // the base on the final held-out set, before RL
  aha::Evaluation final;
  // The policy after RL on the final set again, with the same draws but <check> never sampled: what checking
  // is worth to this policy, on every problem (not only those it chose to check).
  aha::Evaluation final_check_forbidden;
  std::vector<aha::PairedDifference> check_worth;  // per level: accuracy allowed - forbidden, same problems
  // The GRPO steps' mean completion lengths over their sampled batches, averaged over windows of kLengthWindow
  // steps, and the span of their rise.
  std::vector<double> train_length_windows;
  std::optional<r1::RiseSpan> train_length_rise;
  double seconds = 0;
};

// The training batches' mean completion length is averaged over windows of this many steps (the paper's Fig. 1b
// curve, with the noise of 16 prompts a step smoothed).
constexpr std::int64_t kLengthWindow = 25;

r1::Json level_json(const aha::Evaluation& evaluation) {
  r1::Json levels = r1::Json::array();
  for (const auto& stats : evaluation.levels) levels.push_back(stats.to_json());
  return levels;
}

// SFT of the base: AdamW (weight decay 0.01), cosine from 2e-3 to 2e-4 after 50 warm-up steps.
void pretrain(Policy& model, const std::vector<r1::SftExample>& examples, const Options& options,
              const std::string& metrics_path) {
  r1::SftConfig sft;
  sft.steps = options.pretrain_steps;
  sft.batch_size = options.pretrain_batch;
  sft.seed = options.seed;
  r1::AdamWConfig adam;
  adam.lr = 2e-3f;
  adam.weight_decay = 0.01f;
  using Sft = r1::SftTrainer<Policy, r1::AdamW, r1::SingleProcess>;
  r1::SingleProcess one;
  Sft trainer{sft, model, r1::AdamW{adam}, r1::CosineSchedule{adam.lr, 50, sft.steps, adam.lr * 0.1f}, one};
  trainer.add_hook(std::make_unique<r1::MetricsHook<Sft>>(metrics_path, stderr, sft.steps));
  trainer.fit(examples);
}

void print_levels(const char* label, const StudyTask& task, const aha::Evaluation& evaluation) {
  std::printf("  %-22s", label);
  for (const auto& s : evaluation.levels)
    std::printf(" | %d %s: acc %5.1f%% len %5.1f check %5.1f%%", s.level, task.level_unit.c_str(), 100 * s.accuracy,
                s.mean_length, 100 * s.check_share);
  std::printf("\n");
}

void run_variant(Variant& variant, const Options& options, const StudyTask& task, const r1::CharTokenizer& tokenizer,
                 const r1::TextCodec& codec) {
  r1::Stopwatch clock;
  const r1::TokenId eos = *tokenizer.eos_token_id();
  const std::string out = options.out + "/" + variant.name;
  std::filesystem::create_directories(out);
  const std::int64_t max_positions = 48 + options.max_new_tokens + 64;

  Policy model{aha::model_config(tokenizer.vocab_size(), options.hidden, options.layers, max_positions)};
  if (!options.from_scratch) {
    r1::require(!options.bases.empty(), "no bases: pass --bases DIR (made by --pretrain-only) or --from-scratch");
    // DIR/<variant>/base as --pretrain-only writes it, or DIR/<variant> as committed.
    std::string base = options.bases + "/" + variant.name + "/base";
    if (!std::filesystem::exists(base + "/config.json")) base = options.bases + "/" + variant.name;
    model = Policy::load(base);
    // A base speaks its task's alphabet: one pretrained for another task would read prompts as other symbols.
    std::ifstream spec_file(base + "/r1_tokenizer.json");
    r1::require(spec_file.good(), base, "/r1_tokenizer.json: cannot open for reading");
    const r1::Json spec = r1::Json::parse(spec_file, nullptr, /*allow_exceptions=*/false);
    r1::require(spec.is_object() && spec.contains("symbols") && spec["symbols"].is_string() &&
                    spec["symbols"].get<std::string>() == task.alphabet,
                base, "/r1_tokenizer.json: its symbols are not the ", task.name, " task's ('",
                std::string(task.alphabet), "'); was the base pretrained for another --task?");
    std::printf("[%s] base: loaded %s (%lld parameters)\n", variant.name.c_str(), base.c_str(),
                static_cast<long long>(model.parameter_count()));
    if (options.probe) {  // the base sampled as in training (T 1), by completion style
      const aha::HeldOut probe = aha::held_out_set(task, options.levels,
                                                   static_cast<std::size_t>(options.final_per_level), options.digits,
                                                   options.seed + 7);
      r1::SingleProcess one;
      const auto evaluation = aha::evaluate(task, model, probe, codec, options.samples, options.max_new_tokens,
                                            options.seed + 777, eos, one, 1.0f);
      for (const auto& s : evaluation.levels)
        std::printf("  %d %s, T 1: acc %.3f | direct %zu acc %.3f | worked %zu acc %.3f | checked %zu acc %.3f, "
                    "first attempt wrong %zu, caught %zu, revisions written %zu right %zu\n",
                    s.level, task.level_unit.c_str(), s.accuracy, s.direct, s.direct_accuracy(), s.worked_only,
                    s.worked_only_accuracy(), s.checked, s.checked_accuracy(), s.first_wrong, s.caught,
                    s.revisions_written, s.revisions_right);
      std::ofstream dump(options.out + "/probe_checked_" + variant.name + ".txt");
      for (const auto& text : evaluation.checked_examples) dump << text << "\n";
      return;
    }
  } else {
    model.init_random(options.seed);
    aha::CorpusOptions corpus;
    corpus.levels = options.levels;
    corpus.digits = options.digits;
    corpus.worked_fraction = options.worked_fraction;
    corpus.error_fraction = options.error_fraction;
    corpus.checked_fraction = variant.checked_fraction;
    corpus.checked_error_fraction = options.checked_error_fraction;
    corpus.revision = options.revision;
    corpus.checked_miss_draw = options.checked_miss_draw;
    corpus.drill = options.drill;
    const auto examples = aha::tokenized(tokenizer, task.corpus(corpus, options.corpus, options.seed + 2));
    std::printf("[%s] pretraining the base: %lld parameters, %zu examples (%.0f%% worked, %.0f%% of those wrong, %.0f%% "
                "of those check), %lld steps of %d\n",
                variant.name.c_str(), static_cast<long long>(model.parameter_count()), examples.size(),
                100 * options.worked_fraction, 100 * options.error_fraction, 100 * variant.checked_fraction,
                static_cast<long long>(options.pretrain_steps), options.pretrain_batch);
    r1::Stopwatch timer;
    pretrain(model, examples, options, out + "/pretrain_metrics.jsonl");
    std::printf("[%s] pretraining: %.1f s\n", variant.name.c_str(), timer.elapsed_seconds());
    model.save(out + "/base");
    aha::write_tokenizer_spec(task, out + "/base");
    if (options.pretrain_only) {
      const aha::HeldOut probe = aha::held_out_set(task, options.levels,
                                                   static_cast<std::size_t>(options.eval_per_level), options.digits,
                                                   options.seed + 7);
      r1::SingleProcess one;
      print_levels(("[" + variant.name + "] base").c_str(), task,
                   aha::evaluate(task, model, probe, codec, options.samples, options.max_new_tokens,
                                 options.seed + 777, eos, one));
      return;
    }
  }

  // RL data: 4,000 training-split problems a level. Without a curriculum every level is mixed in equal shares
  // (the trainer shuffles); with one, the levels open easiest first and the trainer visits them in that order.
  std::vector<std::vector<r1::Problem>> pools;
  for (const int level : options.levels)
    pools.push_back(task.problems(level, options.digits, r1::Split::train, 4000,
                                  options.seed + 100 + static_cast<std::uint64_t>(level)));
  std::vector<r1::Problem> train;
  if (options.curriculum_steps > 0) {
    train = r1::curriculum_visits(pools, r1::LevelCurriculum{options.curriculum_steps}, options.grpo_steps,
                                  options.prompts_per_step, options.seed + 300);
  } else {
    for (const auto& pool : pools) train.insert(train.end(), pool.begin(), pool.end());
  }
  const aha::HeldOut curve_set = aha::held_out_set(task, options.levels, static_cast<std::size_t>(options.eval_per_level),
                                                   options.digits, options.seed + 7);
  const aha::HeldOut final_set = aha::held_out_set(
      task, options.levels, static_cast<std::size_t>(options.final_per_level), options.digits, options.seed + 7);
  r1::SingleProcess one;
  // The base on the final set too (the curve's 64 problems a level give its accuracy only to +-6 points).
  variant.base_final = aha::evaluate(task, model, final_set, codec, options.samples, options.max_new_tokens,
                                     options.seed + 999, eos, one);

  // Dr. GRPO (Liu et al. 2025, arXiv 2503.20783, Eq. 3 and §3.1): advantages r - mean(r) without the std
  // division, and every token's loss weighted 1 / (S * C) with a constant C, so no token's weight depends on
  // the length of its sequence and the loss itself favours neither long nor short completions.
  r1::GrpoConfig objective = r1::GrpoConfig::dr_grpo(options.max_new_tokens);
  // Plus the k3 KL to the frozen base (Schulman's estimator; GRPO, arXiv 2402.03300 Eq. 4): without it the
  // chains' arithmetic, which no reward checks, drifts until the checks are a ritual over misread sums. Beta
  // 0.02, half DeepSeekMath's 0.04: in two seeds each it let checking reach 42-45% of the 6-number completions
  // against 28% at 0.04, with the checks still right (bench/RESULTS.md, 2026-12-07).
  objective.beta = options.beta;
  r1::SamplerConfig sampling;
  sampling.temperature = 1.0f;
  sampling.max_new_tokens = options.max_new_tokens;
  sampling.eos_token_ids = {eos};
  sampling.decodable_vocab_size = codec.vocab_size;
  r1::AdamWConfig adam;
  adam.lr = options.grpo_lr;
  adam.weight_decay = 0.0f;
  r1::GrpoTrainerConfig grpo;
  grpo.steps = options.grpo_steps;
  grpo.prompts_per_step = options.prompts_per_step;
  grpo.group_size = options.group_size;
  grpo.temperature = 1.0f;
  grpo.seed = options.seed;
  grpo.shuffle_data = options.curriculum_steps == 0;
  Trainer trainer{grpo,
                  model,
                  r1::KvSampler{sampling, codec.decode},
                  *task.reward,
                  r1::AdamW{adam},
                  r1::GrpoObjective{objective},
                  codec,
                  r1::CosineSchedule{adam.lr, 10, grpo.steps, 0.0f},
                  one};
  trainer.add_hook(std::make_unique<r1::MetricsHook<Trainer>>(out + "/metrics.jsonl", stderr, grpo.steps));
  std::vector<double> step_lengths;
  trainer.add_hook(std::make_unique<r1::AfterStepHook<Trainer>>([&](Trainer&, r1::StepReport& report) {
    step_lengths.push_back(report.metrics.value("completions/mean_length", std::nan("")));
  }));
  trainer.add_hook(std::make_unique<r1::EvaluationHook<Trainer>>(options.eval_every, [&](Trainer& t) {
    const std::int64_t step = variant.curve.size() * options.eval_every;
    auto evaluation = aha::evaluate(task, t.policy(), curve_set, codec, options.samples, options.max_new_tokens,
                                    options.seed + 777, eos, one);
    print_levels(("[" + variant.name + "] step " + std::to_string(step)).c_str(), task, evaluation);
    r1::Json metrics = r1::Json::object();
    for (const auto& s : evaluation.levels) {
      const std::string prefix = std::to_string(s.level) + "_" + task.level_unit + "/";
      metrics[prefix + "accuracy"] = s.accuracy;
      metrics[prefix + "length"] = s.mean_length;
      metrics[prefix + "check_share"] = s.check_share;
    }
    variant.curve.emplace_back(step, std::move(evaluation));
    return metrics;
  }));
  std::printf("[%s] GRPO: %lld steps of %d prompts x G %d over levels {", variant.name.c_str(),
              static_cast<long long>(grpo.steps), grpo.prompts_per_step, grpo.group_size);
  for (const int level : options.levels) std::printf(" %d", level);
  if (options.curriculum_steps > 0)
    std::printf(" } opened one at a time over %lld steps, then mixed",
                static_cast<long long>(options.curriculum_steps));
  else
    std::printf(" } mixed");
  std::printf("; Dr. GRPO loss, lr %g (10 warm-up, cosine to 0), beta %g\n", static_cast<double>(adam.lr),
              static_cast<double>(objective.beta));
  trainer.fit(train);
  variant.train_length_windows = r1::window_means(step_lengths, kLengthWindow);
  variant.train_length_rise = r1::rise_span(variant.train_length_windows, kLengthWindow);
  model.save(out + "/policy");
  aha::write_tokenizer_spec(task, out + "/policy");

  auto last = aha::evaluate(task, model, curve_set, codec, options.samples, options.max_new_tokens,
                            options.seed + 777, eos, one);
  print_levels(("[" + variant.name + "] step " + std::to_string(grpo.steps)).c_str(), task, last);
  variant.curve.emplace_back(grpo.steps, std::move(last));
  variant.final = aha::evaluate(task, model, final_set, codec, options.samples, options.max_new_tokens,
                                options.seed + 999, eos, one);
  const std::optional<r1::TokenId> check = tokenizer.token_to_id("<check>");
  r1::require(check.has_value(), "r1_zero_aha: the ", task.name, " task's tokenizer has no <check> tag");
  variant.final_check_forbidden = aha::evaluate(task, model, final_set, codec, options.samples, options.max_new_tokens,
                                                options.seed + 999, eos, one, 0.6f, {*check});
  variant.check_worth = aha::paired_by_level(variant.final, variant.final_check_forbidden, final_set, options.samples);
  std::ofstream caught(out + "/caught_and_corrected.txt");
  for (const auto& text : variant.final.caught_examples) caught << text << "\n";
  variant.seconds = clock.elapsed_seconds();
}

r1::Json variant_json(const Variant& variant) {
  r1::Json curve = r1::Json::array();
  for (const auto& [step, evaluation] : variant.curve) curve.push_back({{"step", step}, {"levels", level_json(evaluation)}});
  r1::Json length_windows = r1::Json::array();
  for (const double mean : variant.train_length_windows) length_windows.push_back(std::isfinite(mean) ? r1::Json(mean) : r1::Json());
  r1::Json train_length{{"window_steps", kLengthWindow}, {"window_means", length_windows}};
  if (const auto& rise = variant.train_length_rise)
    train_length["rise"] = {{"first", rise->first},     {"peak", rise->peak},      {"from_step", rise->from_step},
                            {"to_step", rise->to_step}, {"windows", rise->windows}};
  r1::Json json{{"checked_fraction_of_worked_in_corpus", variant.checked_fraction},
                {"curve", curve},
                {"train_mean_length", train_length},
                {"base_final", level_json(variant.base_final)},
                {"final", level_json(variant.final)},
                {"final_check_forbidden", level_json(variant.final_check_forbidden)},
                {"seconds", variant.seconds}};
  r1::Json worth = r1::Json::array();
  for (std::size_t l = 0; l < variant.check_worth.size(); ++l) {
    const aha::PairedDifference& d = variant.check_worth[l];
    worth.push_back({{"level", variant.final.levels[l].level},
                     {"accuracy_allowed_minus_forbidden", d.mean},
                     {"standard_error", std::isfinite(d.standard_error) ? r1::Json(d.standard_error) : r1::Json()},
                     {"problems", d.problems}});
  }
  json["check_worth"] = worth;
  if (!variant.final.caught_examples.empty()) json["caught_and_corrected_example"] = variant.final.caught_examples.front();
  return json;
}

void write_plot(const std::string& path, const StudyTask& task, const std::vector<Variant>& variants,
                const std::vector<int>& levels) {
  static const char* kColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"};
  const auto panel = [&](const std::string& title, const std::string& unit, auto value, std::optional<double> y_max) {
    std::vector<r1::PlotSeries> series;
    for (const auto& variant : variants)
      for (std::size_t l = 0; l < levels.size(); ++l) {
        std::vector<double> x, y;
        for (const auto& [step, evaluation] : variant.curve) {
          x.push_back(static_cast<double>(step));
          y.push_back(value(evaluation.levels[l]));
        }
        series.emplace_back(std::to_string(levels[l]) + " " + task.level_unit + (variant.name == "checks" ? "" : " (" + variant.name + ")"),
                            x, y, kColours[l % 6], variant.name != "checks");
      }
    return r1::PlotPanel(title, unit, series, 0.0, y_max);
  };
  std::vector<r1::PlotSeries> training_length;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const std::vector<double>& means = variants[v].train_length_windows;
    std::vector<double> x, y;
    for (std::size_t w = 0; w < means.size(); ++w)
      if (std::isfinite(means[w])) {
        x.push_back(static_cast<double>(static_cast<std::int64_t>(w) * kLengthWindow));
        y.push_back(means[w]);
      }
    training_length.emplace_back(variants[v].name, x, y, v == 0 ? "#444444" : "#999999", variants[v].name != "checks");
  }
  r1::PlotOptions options;
  options.title = "R1-Zero second act: " + task.name + " by number of " + task.level_unit +
                  " (held-out, T 0.6; dashed: base never saw a check)";
  options.x_label = "GRPO step";
  r1::write_svg_plot(path,
                     {panel("accuracy (pass@1)", "share", [](const aha::LevelStats& s) { return s.accuracy; }, 1.0),
                      panel("mean completion length", "tokens", [](const aha::LevelStats& s) { return s.mean_length; },
                            std::nullopt),
                      panel("completions with a self-check", "share",
                            [](const aha::LevelStats& s) { return s.check_share; }, 1.0),
                      r1::PlotPanel("training batches: mean completion length (" + std::to_string(kLengthWindow) +
                                        "-step means, all open levels)",
                                    "tokens", training_length, 0.0, std::nullopt)},
                     options);
}

void print_table(const StudyTask& task, const std::vector<Variant>& variants) {
  std::printf("\n| base | %s | accuracy base -> RL | length base -> RL | self-check base -> RL | checked: first attempt -> answer (RL) | acc. unchecked (RL) | checked - unchecked, same problems (n) | caught | acc. with <check> forbidden (RL) | allowed - forbidden |\n",
              task.level_unit.c_str());
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& variant : variants) {
    const aha::Evaluation& base = variant.base_final;
    for (std::size_t l = 0; l < variant.final.levels.size(); ++l) {
      const auto& b = base.levels[l];
      const auto& f = variant.final.levels[l];
      const auto share = [](double v) { return v < 0 ? std::string("-") : std::to_string(int(100 * v + 0.5)) + "%"; };
      const std::string paired = f.paired_problems ? std::to_string(int(std::lround(100 * f.paired_check_gain))) +
                                                         " points (" + std::to_string(f.paired_problems) + ")"
                                                   : std::string("-");
      const aha::PairedDifference& worth = variant.check_worth[l];
      // The standard error is undefined (NaN) with fewer than two problems a level, as in --quick.
      char standard_error[32] = "n/a";
      if (std::isfinite(worth.standard_error))
        std::snprintf(standard_error, sizeof standard_error, "%.1f", 100 * worth.standard_error);
      std::printf("| %s | %d | %.1f%% -> %.1f%% | %.0f -> %.0f | %.1f%% -> %.1f%% | %s -> %s | %s | %s | %zu | %.1f%% | %+.1f +- %s points |\n",
                  variant.name.c_str(), f.level, 100 * b.accuracy, 100 * f.accuracy, b.mean_length, f.mean_length,
                  100 * b.check_share, 100 * f.check_share, share(f.checked_first_attempt_accuracy()).c_str(),
                  share(f.checked_accuracy()).c_str(), share(f.unchecked_accuracy()).c_str(), paired.c_str(), f.caught,
                  100 * variant.final_check_forbidden.levels[l].accuracy, 100 * worth.mean, standard_error);
    }
  }
  std::printf("\n");
  for (const auto& variant : variants) {
    const std::vector<double>& means = variant.train_length_windows;
    const auto& rise = variant.train_length_rise;
    if (rise && rise->peak - rise->first >= 1.0)  // a rise of less than one token is noise, not growth
      std::printf("[%s] training batches' mean length (%lld-step means): %.1f -> peak %.1f tokens; 10%% to 90%% of "
                  "the rise reached between steps %lld and %lld (%lld windows; 1 would be a flip)\n",
                  variant.name.c_str(), static_cast<long long>(kLengthWindow), rise->first, rise->peak,
                  static_cast<long long>(rise->from_step), static_cast<long long>(rise->to_step),
                  static_cast<long long>(rise->windows));
    else if (!means.empty())
      std::printf("[%s] training batches' mean length (%lld-step means): no rise of a token or more from %.1f tokens\n",
                  variant.name.c_str(), static_cast<long long>(kLengthWindow), means.front());
  }
}

int run(Options options) {
  r1::ThreadLimit threads{options.threads};
  r1::Stopwatch total;
  std::filesystem::create_directories(options.out);
  const StudyTask task = aha::study_task(options.task);
  if (options.levels.empty()) options.levels = task.default_levels;
  if (options.digits == 0) options.digits = task.default_digits;
  if (options.max_new_tokens == 0) options.max_new_tokens = task.default_max_new_tokens;
  if (options.curriculum_steps < 0) options.curriculum_steps = task.default_curriculum_steps;
  if (options.group_size == 0) options.group_size = task.default_group_size;
  if (options.pretrain_steps == 0) options.pretrain_steps = task.default_pretrain_steps;
  if (options.corpus == 0) options.corpus = task.default_corpus;
  std::printf("r1 R1-Zero second act: %s, %d-digit numbers, levels", task.name.c_str(), options.digits);
  for (const int level : options.levels) std::printf(" %d", level);
  std::printf(" %s; %d threads; output in %s\n", task.level_unit.c_str(), threads.count(), options.out.c_str());
  const r1::CharTokenizer tokenizer = aha::make_tokenizer(task);
  const r1::TextCodec codec = aha::make_codec(tokenizer);

  std::vector<Variant> variants;
  std::stringstream names(options.variants);
  for (std::string name; std::getline(names, name, ',');) {
    r1::require(name == "checks" || name == "no_checks", "--variants: '", name, "': expected checks and/or no_checks");
    Variant variant;
    variant.name = name;
    variant.checked_fraction = name == "checks" ? options.checked_fraction : 0.0;
    variants.push_back(std::move(variant));
  }
  for (auto& variant : variants) run_variant(variant, options, task, tokenizer, codec);
  if (options.probe) return 0;
  if (options.pretrain_only) {
    std::printf("wrote the bases under %s/<variant>/base; total %.1f s\n", options.out.c_str(), total.elapsed_seconds());
    return 0;
  }

  print_table(task, variants);
  r1::Json results{{"seconds", total.elapsed_seconds()},
                   {"threads", threads.count()},
                   {"options",
                    {{"levels", options.levels},
                     {"task", task.name},
                     {"digits", options.digits},
                     {"hidden", options.hidden},
                     {"layers", options.layers},
                     {"from_scratch", options.from_scratch},
                     {"pretrain_steps", options.pretrain_steps},
                     {"worked_fraction", options.worked_fraction},
                     {"error_fraction", options.error_fraction},
                     {"checked_fraction", options.checked_fraction},
                     {"checked_error_fraction", options.checked_error_fraction},
                     {"revision", options.revision},
                     {"checked_miss_draw", options.checked_miss_draw},
                     {"drill", options.drill},
                     {"max_new_tokens", options.max_new_tokens},
                     {"grpo_steps", options.grpo_steps},
                     {"prompts_per_step", options.prompts_per_step},
                     {"group_size", options.group_size},
                     {"grpo_lr", options.grpo_lr},
                     {"beta", options.beta},
                     {"curriculum_steps", options.curriculum_steps},
                     {"eval_per_level", options.eval_per_level},
                     {"final_per_level", options.final_per_level},
                     {"samples", options.samples},
                     {"seed", options.seed}}}};
  for (const auto& variant : variants) results[variant.name] = variant_json(variant);
  std::ofstream(options.out + "/results.json") << results.dump(2) << "\n";
  write_plot(options.out + "/curves.svg", task, variants, options.levels);
  for (const auto& variant : variants)
    if (!variant.final.caught_examples.empty())
      std::printf("[%s] a caught-and-corrected completion (held-out, after RL):\n  %s\n", variant.name.c_str(),
                  variant.final.caught_examples.front().c_str());
  std::printf("wrote %s/results.json and %s/curves.svg; total %.1f s\n", options.out.c_str(), options.out.c_str(),
              total.elapsed_seconds());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"R1-Zero second act: self-checking and length from rewards alone, by difficulty", "r1_zero_aha"};
  app.add_option("--out", options.out, "Output folder")->capture_default_str();
  app.add_option("--bases", options.bases, "Folder of the bases (checks/, no_checks/), made by --pretrain-only");
  app.add_flag("--from-scratch", options.from_scratch, "Pretrain the bases instead of loading them");
  app.add_option("--variants", options.variants, "Which bases to train: checks, no_checks or both")->capture_default_str();
  app.add_option("--task", options.task,
                 "Task: subset_sum (numbers that add up to a target), quotient (a one-digit quotient, estimated "
                 "and checked) or chain_sum (sums)")
      ->capture_default_str();
  app.add_option("--levels", options.levels, "Difficulty levels (numbers or terms; default: the task's)")
      ->delimiter(',');
  app.add_option("--digits", options.digits, "Digits per number (default: the task's)");
  app.add_option("--max-new-tokens", options.max_new_tokens, "Completion budget (default: the task's)");
  app.add_option("--hidden", options.hidden, "Model width (from scratch)")->capture_default_str();
  app.add_option("--layers", options.layers, "Model layers (from scratch)")->capture_default_str();
  app.add_option("--pretrain-steps", options.pretrain_steps,
                 "Pretraining (SFT) steps, 128 examples each (default: the task's, 5000 for quotient, 2500 for the "
                 "others)");
  app.add_option("--corpus", options.corpus,
                 "Pretraining examples (default: the task's, 300000 for quotient, 150000 for the others)");
  app.add_option("--worked-fraction", options.worked_fraction, "Share of worked examples in the corpus")->capture_default_str();
  app.add_option("--error-fraction,--slip-fraction", options.error_fraction,
                 "Share of worked examples whose (first) attempt is wrong (a slip, a wrong guess)")
      ->capture_default_str();
  app.add_option("--checked-fraction", options.checked_fraction, "Share of worked examples that check (checks base)")
      ->capture_default_str();
  app.add_option("--checked-error-fraction,--checked-slip-fraction", options.checked_error_fraction,
                 "Error rate of the checked examples (< 0: the error fraction)")->capture_default_str();
  app.add_option("--revision", options.revision,
                 "How the checked examples revise a miss (subset_sum): nearest_sum or gap_move (written on paper)")
      ->capture_default_str();
  app.add_option("--checked-miss-draw", options.checked_miss_draw,
                 "How the checked examples' missed first choices are drawn (subset_sum): near (one or two numbers "
                 "off) or far (no first gap is a prompt number)")
      ->capture_default_str();
  app.add_option("--drill", options.drill,
                 "What the quotient corpus's drills practise: product (8*612) or compared (8*612,4837, the product "
                 "compared with a dividend)")
      ->capture_default_str();
  app.add_option("--grpo-steps", options.grpo_steps, "GRPO steps")->capture_default_str();
  app.add_option("--prompts", options.prompts_per_step, "Prompts per GRPO step")->capture_default_str();
  app.add_option("--group", options.group_size,
                 "Completions per prompt (G; default: the task's, 16 for quotient, 8 for the others)");
  app.add_option("--lr", options.grpo_lr, "GRPO learning rate")->capture_default_str();
  app.add_option("--beta", options.beta, "KL coefficient to the frozen base (0: none, as in Dr. GRPO)")->capture_default_str();
  app.add_option("--curriculum-steps", options.curriculum_steps,
                 "Open the levels one at a time, easiest first, over this many GRPO steps (0: all levels mixed; "
                 "default: the task's, 400 for quotient)");
  app.add_option("--eval-every", options.eval_every, "Held-out evaluation every N GRPO steps")->capture_default_str();
  app.add_option("--eval-per-level", options.eval_per_level, "Held-out problems per level for the curves")
      ->capture_default_str();
  app.add_option("--final-per-level", options.final_per_level, "Held-out problems per level at the end")
      ->capture_default_str();
  app.add_option("--samples", options.samples, "Samples per held-out problem")->capture_default_str();
  app.add_option("--seed", options.seed, "Seed")->capture_default_str();
  app.add_option("--threads", options.threads, "Threads (default: R1_THREADS or all cores)");
  app.add_flag("--pretrain-only", options.pretrain_only, "Pretrain the bases (implies --from-scratch) and stop");
  app.add_flag("--probe", options.probe, "Sample the bases at T 1 and print accuracy by completion style, then stop");
  app.add_flag("--quick", options.quick, "A smoke run: tiny budgets, for tests");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (options.pretrain_only) options.from_scratch = true;
  if (options.quick) {  // with --from-scratch a tiny model; else the committed bases, briefly
    options.hidden = 32;
    options.layers = 1;
    options.pretrain_steps = 10;
    options.pretrain_batch = 8;
    options.corpus = 200;
    options.grpo_steps = 2;
    options.prompts_per_step = 2;
    options.group_size = 2;
    options.eval_every = 1;
    options.eval_per_level = 2;
    options.final_per_level = 2;
    options.samples = 1;
    options.max_new_tokens = 96;
  }
  try {
    return run(options);
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "r1_zero_aha: error: %s\n", e.what());
    return 1;
  }
}
