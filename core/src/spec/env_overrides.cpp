// VOIDBOX_LLM_* environment overrides, applied after parsing like the
// original's apply_llm_overrides_from_env, so one checked-in spec can be run
// against another provider or model.
#include <cctype>
#include <cstdlib>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec {

std::vector<EnvOverride> apply_env_overrides(RunSpec& spec, const EnvLookup& lookup) {
  struct Rule {
    const char* variable;
    const char* field_path;
    void (*apply)(Llm&, std::string);
  };
  static const Rule kRules[] = {
      {"VOIDBOX_LLM_PROVIDER", "llm.provider",
       [](Llm& llm, std::string value) {
         // The original matches providers case-insensitively.
         for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
         llm.provider = std::move(value);
       }},
      {"VOIDBOX_LLM_MODEL", "llm.model", [](Llm& llm, std::string value) { llm.model = value; }},
      {"VOIDBOX_LLM_BASE_URL", "llm.base_url",
       [](Llm& llm, std::string value) { llm.base_url = value; }},
      {"VOIDBOX_LLM_API_KEY_ENV", "llm.api_key_env",
       [](Llm& llm, std::string value) { llm.api_key_env = value; }},
  };
  std::vector<EnvOverride> applied;
  for (const Rule& rule : kRules) {
    std::optional<std::string> value = lookup(rule.variable);
    if (!value) continue;
    if (!spec.llm) spec.llm.emplace();  // provider defaults to claude
    rule.apply(*spec.llm, *value);
    applied.push_back({rule.variable, rule.field_path, *value});
  }
  return applied;
}

std::vector<EnvOverride> apply_env_overrides(RunSpec& spec) {
  return apply_env_overrides(spec, [](const std::string& name) -> std::optional<std::string> {
    if (const char* value = std::getenv(name.c_str())) return std::string(value);
    return std::nullopt;
  });
}

}  // namespace voidbox::spec
