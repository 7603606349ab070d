#include "cli/doctor.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/verb.hpp"
#include "runtime/guest_artifacts.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::cli {
namespace {

namespace fs = std::filesystem;

enum class Status { ok, note, warn, fail };

std::string_view status_name(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::note:
      return "note";
    case Status::warn:
      return "warn";
    case Status::fail:
      return "fail";
  }
  return "fail";
}

struct Check {
  std::string name;
  Status status;
  std::string detail;
  std::string remedy;  // empty when nothing needs doing
};

struct Artifact {
  std::optional<std::string> path;
  std::string origin;     // "VOID_BOX_KERNEL", "cache", ...
  std::string looked_in;  // for the message when nothing was found
  bool exists = false;
};

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

Status status_of(vb_check_result result) {
  switch (result) {
    case VB_CHECK_OK:
      return Status::ok;
    case VB_CHECK_NOTE:
      return Status::note;
    case VB_CHECK_WARN:
      return Status::warn;
    case VB_CHECK_FAIL:
      return Status::fail;
  }
  return Status::fail;
}

Artifact find_kernel(const DoctorOptions& o, const fs::path& cache) {
  Artifact a;
  if (auto env = o.getenv("VOID_BOX_KERNEL"); env && !env->empty()) {
    a.path = *env;
    a.origin = "VOID_BOX_KERNEL";
  } else if (auto k = runtime::newest_cached_kernel(cache / "kernels")) {
    a.path = k->string();
    a.origin = "cache";
  }
  a.looked_in =
      "VOID_BOX_KERNEL, " + (cache / "kernels").string() + "/<version>/vmlinux or vmlinuz";
  a.exists = a.path && is_file(*a.path);
  return a;
}

Artifact find_initramfs(const DoctorOptions& o, const fs::path& cache) {
  Artifact a;
  if (auto env = o.getenv("VOID_BOX_INITRAMFS"); env && !env->empty()) {
    a.path = *env;
    a.origin = "VOID_BOX_INITRAMFS";
  } else if (auto i = runtime::newest_cached_initramfs(cache / "images")) {
    a.path = i->string();
    a.origin = "cache";
  }
  a.looked_in = "VOID_BOX_INITRAMFS, " + (cache / "images").string();
  a.exists = a.path && is_file(*a.path);
  return a;
}

Check check_artifact(const std::string& name, const Artifact& a, const std::string& env,
                     const std::string& producer) {
  Check c{name, Status::ok, "", ""};
  if (!a.path) {
    c.status = Status::fail;
    c.detail = "no guest " + name + " found (looked in " + a.looked_in + ")";
    c.remedy = "run " + producer + ", or set " + env;
  } else if (!a.exists) {
    c.status = Status::fail;
    c.detail = *a.path + " (from " + a.origin + ") does not exist";
    c.remedy = a.origin == env ? "point " + env + " at an existing file, or unset it"
                               : "run " + producer + " again";
  } else {
    c.detail = *a.path + " (from " + a.origin + ")";
  }
  return c;
}

std::vector<Check> check_plugins(const DoctorOptions& o) {
  std::vector<Check> checks;
  if (!o.plugins_scanned) return checks;
  int loaded = 0;
  for (const auto& p : o.plugins) {
    if (p.ok) {
      ++loaded;
      continue;
    }
    checks.push_back(
        {"plugin", Status::warn,
         p.path + (p.name.empty() ? "" : " (" + p.name + ")") + " failed to load: " + p.reason,
         "rebuild or remove it; `voidbox plugins list` shows every plugin"});
  }
  Check summary{"plugins", Status::ok,
                std::to_string(loaded) + " loaded, " +
                    std::to_string(o.plugins.size() - static_cast<std::size_t>(loaded)) + " failed",
                ""};
  if (o.vm_backend_loaded && !*o.vm_backend_loaded) {
    summary.status = Status::fail;
    summary.detail += "; no VM backend (e.g. kvm) plugin loaded";
    summary.remedy = "build plugins/backend-kvm, or point VOIDBOX_PLUGIN_PATH at its directory";
  }
  checks.insert(checks.begin(), std::move(summary));
  return checks;
}

boost::json::value optional_string(const std::optional<std::string>& s) {
  if (s) return boost::json::value(*s);
  return nullptr;
}

}  // namespace

