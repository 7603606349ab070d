// `voidbox serve`: the daemon. Runs specs submitted over HTTP, with their
// state in a SQLite store under the state directory, until SIGINT/SIGTERM.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <signal.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/cli_config.hpp"
#include "cli/verb.hpp"
#include "cli/verb_options.hpp"
#include "daemon/http_server.hpp"
#include "daemon/router.hpp"
#include "daemon/run_manager.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: voidbox serve [--listen unix:///PATH | --listen tcp://HOST:PORT --token-file FILE]\n"
    "                     [--state-dir DIR] [--backend auto|kvm|process] [--workers N]\n"
    "                     [--max-queue N]\n\n"
    "Runs the VoidBox daemon: an HTTP/1.1 API (POST /v1/runs, GET /v1/runs/{id}, its events,\n"
    "stages, outputs and artifacts, cancel, sessions) over a Unix socket, mode 0600, at\n"
    "$XDG_RUNTIME_DIR/voidbox.sock, else $TMPDIR/voidbox-$UID.sock, else /tmp/voidbox-$UID.sock.\n"
    "TCP is opt-in and always needs a bearer token: --token-file, VOIDBOX_DAEMON_TOKEN_FILE,\n"
    "VOIDBOX_DAEMON_TOKEN, or --generate-token (uses ~/.config/voidbox/daemon-token, created\n"
    "0600 when missing).\n\n"
    "Runs, events, stages and artifact manifests persist in STATE_DIR/voidbox.db (SQLite);\n"
    "outputs and artifacts are files under STATE_DIR/artifacts. A run left active by a daemon\n"
    "that died is failed with terminal_reason daemon_restarted on the next start.\n"
    "STATE_DIR: --state-dir, else paths.state_dir (VOIDBOX_STATE_DIR, config), else\n"
    "$VOIDBOX_HOME, else ~/.local/state/voidbox.\n";

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int run_serve(VerbContext& ctx) {
  po::options_description options("Options");
  options.add_options()("listen", po::value<std::string>(),
                        "unix:///PATH (default: see above) or tcp://HOST:PORT")(
      "token-file", po::value<std::string>(), "file holding the bearer token (TCP)")(
      "generate-token", "TCP: use ~/.config/voidbox/daemon-token, creating it if missing")(
      "state-dir", po::value<std::string>(), "where the run store and artifacts live")(
      "backend", po::value<std::string>()->default_value("auto"), "auto, kvm or process")(
      "workers", po::value<std::size_t>()->default_value(4), "runs executing at once")(
      "max-queue", po::value<std::size_t>()->default_value(64),
      "runs waiting for a worker; more get 429 TOO_MANY_REQUESTS")(
      "max-body-bytes", po::value<std::size_t>()->default_value(1024 * 1024),
      "largest request body; larger get 413 PAYLOAD_TOO_LARGE");
  po::variables_map vm;
  if (auto stop = parse_verb_options(ctx, ctx.args, kUsage, options, {}, vm)) return *stop;

  CliConfig config;
  try {
    config = load_config();
  } catch (const ConfigError& e) {
    ctx.err << "voidbox serve: " << e.what() << "\n";
    return kExitFailure;
  }
  daemon::ServerOptions server;
  auto endpoint = daemon::parse_endpoint(
      vm.count("listen") ? vm["listen"].as<std::string>() : daemon::default_socket_path().string());
  if (!endpoint) {
    ctx.err << "voidbox serve: --listen: " << endpoint.error() << "\n";
    return kExitUsage;
  }
  server.endpoint = *endpoint;
  server.body_limit = vm["max-body-bytes"].as<std::size_t>();
  if (server.endpoint.tcp) {
    std::optional<std::string> file;
    if (vm.count("token-file")) file = vm["token-file"].as<std::string>();
    auto token = daemon::server_token(file, vm.count("generate-token") > 0);
    if (!token) {
      ctx.err << "voidbox serve: " << token.error() << "\n";
      return kExitFailure;
    }
    server.token = *token;
  }

  // Blocked before any thread starts, so every thread inherits the mask
  // and the signals arrive only at sigwait below.
  sigset_t signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  daemon::ManagerOptions manager;
  manager.state_dir = vm.count("state-dir")
                          ? std::filesystem::path(vm["state-dir"].as<std::string>())
                          : state_dir_of(config, process_env());
  manager.backend = vm["backend"].as<std::string>();
  manager.workers = vm["workers"].as<std::size_t>();
  manager.max_queue = vm["max-queue"].as<std::size_t>();
  manager.kernel = config.kernel;
  manager.initramfs = config.initramfs;
  auto runs = daemon::RunManager::start(manager);
  if (!runs) {
    ctx.err << "voidbox serve: " << runs.error() << "\n";
    return kExitFailure;
  }
  daemon::Router router(**runs);
  auto http = daemon::HttpServer::start(server, router, **runs);
  if (!http) {
    ctx.err << "voidbox serve: " << http.error() << "\n";
    return kExitFailure;
  }
  const auto& recovered = (*runs)->recovered_runs();
  if (ctx.global.output == OutputFormat::json) {
    ctx.out << boost::json::serialize(
                   boost::json::object{{"event", "listening"},
                                       {"endpoint", (*http)->endpoint().to_string()},
                                       {"state_dir", manager.state_dir.string()},
                                       {"recovered_runs", recovered.size()}})
            << "\n"
            << std::flush;
  } else {
    ctx.err << "voidbox: listening on " << (*http)->endpoint().to_string() << " (state in "
            << manager.state_dir.string() << ")\n";
    if (!recovered.empty()) {
      ctx.err << "voidbox: " << recovered.size()
              << " run(s) left active by the previous daemon are now failed (daemon_restarted)\n";
    }
    ctx.err << std::flush;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  ctx.err << "voidbox: stopping (signal " << sig << ")\n";
  http->reset();
  runs->reset();
  return kExitOk;
}

}  // namespace voidbox::cli
