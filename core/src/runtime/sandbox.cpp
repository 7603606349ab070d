// The parts of the public Sandbox that every implementation shares.
#include "voidbox/sandbox.hpp"

#include "runtime/backend_sandbox.hpp"

namespace voidbox {

Result<std::unique_ptr<Sandbox>> Sandbox::create(const SandboxConfig& config,
                                                 const plugin::Registry& plugins,
                                                 const WarningSink& warn) {
  auto box = runtime::BackendSandbox::create(config, plugins, warn);
  if (!box) return std::unexpected(box.error());
  return std::unique_ptr<Sandbox>(std::move(*box));
}

Result<ExecResult> Sandbox::exec(const ExecRequest& request, ExecOutput output,
                                 std::optional<std::string> stdin_data) {
  ExecRequest r = request;
  if (stdin_data) r.stdin_open = true;
  auto session = start_exec(r, std::move(output));
  if (!session) return std::unexpected(session.error());
  if (stdin_data) {
    auto bytes =
        std::span(reinterpret_cast<const std::uint8_t*>(stdin_data->data()), stdin_data->size());
    // A command that exits without reading its stdin is not an error.
    if ((*session)->write_stdin(bytes)) (void)(*session)->close_stdin();
  }
  return (*session)->wait();
}

}  // namespace voidbox
