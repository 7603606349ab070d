#include "spec/suggest.hpp"

#include <algorithm>
#include <vector>

namespace voidbox::spec::detail {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Field names are short; the O(n*m) two-row table is plenty.
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates) {
  if (word.empty()) return std::nullopt;
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (std::string_view candidate : candidates) {
    std::size_t distance = edit_distance(word, candidate);
    // Allow roughly one typo per three characters, at least two.
    std::size_t limit = std::max<std::size_t>(2, candidate.size() / 3);
    bool prefix = word.size() >= 3 && candidate.starts_with(word);
    if (distance > limit && !prefix) continue;
    if (prefix) distance = std::min(distance, limit);
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  auto match = closest_match(word, candidates);
  if (!match) return {};
  return " (did you mean '" + std::string(*match) + "'?)";
}

std::string join_alternatives(std::span<const std::string_view> values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += (i + 1 == values.size()) ? " or " : ", ";
    out += values[i];
  }
  return out;
}

}  // namespace voidbox::spec::detail
