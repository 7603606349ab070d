#include "voidbox/runtime.hpp"

#include <mutex>
#include <string>
#include <vector>

#include "runtime/kind_runner.hpp"
#include "runtime/serial_observer.hpp"
#include "runtime/spec_mapping.hpp"
#include "runtime/telemetry_setup.hpp"

namespace voidbox {
namespace {

struct KindEntry {
  spec::Kind kind;
  const char* name;
  runtime::KindRunner runner;  // null: not supported yet
  const char* missing;         // what a missing runner needs
};

// Every kind of spec and who runs it. Adding a kind's runner is one entry.
constexpr KindEntry kKinds[] = {
    {spec::Kind::agent, "agent", runtime::run_agent_kind, ""},
    {spec::Kind::pipeline, "pipeline", runtime::run_pipeline_kind, ""},
    {spec::Kind::workflow, "workflow", runtime::run_workflow_kind, ""},
    {spec::Kind::sandbox, "sandbox", runtime::run_sandbox_kind, ""},
};

std::string supported_kinds() {
  std::string names;
  for (const auto& k : kKinds) {
    if (k.runner != nullptr) names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  return names;
}

Error not_supported(const KindEntry& k) {
  return Error{Error::Kind::not_supported,
               "kind '" + std::string(k.name) + "' is not supported yet: " + k.missing +
                   ". Supported kinds: " + supported_kinds(),
               std::nullopt};
}

}  // namespace

struct Runtime::Impl {
  RuntimeOptions options;
  std::mutex plugins_mu;

  // The plugins, scanned when the first sandbox needs them.
  const plugin::Registry& plugins() {
    std::lock_guard lock(plugins_mu);
    if (!options.plugins) {
      auto registry = std::make_shared<plugin::Registry>();
      registry->load_default();
      options.plugins = std::move(registry);
    }
    return *options.plugins;
  }

  Result<std::unique_ptr<Sandbox>> make(const SandboxConfig& config, const WarningSink& warn) {
    if (options.sandbox_factory) return options.sandbox_factory(config, warn);
    return Sandbox::create(config, plugins(), warn);
  }

  SandboxConfig from_spec(const spec::RunSpec& spec) const {
    SandboxConfig config = runtime::sandbox_config_for(spec, runtime::process_env);
    config.backend = options.backend;
    if (options.kernel) config.kernel = options.kernel;
    if (options.initramfs) config.initramfs = options.initramfs;
    config.state_root = options.state_root;
    return config;
  }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Runtime::~Runtime() = default;

const RuntimeOptions& Runtime::options() const {
  return impl_->options;
}

Result<RunResult> Runtime::run(const spec::RunSpec& spec, RunObserver& observer,
                               const RunOptions& options) {
  const KindEntry* entry = nullptr;
  for (const auto& k : kKinds) {
    if (k.kind == spec.kind) entry = &k;
  }
  if (entry == nullptr) {
    return std::unexpected(Error{Error::Kind::not_supported, "unknown kind", std::nullopt});
  }
  if (entry->runner == nullptr) return std::unexpected(not_supported(*entry));

  std::vector<std::string> warnings = runtime::unsupported_sandbox_fields(spec.sandbox);
  auto telemetry = runtime::RunTelemetry::start(
      spec, observer, [&]() -> const plugin::Registry& { return impl_->plugins(); }, warnings);
  runtime::SerialObserver events(telemetry ? telemetry->observer() : observer);
  events.on_run_started({spec.kind, runtime::run_name(spec)});
  for (const auto& warning : warnings) events.on_warning(warning);
  runtime::RunContext run{spec,
                          events,
                          options,
                          impl_->from_spec(spec),
                          [&](const SandboxConfig& config, const WarningSink& warn) {
                            return impl_->make(config, warn);
                          },
                          {}};
  if (telemetry) {
    run.traceparent = [&](const std::string& step) {
      return telemetry->observer().traceparent(step);
    };
  }
  auto result = entry->runner(run);
  if (telemetry && !result) telemetry->observer().on_run_error(result.error().message);
  return result;
}

Result<std::unique_ptr<Sandbox>> Runtime::create_sandbox(SandboxConfig config,
                                                         const WarningSink& warn) {
  if (config.backend.empty()) config.backend = impl_->options.backend;
  if (!config.kernel) config.kernel = impl_->options.kernel;
  if (!config.initramfs) config.initramfs = impl_->options.initramfs;
  if (!config.state_root) config.state_root = impl_->options.state_root;
  return impl_->make(config, warn);
}

Result<std::unique_ptr<Sandbox>> Runtime::create_sandbox(const spec::RunSpec& spec,
                                                         const WarningSink& warn) {
  for (const auto& warning : runtime::unsupported_sandbox_fields(spec.sandbox)) {
    if (warn) warn(warning);
  }
  return impl_->make(impl_->from_spec(spec), warn);
}

}  // namespace voidbox
