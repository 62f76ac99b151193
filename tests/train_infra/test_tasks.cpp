#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/tasks/arithmetic.hpp"
#include "r1/tasks/countdown.hpp"
#include "r1/tasks/jsonl_dataset.hpp"
#include "r1/tasks/padded_multiplication.hpp"
#include "r1/tasks/split.hpp"
#include "scratch_dir.hpp"

namespace {

std::vector<std::string> split_on(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::int64_t digits_value(std::string_view text) {
  std::int64_t value = 0;
  for (const char c : text) value = value * 10 + (c - '0');
  return value;
}

std::int64_t ten_to(int exponent) {
  std::int64_t value = 1;
  while (exponent-- > 0) value *= 10;
  return value;
}

// Independent reader of the scratchpad format documented in padded_multiplication.hpp:
// parses every step back and checks its arithmetic. Returns "" when all is right.
std::string scratchpad_error(const std::string& completion, std::int64_t a, std::int64_t b, int a_digits, int b_digits) {
  const std::string think_open = "<think>", think_close = "</think><answer>", answer_close = "</answer>";
  if (completion.rfind(think_open, 0) != 0) return "no <think> at the start";
  const auto close = completion.find(think_close);
  if (close == std::string::npos) return "no </think><answer>";
  const std::string think = completion.substr(think_open.size(), close - think_open.size());
  const std::string tail = completion.substr(close + think_close.size());
  if (tail.size() < answer_close.size() || tail.substr(tail.size() - answer_close.size()) != answer_close) return "no </answer>";
  const std::string answer = tail.substr(0, tail.size() - answer_close.size());
  const int width = a_digits + b_digits;
  if (static_cast<int>(answer.size()) != width || !all_digits(answer) || digits_value(answer) != a * b) return "wrong answer";

  const auto segments = split_on(think, ';');
  if (static_cast<int>(segments.size()) != b_digits + 1) return "expected b_digits partial products and one addition";
  std::vector<std::int64_t> partials;
  for (int j = 0; j < b_digits; ++j) {
    const auto parts = split_on(segments[static_cast<std::size_t>(j)], '=');
    if (parts.size() != 3) return "partial product " + std::to_string(j) + ": expected 3 '='-separated parts";
    const auto factors = split_on(parts[0], '*');
    const std::int64_t b_digit = (b / ten_to(j)) % 10;
    if (factors.size() != 2 || factors[0] != std::to_string(b_digit)) return "partial " + std::to_string(j) + ": wrong digit of b";
    if (static_cast<int>(factors[1].size()) != a_digits || !all_digits(factors[1]) || digits_value(factors[1]) != a)
      return "partial " + std::to_string(j) + ": wrong a";
    const auto steps = split_on(parts[1], ',');
    if (static_cast<int>(steps.size()) != a_digits) return "partial " + std::to_string(j) + ": wrong number of steps";
    std::int64_t carry = 0;
    for (int i = 0; i < a_digits; ++i) {
      const auto& step = steps[static_cast<std::size_t>(i)];
      const std::int64_t expected = ((a / ten_to(i)) % 10) * b_digit + carry;
      if (step.size() != 2 || !all_digits(step) || digits_value(step) != expected)
        return "partial " + std::to_string(j) + " step " + std::to_string(i) + ": '" + step + "' != " + std::to_string(expected);
      carry = expected / 10;
    }
    if (static_cast<int>(parts[2].size()) != a_digits + 1 || !all_digits(parts[2]) || digits_value(parts[2]) != a * b_digit)
      return "partial " + std::to_string(j) + ": wrong product " + parts[2];
    partials.push_back(digits_value(parts[2]) * ten_to(j));
  }
  const auto addition = split_on(segments.back(), '=');
  if (addition.size() != 3) return "addition: expected 3 '='-separated parts";
  const auto terms = split_on(addition[0], '+');
  if (static_cast<int>(terms.size()) != b_digits) return "addition: wrong number of terms";
  for (int j = 0; j < b_digits; ++j) {
    const auto& term = terms[static_cast<std::size_t>(j)];
    if (static_cast<int>(term.size()) != width || !all_digits(term) || digits_value(term) != partials[static_cast<std::size_t>(j)])
      return "addition: term " + std::to_string(j) + " is not the shifted partial product";
  }
  const auto columns = split_on(addition[1], ',');
  if (static_cast<int>(columns.size()) != width) return "addition: wrong number of columns";
  std::int64_t carry = 0, total = 0;
  for (int column = 0; column < width; ++column) {
    std::int64_t expected = carry;
    for (const auto partial : partials) expected += (partial / ten_to(column)) % 10;
    const auto& text = columns[static_cast<std::size_t>(column)];
    if (text.size() != 2 || !all_digits(text) || digits_value(text) != expected) return "addition: column " + std::to_string(column);
    total += (expected % 10) * ten_to(column);
    carry = expected / 10;
  }
  if (carry != 0) return "addition: carry out of the last column";
  if (addition[2] != answer || total != a * b) return "addition: result differs from the answer";
  return "";
}

bool uses_only_alphabet(std::string text) {
  for (const auto tag : r1::kPaddedMultiplicationTags) {
    for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag)) text.erase(at, tag.size());
  }
  return text.find_first_not_of(r1::kPaddedMultiplicationAlphabet) == std::string::npos;
}

