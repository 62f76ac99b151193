#pragma once
// Problems from a JSONL file with TRL-style columns, one problem a line:
//   {"prompt": "What is 2+3?", "answer": "5"}
//   {"prompt": [{"role": "user", "content": "What is 2+3?"}], "solution": "5"}
//   {"prompt": "...", "numbers": [3, 5, 7], "target": 24}
//   {"prompt": "...", "tests": [{"input": "1", "output": "2"}]}
// Column names are configurable. A conversational prompt (a list of messages)
// becomes the content of its last "user" message, and the list is kept in
// extra["prompt_messages"]; every column not mapped is kept in extra under its name.
//
//   auto problems = r1::load_jsonl_problems("gsm8k.jsonl", {.answer = {"solution"}});
//   auto held_out = r1::select_split(problems, r1::Split::held_out, {.held_out_fraction = 0.05});
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct JsonlColumns {
  std::string prompt = "prompt";
  std::vector<std::string> answer = {"answer", "solution"};  // the first one present is the gold answer
  std::string tests = "tests";
  std::string numbers = "numbers";
  std::string target = "target";
  std::string language = "language";
};

namespace detail {
inline bool has_column(const Json& record, const std::string& column) {
  const auto it = record.find(column);
  return it != record.end() && !it->is_null();
}

inline std::string prompt_text(const Json& value, std::string_view column, std::string_view where) {
  if (value.is_string()) return value.get<std::string>();
  require(value.is_array(), where, ": column '", column, "' must be a string or a list of {role, content} messages, got ",
          value.type_name());
  const Json* last_user = nullptr;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& message = value[i];
    const std::string message_where = std::string(where) + ": " + std::string(column) + "[" + std::to_string(i) + "]";
    require(message.is_object(), message_where, ": expected a {role, content} object");
    const auto role = json_field<std::string>(message, "role", message_where);
    json_field<std::string>(message, "content", message_where);  // checks it is a string
    if (role == "user") last_user = &message;
  }
  require(last_user != nullptr, where, ": column '", column, "' has no message with role \"user\"");
  return (*last_user)["content"].get<std::string>();
}

inline std::string answer_text(const Json& value, std::string_view column, std::string_view where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_number_float()) return value.dump();
  fail(where, ": column '", column, "' must be a string or a number, got ", value.type_name());
}

inline std::int64_t integer_value(const Json& value, std::string_view what, std::string_view where) {
  require(value.is_number_integer() || value.is_number_unsigned(), where, ": ", what, " must be an integer, got ",
          value.dump());
  require(!value.is_number_unsigned() || value.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX), where,
          ": ", what, " does not fit in 64 bits");
  return value.get<std::int64_t>();
}
}  // namespace detail

// One record (a JSON object) as a Problem; `where` names it in errors ("data.jsonl:line 7").
inline Problem problem_from_json(const Json& record, const JsonlColumns& columns, std::string_view where) {
  require(record.is_object(), where, ": expected a JSON object, got ", record.type_name());
  Problem problem;
  require(detail::has_column(record, columns.prompt), where, ": missing column '", columns.prompt, "'");
  const Json& prompt = record[columns.prompt];
  problem.prompt = detail::prompt_text(prompt, columns.prompt, where);
  problem.extra = Json::object();
  if (prompt.is_array()) problem.extra["prompt_messages"] = prompt;

  std::vector<std::string> mapped = {columns.prompt, columns.tests, columns.numbers, columns.target, columns.language};
  for (const auto& column : columns.answer) {
    mapped.push_back(column);
    if (problem.answer.empty() && detail::has_column(record, column)) {
      problem.answer = detail::answer_text(record[column], column, where);
    }
  }
  if (detail::has_column(record, columns.tests)) problem.tests = record[columns.tests];
  if (detail::has_column(record, columns.numbers)) {
    const Json& numbers = record[columns.numbers];
    require(numbers.is_array(), where, ": column '", columns.numbers, "' must be a list of integers, got ",
            numbers.type_name());
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      problem.numbers.push_back(
          detail::integer_value(numbers[i], columns.numbers + "[" + std::to_string(i) + "]", where));
    }
  }
  if (detail::has_column(record, columns.target)) {
    problem.target = detail::integer_value(record[columns.target], "column '" + columns.target + "'", where);
  }
  if (detail::has_column(record, columns.language)) {
    const Json& language = record[columns.language];
    require(language.is_string(), where, ": column '", columns.language, "' must be a string, got ",
            language.type_name());
    problem.language = language.get<std::string>();
  }
  for (const auto& [name, value] : record.items()) {
    bool is_mapped = false;
    for (const auto& column : mapped) is_mapped = is_mapped || column == name;
    if (!is_mapped) problem.extra[name] = value;
  }
  return problem;
}

// The record a Problem is written as (inverse of problem_from_json for string prompts).
inline Json problem_to_json(const Problem& problem, const JsonlColumns& columns = {}) {
  Json record = Json::object();
  if (problem.extra.is_object()) {
    for (const auto& [name, value] : problem.extra.items()) {
      if (name != "prompt_messages") record[name] = value;
    }
    if (problem.extra.contains("prompt_messages")) record[columns.prompt] = problem.extra["prompt_messages"];
  }
  if (!record.contains(columns.prompt)) record[columns.prompt] = problem.prompt;
  if (!problem.answer.empty() && !columns.answer.empty()) record[columns.answer.front()] = problem.answer;
  if (!problem.numbers.empty()) {
    record[columns.numbers] = problem.numbers;
    record[columns.target] = problem.target;
  }
  if (!problem.tests.is_null()) record[columns.tests] = problem.tests;
  if (!problem.language.empty()) record[columns.language] = problem.language;
  return record;
}

// Every problem of a JSONL file, in file order.
inline std::vector<Problem> load_jsonl_problems(const std::string& path, const JsonlColumns& columns = {},
                                                std::size_t max_line_bytes = kDefaultJsonlMaxLineBytes) {
  std::vector<Problem> problems;
  for_each_jsonl(
      path, [&](const Json& record, const std::string& where) { problems.push_back(problem_from_json(record, columns, where)); },
      max_line_bytes);
  return problems;
}

// Writes problems as JSONL (e.g. a generated task set, for other tools to read).
inline void save_jsonl_problems(const std::string& path, const std::vector<Problem>& problems,
                                const JsonlColumns& columns = {}) {
  JsonlWriter writer{path};
  for (const auto& problem : problems) writer.write(problem_to_json(problem, columns));
}

}  // namespace r1
