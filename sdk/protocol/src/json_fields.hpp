// Typed, bounds-checked access to JSON object fields for the message decoders.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <expected>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voidbox/protocol/messages.hpp"

namespace voidbox::protocol::detail {

using Obj = boost::json::object;

inline ProtocolError bad(std::string_view field, std::string_view what) {
  return ProtocolError{ErrorCode::BadRequest,
                       "field '" + std::string(field) + "': " + std::string(what)};
}

inline std::expected<Obj, ProtocolError> parse_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 16;
  boost::json::value v = boost::json::parse(text, ec, {}, opt);
  if (ec)
    return std::unexpected(ProtocolError{ErrorCode::BadRequest, "invalid JSON: " + ec.message()});
  if (!v.is_object())
    return std::unexpected(ProtocolError{ErrorCode::BadRequest, "payload is not a JSON object"});
  return std::move(v.as_object());
}

// Each reader leaves `out` untouched when the field is absent or null, so the
// struct default applies, and fails on a present value of the wrong type.
inline std::expected<void, ProtocolError> read(const Obj& o, std::string_view k, std::string& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) return std::unexpected(bad(k, "expected a string"));
  out.assign(v->as_string().data(), v->as_string().size());
  return {};
}

inline std::expected<void, ProtocolError> read(const Obj& o, std::string_view k, bool& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (!v->is_bool()) return std::unexpected(bad(k, "expected a boolean"));
  out = v->as_bool();
  return {};
}

inline std::expected<void, ProtocolError> read(const Obj& o, std::string_view k, double& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (v->is_double())
    out = v->as_double();
  else if (v->is_int64())
    out = static_cast<double>(v->as_int64());
  else if (v->is_uint64())
    out = static_cast<double>(v->as_uint64());
  else
    return std::unexpected(bad(k, "expected a number"));
  return {};
}

template <class Int>
requires std::is_integral_v<Int> std::expected<void, ProtocolError> read(const Obj& o,
                                                                         std::string_view k,
                                                                         Int& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (v->is_int64()) {
    const std::int64_t x = v->as_int64();
    if constexpr (std::is_signed_v<Int>) {
      if (x < std::numeric_limits<Int>::min() || x > std::numeric_limits<Int>::max())
        return std::unexpected(bad(k, "out of range"));
    } else {
      if (x < 0 || static_cast<std::uint64_t>(x) > std::numeric_limits<Int>::max())
        return std::unexpected(bad(k, "out of range"));
    }
    out = static_cast<Int>(x);
    return {};
  }
  if (v->is_uint64()) {
    const std::uint64_t x = v->as_uint64();
    if (x > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
      return std::unexpected(bad(k, "out of range"));
    out = static_cast<Int>(x);
    return {};
  }
  return std::unexpected(bad(k, "expected an integer"));
}

template <class T>
std::expected<void, ProtocolError> read(const Obj& o, std::string_view k, std::optional<T>& out) {
  if (!o.if_contains(k) || o.at(k).is_null()) return {};
  T tmp{};
  auto r = read(o, k, tmp);
  if (!r) return r;
  out = tmp;
  return {};
}

inline std::expected<void, ProtocolError> read(const Obj& o, std::string_view k,
                                               std::vector<std::string>& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (!v->is_array()) return std::unexpected(bad(k, "expected an array of strings"));
  out.clear();
  out.reserve(v->as_array().size());
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return std::unexpected(bad(k, "expected an array of strings"));
    out.emplace_back(e.as_string().data(), e.as_string().size());
  }
  return {};
}

inline std::expected<void, ProtocolError> read(const Obj& o, std::string_view k,
                                               std::map<std::string, std::string>& out) {
  const auto* v = o.if_contains(k);
  if (!v || v->is_null()) return {};
  if (!v->is_object()) return std::unexpected(bad(k, "expected an object of strings"));
  out.clear();
  for (const auto& [key, val] : v->as_object()) {
    if (!val.is_string()) return std::unexpected(bad(k, "expected an object of strings"));
    out.emplace(std::string(key), std::string(val.as_string()));
  }
  return {};
}

inline boost::json::array to_array(const std::vector<std::string>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

inline boost::json::object to_object(const std::map<std::string, std::string>& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace voidbox::protocol::detail
