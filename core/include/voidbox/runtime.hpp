// The embedding entry point: a Runtime runs parsed specs and makes sandboxes.
//
//   voidbox::Runtime runtime(options);      // a voidbox::RuntimeOptions
//   MyObserver events;                       // a voidbox::RunObserver
//   auto result = runtime.run(spec, events);
//   if (!result) report(result.error());     // e.g. Error::Kind::not_supported
//
// run() dispatches on spec.kind: `sandbox` boots the sandbox, checks it
// answers and hands it to RunOptions::hold; `workflow` runs the steps as a
// DAG in one shared sandbox. A kind without a runner fails with
// Error::Kind::not_supported before any event.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "voidbox/error.hpp"
#include "voidbox/events.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/sandbox.hpp"
#include "voidbox/spec.hpp"

namespace voidbox {

// Makes the sandboxes a Runtime runs on; the default one uses backend
// plugins. An embedder (or a test) may supply its own.
using SandboxFactory =
    std::function<Result<std::unique_ptr<Sandbox>>(const SandboxConfig&, const WarningSink&)>;

struct RuntimeOptions {
  std::string backend = "auto";  // auto, kvm, process, or another backend plugin's name
  // Override the spec's (and the usual lookup's) guest kernel and initramfs.
  std::optional<std::string> kernel;
  std::optional<std::string> initramfs;
  // Where per-sandbox state directories go (see SandboxConfig::state_root).
  std::optional<std::filesystem::path> state_root;
  // Null: the default plugin search directories, scanned on first use.
  std::shared_ptr<const plugin::Registry> plugins;
  // Empty: sandboxes from backend plugins (Sandbox::create).
  SandboxFactory sandbox_factory;
};

struct RunOptions {
  std::optional<std::string> input;  // stdin of a workflow's first steps
  // kind: sandbox: called with the ready sandbox after on_run_finished; the
  // sandbox stops when it returns. Empty: it stops at once.
  std::function<void(Sandbox&)> hold;
  // kind: pipeline: where box outputs go (<run_dir>/outputs/<name>). Unset:
  // $VOIDBOX_RUN_DIR/<name>, else
  // ${XDG_DATA_HOME:-~/.local/share}/voidbox/runs/<name>-<time>-<pid>.
  std::optional<std::filesystem::path> run_dir;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The run's result: a workflow whose steps failed is a result with
  // success == false, not an Error.
  Result<RunResult> run(const spec::RunSpec& spec, RunObserver& observer,
                        const RunOptions& options = {});

  // A sandbox as the runtime would make it: unset backend, kernel,
  // initramfs and state_root come from the RuntimeOptions.
  Result<std::unique_ptr<Sandbox>> create_sandbox(SandboxConfig config,
                                                  const WarningSink& warn = {});
  // The sandbox a spec's `sandbox` block describes (memory, CPUs, network,
  // env with "" copied from this process's environment).
  Result<std::unique_ptr<Sandbox>> create_sandbox(const spec::RunSpec& spec,
                                                  const WarningSink& warn = {});

  const RuntimeOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace voidbox
