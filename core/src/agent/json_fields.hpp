// Type-checked reads of JSON fields that came from the guest: a missing or
// mistyped field reads as absent, never as an exception or a bad cast.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace voidbox::agent::detail {

inline const boost::json::value* field(const boost::json::object& o, std::string_view key) {
  return o.if_contains(key);
}

inline std::optional<std::string_view> string_field(const boost::json::object& o,
                                                    std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

inline const boost::json::object* object_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

inline const boost::json::array* array_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

inline std::optional<bool> bool_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

// Non-negative integers only; a negative, fractional or huge value reads as absent.
inline std::optional<std::uint64_t> count_field(const boost::json::object& o,
                                                std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  if (v->is_double()) {
    const double d = v->get_double();
    if (d >= 0 && d < 9.0e15 && d == static_cast<double>(static_cast<std::uint64_t>(d))) {
      return static_cast<std::uint64_t>(d);
    }
  }
  return std::nullopt;
}

inline std::optional<double> number_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  double d = 0;
  if (v->is_double())
    d = v->get_double();
  else if (v->is_int64())
    d = static_cast<double>(v->get_int64());
  else if (v->is_uint64())
    d = static_cast<double>(v->get_uint64());
  else
    return std::nullopt;
  if (!(d >= 0) || d > std::numeric_limits<double>::max()) return std::nullopt;  // NaN, inf
  return d;
}

// Parses one line with bounded nesting; nullopt unless it is a JSON object.
inline std::optional<boost::json::object> parse_object(std::string_view line) {
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec, {}, options);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace voidbox::agent::detail
