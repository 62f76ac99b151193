#pragma once
// JSON helpers over nlohmann::json whose errors name the file and field.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"

namespace r1 {

using Json = nlohmann::json;

// The one place r1 calls nlohmann's parser: everything it throws (parse_error,
// and out_of_range for a number too large for a double such as 1e999) becomes an
// r1::Error naming `where` ("stdin line 3", "model.safetensors: header").
// Nesting is bounded before parsing: nlohmann's parser is iterative, but copying,
// comparing, dumping and destroying a value recurse once per level, so a file of
// a million '[' would overflow the stack later, far from its cause.
inline Json parse_json(std::string_view text, std::string_view where) {
  constexpr int kMaxDepth = 512;  // HF files nest under 10 levels
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      require(++depth <= kMaxDepth, where, ": malformed JSON: nested deeper than ", kMaxDepth, " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    fail(where, ": malformed JSON: ", e.what());
  }
}

// Parses a whole file; `path` names it in errors.
inline Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path, ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path);
}

namespace detail {
template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

// A value as it appears in an error: short, so a megabyte array does not flood the message.
inline std::string json_excerpt(const Json& value) {
  constexpr std::size_t kMaxChars = 80;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return text;
}
}  // namespace detail

// `value` converted to T; `what` names it in errors ("config.json: field 'group_size'").
// nlohmann's own conversions are unchecked: a float or an out-of-range integer
// becomes an int by static_cast (undefined for 1e10, truncation for 2.5,
// wrapping for 4294967297) and true becomes 1. So, for numbers:
//  - bool wants a JSON boolean;
//  - an integer type wants a JSON integer within the type's range. A float is
//    refused even when its value is integral (4.0): configs written by Python
//    and HF write integers as integers, a float in an integer field is a
//    mistake, and a double cannot hold every int64 exactly;
//  - float and double want a JSON number (integer or float) that is finite in
//    the target type (1e300 is refused for a float).
// A std::vector of such types is checked element by element; anything else goes
// through nlohmann's conversion, its type errors reported as r1::Error.
template <class T>
T json_value(const Json& value, std::string_view what) {
  const auto wrong_type = [&](const auto& expected) {
    fail(what, " has the wrong type (", value.type_name(), "): expected ", expected, ", got ",
         detail::json_excerpt(value));
  };
  const auto out_of_range = [&](const auto& expected) {
    fail(what, " is out of range: expected ", expected, ", got ", detail::json_excerpt(value));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) wrong_type("true or false");
    return value.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    const auto expected = detail::concat("an integer in [", +std::numeric_limits<T>::min(), ", ",
                                         +std::numeric_limits<T>::max(), "]");
    if (!value.is_number_integer()) wrong_type(expected);  // also true for unsigned
    const bool in_range = value.is_number_unsigned() ? std::in_range<T>(value.get<std::uint64_t>())
                                                     : std::in_range<T>(value.get<std::int64_t>());
    if (!in_range) out_of_range(expected);
    return value.is_number_unsigned() ? static_cast<T>(value.get<std::uint64_t>())
                                      : static_cast<T>(value.get<std::int64_t>());
  } else if constexpr (std::is_floating_point_v<T>) {
    // is_number() is false for booleans; the parser never yields inf or NaN (1e999 fails there),
    // but a Json built in code may hold them.
    if (!value.is_number()) wrong_type("a finite number");
    if (!(std::abs(value.get<double>()) <= std::numeric_limits<T>::max())) out_of_range("a finite number");
    return static_cast<T>(value.get<double>());
  } else if constexpr (detail::is_std_vector<T>::value &&
                       (std::is_arithmetic_v<typename T::value_type> &&
                        !std::is_same_v<typename T::value_type, bool>)) {
    if (!value.is_array()) wrong_type("an array");
    T out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i)
      out.push_back(json_value<typename T::value_type>(value[i], detail::concat(what, "[", i, "]")));
    return out;
  } else {
    try {
      return value.template get<T>();
    } catch (const Json::exception& e) {
      fail(what, " has the wrong type (", value.type_name(), "): ", e.what());
    }
  }
}

// object[field] converted to T (see json_value), or r1::Error naming `where` and the field.
template <class T>
T json_field(const Json& object, std::string_view field, std::string_view where) {
  require(object.is_object(), where, ": expected a JSON object");
  const auto it = object.find(field);
  require(it != object.end(), where, ": missing field '", field, "'");
  return json_value<T>(*it, detail::concat(where, ": field '", field, "'"));
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
