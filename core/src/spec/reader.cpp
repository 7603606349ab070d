#include "spec/reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "spec/suggest.hpp"

namespace voidbox::spec::detail {
namespace {

std::string child_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string position_text(Location at) {
  return std::to_string(at.line) + ":" + std::to_string(at.column);
}

bool is_bool_literal(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

bool is_int_literal(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_float_literal(const std::string& s) {
  if (s == ".inf" || s == "-.inf" || s == "+.inf" || s == ".nan" || s == ".NaN") return true;
  if (s.empty() || s.find_first_of("0123456789") == std::string::npos) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool is_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Location Provenance::find(std::string path) const {
  while (true) {
    if (auto it = where.find(path); it != where.end()) return it->second;
    if (path.empty()) return {};
    std::size_t cut = path.find_last_of(".[");
    path = cut == std::string::npos ? std::string() : path.substr(0, cut);
  }
}

Location Reader::location_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

void Reader::error(Location at, const std::string& path, std::string message) {
  diagnostics_.push_back({file_, at.line, at.column, path, std::move(message), Severity::error});
}

void Reader::error(const YAML::Node& at, const std::string& path, std::string message) {
  error(location_of(at), path, std::move(message));
  mark_failed(path);
}

void Reader::warning(Location at, const std::string& path, std::string message) {
  diagnostics_.push_back({file_, at.line, at.column, path, std::move(message), Severity::warning});
}

bool Reader::is_quoted(const YAML::Node& node) const {
  // yaml-cpp tags plain scalars "?" and quoted (or explicitly tagged) ones
  // with something else; plain scalars are subject to type resolution.
  return node.Tag() != "?";
}

std::string Reader::describe(const YAML::Node& node) const {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a sequence";
  std::string text = node.Scalar();
  if (!is_quoted(node) &&
      (is_bool_literal(text) || is_int_literal(text) || is_float_literal(text))) {
    return text;
  }
  // A message quotes the value to identify it, not to reproduce it.
  constexpr std::size_t kMaxQuoted = 60;
  if (text.size() > kMaxQuoted) text = text.substr(0, kMaxQuoted - 3) + "...";
  return "string \"" + text + "\"";
}

bool Reader::fields(const YAML::Node& node, const std::string& path,
                    std::span<const std::string_view> allowed,
                    std::initializer_list<std::string_view> required, const FieldVisitor& visit) {
  if (!node.IsMap()) {
    error(node, path, "expected a mapping, got " + describe(node));
    return false;
  }
  std::map<std::string, Location> seen;
  // Range-for, not it->first: yaml-cpp's iterator proxy trips g++ 12's
  // dangling-pointer warning.
  for (const auto& entry : node) {
    const YAML::Node& key_node = entry.first;
    const Location key_at = location_of(key_node);
    if (!key_node.IsScalar()) {
      error(key_at, path, "field names must be strings, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    const std::string field = child_path(path, key);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      error(key_at, field, "unknown field '" + key + "'" + did_you_mean(key, allowed));
      continue;
    }
    if (auto [first, inserted] = seen.emplace(key, key_at); !inserted) {
      error(key_at, field,
            "duplicate field '" + key + "' (first set at " + position_text(first->second) + ")");
      continue;
    }
    provenance_.where[field] = key_at;
    const YAML::Node& value = entry.second;
    const bool is_required = std::find(required.begin(), required.end(), key) != required.end();
    if (value.IsNull() && !is_required) continue;  // `x: null` means "not set"
    visit(key, value, field);
  }
  for (std::string_view name : required) {
    if (!seen.contains(std::string(name))) {
      error(location_of(node), child_path(path, name), "missing required field");
      mark_failed(child_path(path, name));
    }
  }
  return true;
}

std::optional<std::string> Reader::string(const YAML::Node& node, const std::string& path) {
  bool ok = node.IsScalar();
  if (ok && !is_quoted(node)) {
    const std::string& text = node.Scalar();
    // A YAML plain 300 is fine as a string (args: [sleep, 300]); JSON's types
    // are explicit, so a JSON number where a string belongs is a mistake.
    const bool number = is_int_literal(text) || is_float_literal(text);
    ok = !is_bool_literal(text) && !(number && format_ == Format::json);
  }
  if (!ok) {
    error(node, path, "expected a string, got " + describe(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::uint64_t> Reader::integer(const YAML::Node& node, const std::string& path,
                                             std::uint64_t minimum, std::uint64_t maximum) {
  if (!node.IsScalar() || is_quoted(node) || !is_int_literal(node.Scalar())) {
    error(node, path, "expected an integer, got " + describe(node));
    return std::nullopt;
  }
  std::string_view text = node.Scalar();
  if (text.front() == '-') {
    if (text.find_first_not_of("-0") != std::string_view::npos) {
      error(node, path, "must not be negative, got " + std::string(text));
      return std::nullopt;
    }
    text = "0";
  }
  if (text.front() == '+') text.remove_prefix(1);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > maximum) {
    error(node, path, "must be at most " + std::to_string(maximum) + ", got " + node.Scalar());
    return std::nullopt;
  }
  if (value < minimum) {
    error(node, path, "must be at least " + std::to_string(minimum) + ", got " + node.Scalar());
    return std::nullopt;
  }
  return value;
}

bool Reader::is_boolean(const YAML::Node& node) const {
  return node.IsScalar() && !is_quoted(node) && is_bool_literal(node.Scalar());
}

std::optional<bool> Reader::boolean(const YAML::Node& node, const std::string& path) {
  if (is_boolean(node)) {
    return lowercase(node.Scalar()) == "true";
  }
  error(node, path, "expected true or false, got " + describe(node));
  return std::nullopt;
}

std::optional<std::string> Reader::choice(const YAML::Node& node, const std::string& path,
                                          std::span<const std::string_view> values,
                                          bool ignore_case) {
  auto text = string(node, path);
  if (!text) return std::nullopt;
  const std::string wanted = ignore_case ? lowercase(*text) : *text;
  if (std::find(values.begin(), values.end(), wanted) != values.end()) return wanted;
  std::string message = "unknown value '" + *text + "' (expected " + join_alternatives(values);
  if (auto match = closest_match(wanted, values)) {
    message += "; did you mean '" + std::string(*match) + "'?";
  }
  error(node, path, message + ")");
  return std::nullopt;
}

bool Reader::sequence(
    const YAML::Node& node, const std::string& path,
    const std::function<void(const YAML::Node& item, const std::string& path)>& visit) {
  if (!node.IsSequence()) {
    error(node, path, "expected a sequence, got " + describe(node));
    return false;
  }
  std::size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    provenance_.where[item_path] = location_of(item);
    visit(item, item_path);
  }
  return true;
}

std::vector<std::string> Reader::string_list(const YAML::Node& node, const std::string& path) {
  std::vector<std::string> out;
  sequence(node, path, [&](const YAML::Node& item, const std::string& item_path) {
    if (auto value = string(item, item_path)) out.push_back(std::move(*value));
  });
  return out;
}

std::map<std::string, std::string> Reader::env_map(const YAML::Node& node,
                                                   const std::string& path) {
  std::map<std::string, std::string> out;
  if (!node.IsMap()) {
    error(node, path, "expected a mapping of variable names to values, got " + describe(node));
    return out;
  }
  for (const auto& entry : node) {
    const Location key_at = location_of(entry.first);
    const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
    const std::string field = path + "." + name;
    if (!is_env_name(name)) {
      error(key_at, field, "'" + name + "' is not a valid environment variable name");
      continue;
    }
    if (out.contains(name)) {
      error(key_at, field, "duplicate variable '" + name + "'");
      continue;
    }
    provenance_.where[field] = key_at;
    // An empty value (or a bare `KEY:`) means "copy it from the host".
    if (entry.second.IsNull()) {
      out[name] = "";
    } else if (auto value = string(entry.second, field)) {
      out[name] = std::move(*value);
    }
  }
  return out;
}

bool check_guest_path(Reader& r, const YAML::Node& node, const std::string& path,
                      const std::string& value) {
  if (value.starts_with('/')) return true;
  r.error(node, path, "guest path must be absolute, got '" + value + "'");
  return false;
}

}  // namespace voidbox::spec::detail