// Evaluates a countdown witness: + - * / and parentheses over integers; division
// must be exact. Collects the numbers it reads.
struct WitnessEvaluator {
  explicit WitnessEvaluator(std::string_view expression_text) : text(expression_text) {}
  std::string_view text;
  std::size_t at = 0;
  std::vector<std::int64_t> used;
  bool ok = true;

  std::int64_t expression() {
    std::int64_t value = term();
    while (at < text.size() && (text[at] == '+' || text[at] == '-')) {
      const char op = text[at++];
      const std::int64_t right = term();
      value = op == '+' ? value + right : value - right;
    }
    return value;
  }
  std::int64_t term() {
    std::int64_t value = factor();
    while (at < text.size() && (text[at] == '*' || text[at] == '/')) {
      const char op = text[at++];
      const std::int64_t right = factor();
      if (op == '*') {
        value *= right;
      } else {
        if (right == 0 || value % right != 0) ok = false;
        value = right == 0 ? 0 : value / right;
      }
    }
    return value;
  }
  std::int64_t factor() {
    if (at < text.size() && text[at] == '(') {
      ++at;
      const std::int64_t value = expression();
      if (at >= text.size() || text[at] != ')') ok = false;
      ++at;
      return value;
    }
    std::int64_t value = 0;
    const std::size_t start = at;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) value = value * 10 + (text[at++] - '0');
    if (at == start) ok = false;
    used.push_back(value);
    return value;
  }
};

}  // namespace

