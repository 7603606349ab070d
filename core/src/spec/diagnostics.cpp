#include <boost/json.hpp>

#include "voidbox/spec_parser.hpp"

namespace voidbox::spec {

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = d.file.empty() ? std::string("<spec>") : d.file;
  if (d.line > 0) out += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  out += ": ";
  if (d.severity == Severity::warning) out += "warning: ";
  if (!d.field_path.empty()) out += d.field_path + ": ";
  return out + d.message;
}

std::string diagnostics_to_json(const Diagnostics& diagnostics) {
  boost::json::array list;
  for (const Diagnostic& d : diagnostics) {
    list.push_back(
        boost::json::object{{"file", d.file},
                            {"line", d.line},
                            {"column", d.column},
                            {"field_path", d.field_path},
                            {"severity", d.severity == Severity::error ? "error" : "warning"},
                            {"message", d.message}});
  }
  return boost::json::serialize(list);
}

}  // namespace voidbox::spec
