// "Did you mean" suggestions and human lists of allowed values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace voidbox::spec::detail {

// Edit distance (insertions, deletions, substitutions), for typo detection.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a likely typo
// (or `word` is a prefix of it, e.g. "timeout" for "timeout_secs").
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// "a, b or c"
std::string join_alternatives(std::span<const std::string_view> values);

}  // namespace voidbox::spec::detail