int run_doctor(const DoctorOptions& options_in, std::ostream& out) {
  DoctorOptions o = options_in;
  if (!o.getenv) {
    o.getenv = [](std::string_view name) -> std::optional<std::string> {
      const char* v = std::getenv(std::string(name).c_str());
      if (v == nullptr) return std::nullopt;
      return std::string(v);
    };
  }
  fs::path cache;
  if (auto xdg = o.getenv("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    cache = fs::path(*xdg) / "voidbox";
  } else if (auto home = o.getenv("HOME"); home && !home->empty()) {
    cache = fs::path(*home) / ".cache" / "voidbox";
  } else {
    cache = "/tmp/voidbox-cache";
  }
  const Artifact kernel = find_kernel(o, cache);
  const Artifact initramfs = find_initramfs(o, cache);

  std::vector<Check> checks;
  boost::json::object facts;  // the backends' raw observations, merged
  if (o.diagnose_backends) {
    for (const auto& report : o.diagnose_backends(kernel.exists ? *kernel.path : std::string())) {
      if (!report.error.empty()) {
        checks.push_back({report.backend, Status::fail, "diagnosis failed: " + report.error, ""});
      }
      for (const auto& c : report.checks) {
        checks.push_back({c.name, status_of(c.result), c.detail, c.remedy});
        if (c.facts_json.empty()) continue;
        boost::system::error_code ec;
        auto parsed = boost::json::parse(c.facts_json, ec);
        if (ec || !parsed.is_object()) continue;
        for (auto& [key, value] : parsed.as_object()) facts[key] = value;
      }
    }
  }
  checks.push_back(check_artifact("kernel", kernel, "VOID_BOX_KERNEL", "scripts/fetch-kernel.sh"));
  checks.push_back(
      check_artifact("initramfs", initramfs, "VOID_BOX_INITRAMFS", "scripts/build-guest-image.sh"));
  for (auto& c : check_plugins(o)) checks.push_back(std::move(c));

  int failures = 0;
  for (const auto& c : checks) failures += c.status == Status::fail ? 1 : 0;
  const bool bootable = failures == 0;

  if (o.json) {
    boost::json::array plugins;
    for (const auto& p : o.plugins) {
      plugins.push_back({{"path", p.path}, {"name", p.name}, {"ok", p.ok}, {"reason", p.reason}});
    }
    boost::json::array check_list;
    for (const auto& c : checks) {
      check_list.push_back({{"name", c.name},
                            {"status", status_name(c.status)},
                            {"detail", c.detail},
                            {"remedy", c.remedy}});
    }
    boost::json::object doc = std::move(facts);
    doc["vm_bootable"] = bootable;
    doc["kernel"] = {{"path", optional_string(kernel.path)},
                     {"origin", kernel.origin},
                     {"found", kernel.exists}};
    doc["initramfs"] = {{"path", optional_string(initramfs.path)},
                        {"origin", initramfs.origin},
                        {"found", initramfs.exists}};
    doc["plugins"] = std::move(plugins);
    doc["checks"] = std::move(check_list);
    out << boost::json::serialize(doc) << "\n";
    return bootable ? kExitOk : kExitFailure;
  }
  out << "voidbox doctor\n\n";
  for (const auto& c : checks) {
    std::string status(status_name(c.status));
    if (c.status == Status::fail) status = "FAIL";
    out << "  " << status << std::string(6 - status.size(), ' ') << c.name
        << std::string(c.name.size() < 11 ? 11 - c.name.size() : 1, ' ') << c.detail << "\n";
    if (!c.remedy.empty()) out << "        " << std::string(11, ' ') << "fix: " << c.remedy << "\n";
  }
  out << "\n";
  if (bootable) {
    out << "A VM can be booted here.\n";
  } else {
    out << "VMs cannot be booted here: " << failures << (failures == 1 ? " problem" : " problems")
        << " marked FAIL above.\n";
  }
  return bootable ? kExitOk : kExitFailure;
}

int run_doctor(VerbContext& ctx) {
  const std::string usage =
      "usage: voidbox doctor [--output human|json] [--json]\n\n"
      "Checks whether this host can boot VoidBox VMs: each VM backend's own host\n"
      "checks (KVM: hardware or PVM, vsock), the guest kernel and initramfs, plugins.\n"
      "Prints a fix for every problem.\n"
      "Exit status 0 only when a VM can be booted.\n";
  DoctorOptions o;
  o.json = ctx.global.output == OutputFormat::json;
  // Two flags do not need Boost.Program_options (whose typed values trip
  // GCC 12's -Wnull-dereference at -O2).
  for (std::size_t i = 0; i < ctx.args.size(); ++i) {
    const std::string& arg = ctx.args[i];
    std::string output;
    if (arg == "--help" || arg == "-h") {
      ctx.out << usage;
      return kExitOk;
    } else if (arg == "--json") {
      output = "json";
    } else if (arg == "--output" && i + 1 < ctx.args.size()) {
      output = ctx.args[++i];
    } else if (arg.starts_with("--output=")) {
      output = arg.substr(std::string_view("--output=").size());
    } else {
      ctx.err << "voidbox doctor: unexpected argument '" << arg << "'\n" << usage;
      return kExitUsage;
    }
    if (output != "json" && output != "human") {
      ctx.err << "voidbox doctor: --output must be human or json, not '" << output << "'\n";
      return kExitUsage;
    }
    o.json = output == "json";
  }

  plugin::Registry registry(/*log_failures=*/false);
  registry.load_default();
  for (const auto& p : registry.plugins()) {
    o.plugins.push_back({p.path.string(), p.name, true, ""});
  }
  for (const auto& f : registry.failures()) {
    o.plugins.push_back({f.path.string(), f.path.stem().string(), false, f.reason});
  }
  o.plugins_scanned = true;
  std::vector<plugin::BackendFactory> vm_backends;
  for (const auto& f : registry.factories()) {
    if (f.kind != VB_KIND_BACKEND) continue;
    auto backend = registry.backend(f.name);
    if (!backend) continue;
    // A backend built for ABI 1.0 cannot say whether it is a VM: not counted.
    if (auto caps = backend->capabilities(); caps && caps->vm) vm_backends.push_back(*backend);
  }
  o.vm_backend_loaded = !vm_backends.empty();
  o.diagnose_backends = [&](const std::string& kernel) {
    std::vector<BackendReport> reports;
    for (const auto& backend : vm_backends) {
      BackendReport report{backend.name(), {}, ""};
      if (auto checks = backend.diagnose(kernel)) {
        report.checks = std::move(*checks);
      } else {
        report.error = checks.error().message;
      }
      reports.push_back(std::move(report));
    }
    return reports;
  };
  return run_doctor(o, ctx.out);
}

}  // namespace voidbox::cli
