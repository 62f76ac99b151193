#pragma once
// JSON helpers over nlohmann::json whose errors name the file and field.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include "r1/core/error.hpp"

namespace r1 {

using Json = nlohmann::json;

// Parses a whole file; `what` names it in errors.
inline Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path, ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e999
    fail(path, ": malformed JSON: ", e.what());
  }
}

// Parses `text`; `where` names the source ("stdin line 3").
inline Json parse_json(std::string_view text, std::string_view where) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e999
    fail(where, ": malformed JSON: ", e.what());
  }
}

// object[field] converted to T, or r1::Error naming `where` and the field.
template <class T>
T json_field(const Json& object, std::string_view field, std::string_view where) {
  require(object.is_object(), where, ": expected a JSON object");
  const auto it = object.find(field);
  require(it != object.end(), where, ": missing field '", field, "'");
  try {
    return it->template get<T>();
  } catch (const Json::exception& e) {
    fail(where, ": field '", field, "' has the wrong type (", it->type_name(), "): ", e.what());
  }
}

// object[field] converted to T when present, else `fallback`.
template <class T>
T json_field_or(const Json& object, std::string_view field, T fallback, std::string_view where) {
  if (!object.is_object() || !object.contains(field)) return fallback;
  return json_field<T>(object, field, where);
}

// Requires `object` to be a JSON object whose fields are all in `known`; an
// unknown field is an r1::Error naming `where` and the field, so a typo in a
// config file cannot be silently ignored.
inline void require_known_fields(const Json& object, std::initializer_list<std::string_view> known,
                                 std::string_view where) {
  require(object.is_object(), where, ": expected a JSON object");
  for (const auto& [key, value] : object.items())
    require(std::find(known.begin(), known.end(), key) != known.end(), where, ": unknown field '", key, "'");
}

}  // namespace r1
