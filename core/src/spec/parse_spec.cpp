// Entry points: text or file in, typed RunSpec (or every diagnostic) out.
//
// JSON goes through yaml-cpp too. Boost.JSON's DOM has no source positions,
// and every message here needs line:column. JSON is (for the documents a spec
// can be) a subset of YAML 1.2's flow syntax, and yaml-cpp records a mark on
// every node and keeps quoted and plain scalars apart, so one reader serves
// both formats. yaml-cpp is more lenient than JSON (comments, unquoted
// strings, trailing commas), so a JSON file is first checked by Boost.JSON's
// strict parser, whose stop offset becomes the line:column of a syntax error.
#include <boost/json/stream_parser.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "spec/field_tables.hpp"
#include "spec/reader.hpp"

namespace voidbox::spec {
namespace {

using detail::Reader;

// Specs are hand-written; anything this big is a mistake, not a spec.
constexpr std::size_t kMaxSpecBytes = 4 * 1024 * 1024;

Location location_at_offset(std::string_view text, std::size_t offset) {
  Location at{1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

bool check_json_syntax(Reader& r, std::string_view text) {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
    consumed = text.size();
  }
  if (!ec) return true;
  r.error(location_at_offset(text, consumed), "", "invalid JSON: " + ec.message());
  return false;
}

int hex_value(std::string_view hex) {
  int value = 0;
  for (char c : hex) {
    value <<= 4;
    if (c >= '0' && c <= '9')
      value |= c - '0';
    else if (c >= 'a' && c <= 'f')
      value |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      value |= c - 'A' + 10;
    else
      return -1;
  }
  return value;
}

// yaml-cpp rejects JSON's UTF-16 surrogate pairs ("\ud83d\ude00"); YAML
// spells that code point "\U0001f600". Only escapes inside strings are
// touched (the text is already known to be valid JSON). A rewritten escape is
// two characters shorter, so columns later on that line shift by two.
std::string rewrite_surrogate_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!in_string) {
      in_string = c == '"';
      out += c;
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == 'u' && i + 12 <= text.size() && text[i + 6] == '\\' &&
          text[i + 7] == 'u') {
        const int high = hex_value(text.substr(i + 2, 4));
        const int low = hex_value(text.substr(i + 8, 4));
        if (high >= 0xD800 && high <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
          const int code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
          char escape[11];
          std::snprintf(escape, sizeof escape, "\\U%08x", code);
          out += escape;
          i += 11;
          continue;
        }
      }
      out += c;
      out += text[++i];  // the escaped character, so "\\" and "\"" are skipped
      continue;
    }
    out += c;
  }
  return out;
}

Kind kind_from(const std::string& text) {
  if (text == "pipeline") return Kind::pipeline;
  if (text == "workflow") return Kind::workflow;
  if (text == "sandbox") return Kind::sandbox;
  return Kind::agent;
}

void parse_root(Reader& r, const YAML::Node& root, RunSpec& spec) {
  r.provenance().where[""] = Reader::location_of(root);
  r.fields(root, "", detail::kRunSpecFields, {"kind"},
           [&](std::string_view key, const YAML::Node& value, const std::string& path) {
             if (key == "api_version") {
               auto version = r.string(value, path);
               if (version && *version != "v1") {
                 r.error(value, path, "unsupported value '" + *version + "' (expected v1)");
               } else if (version) {
                 spec.api_version = *version;
               }
             } else if (key == "kind") {
               if (auto kind = r.choice(value, path, detail::kKinds)) spec.kind = kind_from(*kind);
             } else if (key == "name") {
               detail::assign(spec.name, r.string(value, path));
             } else if (key == "sandbox") {
               detail::parse_sandbox(r, value, path, spec.sandbox);
             } else if (key == "llm") {
               detail::parse_llm(r, value, path, spec.llm.emplace());
             } else if (key == "observe") {
               detail::parse_observe(r, value, path, spec.observe.emplace());
             } else if (key == "agent") {
               detail::parse_agent(r, value, path, spec.agent.emplace());
             } else if (key == "pipeline") {
               detail::parse_pipeline(r, value, path, spec.pipeline.emplace());
             } else if (key == "workflow") {
               detail::parse_workflow(r, value, path, spec.workflow.emplace());
             }
           });
}

}  // namespace

Format format_for_path(std::string_view path) {
  const std::size_t dot = path.find_last_of('.');
  const std::size_t slash = path.find_last_of('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return Format::json;
  }
  std::string extension(path.substr(dot + 1));
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == "yaml" || extension == "yml" ? Format::yaml : Format::json;
}

std::expected<LoadedSpec, Diagnostics> parse_spec(std::string_view text, Format format,
                                                  std::string_view source_name) {
  Reader r{std::string(source_name), format};
  if (text.size() > kMaxSpecBytes) {
    r.error(Location{}, "",
            "spec is too large (" + std::to_string(text.size()) + " bytes, limit " +
                std::to_string(kMaxSpecBytes) + ")");
    return std::unexpected(std::move(r.diagnostics()));
  }
  if (format == Format::json && !check_json_syntax(r, text)) {
    return std::unexpected(std::move(r.diagnostics()));
  }

  YAML::Node root;
  try {
    root = YAML::Load(format == Format::json ? rewrite_surrogate_escapes(text) : std::string(text));
  } catch (const YAML::Exception& e) {
    const Location at =
        e.mark.is_null() ? Location{} : Location{e.mark.line + 1, e.mark.column + 1};
    r.error(at, "",
            std::string(format == Format::json ? "invalid JSON: " : "invalid YAML: ") + e.msg);
    return std::unexpected(std::move(r.diagnostics()));
  }
  if (!root.IsDefined() || root.IsNull()) {
    r.error(Location{1, 1}, "", "spec is empty");
    return std::unexpected(std::move(r.diagnostics()));
  }

  RunSpec spec;
  spec.source_path = std::string(source_name);
  parse_root(r, root, spec);
  if (r.provenance().has_failed("")) {  // not a mapping: nothing to validate
    return std::unexpected(std::move(r.diagnostics()));
  }

  Diagnostics diagnostics = std::move(r.diagnostics());
  for (Diagnostic& d : detail::validate_with(spec, r.provenance(), std::string(source_name))) {
    diagnostics.push_back(std::move(d));
  }
  detail::sort_by_position(diagnostics);
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::error) return std::unexpected(std::move(diagnostics));
  }
  return LoadedSpec{std::move(spec), std::move(diagnostics)};
}

std::expected<LoadedSpec, Diagnostics> load_spec_file(const std::string& path) {
  auto fail = [&](std::string message) {
    return std::unexpected(Diagnostics{{path, 0, 0, "", std::move(message), Severity::error}});
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot read file: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return fail("cannot read file: not a regular file");
  if (static_cast<std::size_t>(size) > kMaxSpecBytes) {
    return fail("spec is too large (" + std::to_string(size) + " bytes, limit " +
                std::to_string(kMaxSpecBytes) + ")");
  }
  in.seekg(0);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), size)) return fail("cannot read file: read failed");
  return parse_spec(text, format_for_path(path), path);
}

}  // namespace voidbox::spec