TEST_CASE("FNV-1a 64 matches the published test vectors") {
  // Vectors from the FNV reference test suite (draft-eastlake-fnv, test_fnv.c).
  CHECK(r1::fnv1a_64("") == 0xcbf29ce484222325ull);
  CHECK(r1::fnv1a_64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(r1::fnv1a_64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("hash split holds out the configured share, depends only on identity and salt") {
  const r1::SplitRule rule{0.1, 7};
  int held_out = 0;
  constexpr int kIdentities = 100000;
  for (int i = 0; i < kIdentities; ++i) held_out += r1::split_of("problem " + std::to_string(i), rule) == r1::Split::held_out;
  // Binomial(1e5, 0.1): sd = sqrt(1e5 * 0.1 * 0.9) = 94.9; allow 5 sd = 475.
  CHECK(std::abs(held_out - 10000) < 475);
  CHECK(r1::split_of("x", {0.0, 0}) == r1::Split::train);
  CHECK(r1::split_of("x", {1.0, 0}) == r1::Split::held_out);
  CHECK_THROWS_AS(r1::split_of("x", {1.5, 0}), r1::Error);
  // A different salt gives a different partition (of 1000 identities, some move).
  int moved = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto identity = std::to_string(i);
    moved += r1::split_of(identity, {0.5, 1}) != r1::split_of(identity, {0.5, 2});
  }
  CHECK(moved > 300);  // independent halves: expected 500, sd 15.8
}

TEST_CASE("arithmetic problems: exact answers, configured digits and operations, disjoint splits") {
  const auto subtraction = r1::make_arithmetic_problem(12, '-', 40);
  CHECK(subtraction.prompt == "12-40=");
  CHECK(subtraction.answer == "-28");
  CHECK(r1::make_arithmetic_problem(999, '*', 99).answer == "98901");
  CHECK_THROWS_AS(r1::make_arithmetic_problem(1, '/', 2), r1::Error);

  const r1::ArithmeticConfig config{2, 3, "+*", {0.2, 0}};
  const auto train = r1::arithmetic_problems(config, r1::Split::train, 3000, 1);
  const auto held_out = r1::arithmetic_problems(config, r1::Split::held_out, 500, 2);
  REQUIRE(train.size() == 3000);
  REQUIRE(held_out.size() == 500);
  std::set<std::string> train_prompts, held_out_prompts;
  for (const auto* set : {&train, &held_out}) {
    for (const auto& problem : *set) {
      const auto op_at = problem.prompt.find_first_of("+*");
      REQUIRE(op_at != std::string::npos);
      const std::string a = problem.prompt.substr(0, op_at);
      const std::string b = problem.prompt.substr(op_at + 1, problem.prompt.size() - op_at - 2);
      CHECK(a.size() >= 2);
      CHECK(a.size() <= 3);
      CHECK(b.size() >= 2);
      CHECK(b.size() <= 3);
      CHECK(a[0] != '0');
      const std::int64_t x = std::stoll(a), y = std::stoll(b);
      CHECK(problem.answer == std::to_string(problem.prompt[op_at] == '+' ? x + y : x * y));
    }
  }
  for (const auto& problem : train) train_prompts.insert(problem.prompt);
  for (const auto& problem : held_out) {
    held_out_prompts.insert(problem.prompt);
    CHECK(train_prompts.count(problem.prompt) == 0);
    CHECK(r1::split_of(r1::problem_identity(problem), config.split) == r1::Split::held_out);
  }
  CHECK(train_prompts.size() == train.size());  // distinct by default
  CHECK(held_out_prompts.size() == held_out.size());

  // Deterministic per seed; another seed draws other problems.
  const auto again = r1::arithmetic_problems(config, r1::Split::held_out, 500, 2);
  const auto other = r1::arithmetic_problems(config, r1::Split::held_out, 500, 3);
  bool same = true, differs = false;
  for (std::size_t i = 0; i < 500; ++i) {
    same = same && again[i].prompt == held_out[i].prompt;
    differs = differs || other[i].prompt != held_out[i].prompt;
  }
  CHECK(same);
  CHECK(differs);
}

TEST_CASE("a split too small for the request is an error, not an endless loop") {
  // 1-digit additions: 100 problems, ~10 of them held out at 10%.
  const r1::ArithmeticConfig tiny{1, 1, "+", {0.1, 0}};
  CHECK_THROWS_WITH_AS(r1::arithmetic_problems(tiny, r1::Split::held_out, 50, 1),
                       doctest::Contains("held_out problems found"), r1::Error);
  CHECK_THROWS_AS(r1::arithmetic_problems({0, 2, "+", {}}, r1::Split::train, 1, 1), r1::Error);
  CHECK_THROWS_AS(r1::arithmetic_problems({1, 2, "/", {}}, r1::Split::train, 1, 1), r1::Error);
  CHECK_THROWS_AS(r1::arithmetic_problems({1, 2, "+", {0.0, 0}}, r1::Split::held_out, 1, 1), r1::Error);
}

TEST_CASE("countdown problems are solvable: the witness uses each number once and reaches the target") {
  const r1::CountdownConfig config{4, 1, 99, 1, 100, {0.1, 0}};
  const auto train = r1::countdown_problems(config, r1::Split::train, 2000, 11);
  const auto held_out = r1::countdown_problems(config, r1::Split::held_out, 300, 12);
  std::set<std::string> train_identities;
  for (const auto& problem : train) train_identities.insert(r1::problem_identity(problem));
  for (const auto* set : {&train, &held_out}) {
    for (const auto& problem : *set) {
      REQUIRE(problem.numbers.size() == 4);
      CHECK(problem.target >= 1);
      CHECK(problem.target <= 100);
      for (const auto number : problem.numbers) {
        CHECK(number >= 1);
        CHECK(number <= 99);
      }
      const auto witness = problem.extra["witness"].get<std::string>();
      WitnessEvaluator evaluator{witness};
      const std::int64_t value = evaluator.expression();
      CHECK(evaluator.ok);
      CHECK(evaluator.at == evaluator.text.size());
      CHECK(value == problem.target);
      auto used = evaluator.used, numbers = problem.numbers;
      std::sort(used.begin(), used.end());
      std::sort(numbers.begin(), numbers.end());
      CHECK(used == numbers);
      CHECK(problem.prompt.find("equals " + std::to_string(problem.target) + ".") != std::string::npos);
    }
  }
  for (const auto& problem : held_out) CHECK(train_identities.count(r1::problem_identity(problem)) == 0);

  // The identity ignores the listing order of the numbers.
  CHECK(r1::problem_identity(r1::make_countdown_problem({5, 3}, 8, "5+3")) ==
        r1::problem_identity(r1::make_countdown_problem({3, 5}, 8, "3+5")));
  CHECK_THROWS_AS(r1::countdown_problems({1, 1, 99, 1, 100, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("padded multiplication: the worked example of the header") {
  const r1::PaddedMultiplication problem{3, 2, 43, 75};
  CHECK(problem.prompt() == "043*75=");
  CHECK(problem.answer() == "03225");  // 43 * 75 = 3225, padded to 3 + 2 digits
  CHECK(problem.direct_completion() == "<think></think><answer>03225</answer>");
  // By hand: 3*5=15 (carry 1), 4*5+1=21 (carry 2), 0*5+2=02 -> 0215 = 43*5;
  // 3*7=21 (carry 2), 4*7+2=30 (carry 3), 0*7+3=03 -> 0301 = 43*7;
  // 00215 + 03010: columns 5+0=05, 1+1=02, 2+0=02, 0+3=03, 0+0=00 -> 03225.
  CHECK(problem.scratchpad_completion() ==
        "<think>5*043=15,21,02=0215;7*043=21,30,03=0301;00215+03010=05,02,02,03,00=03225</think>"
        "<answer>03225</answer>");
  const auto parsed = r1::PaddedMultiplication::parse("043*75=");
  CHECK(parsed.a() == 43);
  CHECK(parsed.b() == 75);
  CHECK(parsed.a_digits() == 3);
  CHECK_THROWS_AS(r1::PaddedMultiplication::parse("43x75="), r1::Error);
  CHECK_THROWS_AS(r1::PaddedMultiplication::parse("*75="), r1::Error);
  CHECK_THROWS_AS(r1::PaddedMultiplication(3, 2, 1000, 5), r1::Error);
  const auto as_problem = problem.problem();
  CHECK(as_problem.prompt == "043*75=");
  CHECK(as_problem.answer == "03225");
}

TEST_CASE("padded multiplication scratchpad is correct for every 3x2 problem and short") {
  int failures = 0;
  std::string first_failure;
  std::size_t longest = 0;
  for (std::int64_t a = 0; a < 1000; ++a) {
    for (std::int64_t b = 0; b < 100; ++b) {
      const r1::PaddedMultiplication problem{3, 2, a, b};
      const auto completion = problem.scratchpad_completion();
      longest = std::max(longest, completion.size());
      auto error = scratchpad_error(completion, a, b, 3, 2);
      if (error.empty() && !uses_only_alphabet(problem.prompt() + completion)) error = "character outside the alphabet";
      if (!error.empty() && failures++ == 0) first_failure = problem.prompt() + " " + completion + ": " + error;
    }
  }
  INFO(first_failure);
  CHECK(failures == 0);
  // The checker itself catches a wrong step: change one digit of the first partial product step.
  const r1::PaddedMultiplication sample{3, 2, 43, 75};
  std::string corrupted = sample.scratchpad_completion();
  corrupted[std::string("<think>5*043=1").size()] = '6';  // "15" -> "16"
  CHECK(scratchpad_error(corrupted, 43, 75, 3, 2) != "");
  // Whole completion, tags included: 7 + 72 (scratchpad) + 16 + 5 + 9 = 109 characters.
  CHECK(longest == 109);
}

TEST_CASE("padded multiplication scratchpad is correct for other shapes (random problems)") {
  for (const auto& [a_digits, b_digits] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}, {4, 4}, {9, 9}, {5, 1}}) {
    r1::Philox random{static_cast<std::uint64_t>(a_digits * 10 + b_digits)};
    int failures = 0;
    std::string first_failure;
    for (int i = 0; i < 2000; ++i) {
      const auto problem = r1::draw_padded_multiplication({a_digits, b_digits, {}}, random);
      const auto error = scratchpad_error(problem.scratchpad_completion(), problem.a(), problem.b(), a_digits, b_digits);
      if (!error.empty() && failures++ == 0) first_failure = problem.prompt() + ": " + error;
    }
    INFO(a_digits, "x", b_digits, ": ", first_failure);
    CHECK(failures == 0);
  }
  // Extremes: all nines carry everywhere.
  const r1::PaddedMultiplication nines{9, 9, 999999999, 999999999};
  CHECK(scratchpad_error(nines.scratchpad_completion(), 999999999, 999999999, 9, 9) == "");
}

TEST_CASE("padded multiplication splits and the pretraining corpus") {
  const r1::PaddedMultiplicationConfig task{3, 2, {0.1, 0}};
  const auto held_out = r1::padded_multiplication_problems(task, r1::Split::held_out, 600, 5);
  std::set<std::string> held_out_prompts;
  for (const auto& problem : held_out) held_out_prompts.insert(problem.prompt);
  CHECK(held_out_prompts.size() == 600);

  const r1::MultiplicationCorpusConfig corpus_config{task, 0.1};
  const auto corpus = r1::multiplication_pretraining_corpus(corpus_config, 20000, 9);
  REQUIRE(corpus.size() == 20000);
  int scratchpads = 0;
  for (const auto& example : corpus) {
    CHECK(held_out_prompts.count(example.prompt) == 0);
    CHECK(r1::split_of("padded_multiplication:" + example.prompt, task.split) == r1::Split::train);
    const auto problem = r1::PaddedMultiplication::parse(example.prompt);
    CHECK(example.completion == (example.scratchpad ? problem.scratchpad_completion() : problem.direct_completion()));
    scratchpads += example.scratchpad;
  }
  // Binomial(20000, 0.1): sd = sqrt(20000 * 0.09) = 42.4; allow 5 sd = 212.
  CHECK(std::abs(scratchpads - 2000) < 212);
  CHECK_THROWS_AS(r1::multiplication_pretraining_corpus({task, 1.5}, 10, 1), r1::Error);
}

TEST_CASE("JSONL datasets with TRL-style columns") {
  r1::test::ScratchDir dir{"dataset"};
  const auto path = dir.write("data.jsonl",
                              R"({"prompt": "What is 2+3?", "answer": "5", "id": 7})"
                              "\n"
                              R"({"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2*3?"}], "solution": 6})"
                              "\n\n"
                              R"({"prompt": "Reach 24", "numbers": [3, 5, 7, 9], "target": 24, "language": "en"})"
                              "\n"
                              R"({"prompt": "Add", "tests": [{"input": "1 2", "output": "3"}], "answer": null, "solution": "x"})"
                              "\n");
  const auto problems = r1::load_jsonl_problems(path);
  REQUIRE(problems.size() == 4);
  CHECK(problems[0].prompt == "What is 2+3?");
  CHECK(problems[0].answer == "5");
  CHECK(problems[0].extra["id"] == 7);
  CHECK(problems[1].prompt == "2*3?");
  CHECK(problems[1].answer == "6");  // a number answer becomes its JSON text
  CHECK(problems[1].extra["prompt_messages"].size() == 2);
  CHECK(problems[2].numbers == std::vector<std::int64_t>{3, 5, 7, 9});
  CHECK(problems[2].target == 24);
  CHECK(problems[2].language == "en");
  CHECK(problems[3].answer == "x");  // a null answer column falls through to solution
  CHECK(problems[3].tests[0]["output"] == "3");

  // Renamed columns.
  const auto renamed = dir.write("renamed.jsonl", R"({"question": "1+1", "gold": "2"})" "\n");
  r1::JsonlColumns columns;
  columns.prompt = "question";
  columns.answer = {"gold"};
  const auto renamed_problems = r1::load_jsonl_problems(renamed, columns);
  REQUIRE(renamed_problems.size() == 1);
  CHECK(renamed_problems[0].prompt == "1+1");
  CHECK(renamed_problems[0].answer == "2");

  // Round trip through save.
  const auto saved = dir.file("saved.jsonl");
  r1::save_jsonl_problems(saved, problems);
  const auto reloaded = r1::load_jsonl_problems(saved);
  REQUIRE(reloaded.size() == problems.size());
  for (std::size_t i = 0; i < problems.size(); ++i) {
    CHECK(reloaded[i].prompt == problems[i].prompt);
    CHECK(reloaded[i].answer == problems[i].answer);
    CHECK(reloaded[i].numbers == problems[i].numbers);
    CHECK(reloaded[i].target == problems[i].target);
    CHECK(reloaded[i].tests == problems[i].tests);
  }
}

TEST_CASE("JSONL dataset errors name the file, line and column") {
  r1::test::ScratchDir dir{"dataset_errors"};
  const auto expect_error = [&](const std::string& line, const std::string& message) {
    const auto path = dir.write("bad.jsonl", "{\"prompt\": \"ok\"}\n" + line + "\n");
    CHECK_THROWS_WITH_AS(r1::load_jsonl_problems(path), doctest::Contains(message.c_str()), r1::Error);
  };
  expect_error(R"({"answer": "5"})", "bad.jsonl:line 2: missing column 'prompt'");
  expect_error(R"({"prompt": 5})", "line 2: column 'prompt' must be a string or a list");
  expect_error(R"({"prompt": [{"role": "system", "content": "x"}]})", "has no message with role \"user\"");
  expect_error(R"({"prompt": [{"role": "user"}]})", "prompt[0]: missing field 'content'");
  expect_error(R"({"prompt": "x", "numbers": [1, 2.5]})", "line 2: numbers[1] must be an integer, got 2.5");
  expect_error(R"({"prompt": "x", "numbers": 3})", "column 'numbers' must be a list of integers");
  expect_error(R"({"prompt": "x", "target": "24"})", "column 'target' must be an integer");
  expect_error(R"({"prompt": "x", "answer": [1]})", "column 'answer' must be a string or a number");
  expect_error(R"([1, 2])", "line 2: expected a JSON object");
}
