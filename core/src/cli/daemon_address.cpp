// g++ 12 reports a false -Wnull-dereference inside Boost.Program_options'
// variable_value::as<std::string> once inlined here.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "cli/daemon_address.hpp"

#include <boost/json.hpp>

#include "cli/cli_config.hpp"

namespace voidbox::cli {
namespace po = boost::program_options;

void add_daemon_options(po::options_description& options) {
  options.add_options()("daemon-socket", po::value<std::string>(), "the daemon's Unix socket")(
      "daemon-url", po::value<std::string>(), "unix:///PATH or tcp://HOST:PORT")(
      "daemon", po::value<std::string>(), "same as --daemon-url (the original's flag)")(
      "token-file", po::value<std::string>(),
      "bearer token for a TCP daemon (else VOIDBOX_DAEMON_TOKEN_FILE, VOIDBOX_DAEMON_TOKEN, "
      "~/.config/voidbox/daemon-token)");
}

std::expected<std::unique_ptr<daemon::DaemonClient>, std::string> daemon_client(
    const po::variables_map& vm) {
  auto env = process_env();
  std::string address;
  if (vm.count("daemon-socket")) {
    address = vm["daemon-socket"].as<std::string>();
  } else if (vm.count("daemon-url")) {
    address = vm["daemon-url"].as<std::string>();
  } else if (vm.count("daemon") && !vm["daemon"].as<std::string>().empty()) {
    address = vm["daemon"].as<std::string>();
  } else if (auto socket = env("VOIDBOX_DAEMON_SOCKET")) {
    address = *socket;
  } else {
    try {
      auto config = load_config(env);
      address = config.daemon_url.value_or(daemon::default_socket_path().string());
    } catch (const ConfigError& e) {
      return std::unexpected(std::string(e.what()));
    }
  }
  auto endpoint = daemon::parse_endpoint(address);
  if (!endpoint) return std::unexpected(endpoint.error());
  std::optional<std::string> token_file;
  if (vm.count("token-file")) token_file = vm["token-file"].as<std::string>();
  return std::make_unique<daemon::DaemonClient>(*endpoint, daemon::client_token(token_file));
}

std::string error_message(const daemon::ClientResponse& response) {
  boost::system::error_code ec;
  auto v = boost::json::parse(response.body, ec);
  if (!ec && v.is_object() && v.as_object().contains("message")) {
    const auto& o = v.as_object();
    std::string code =
        o.contains("code") && o.at("code").is_string() ? std::string(o.at("code").as_string()) : "";
    const auto& m = o.at("message");
    return (code.empty() ? "" : code + ": ") +
           (m.is_string() ? std::string(m.as_string()) : boost::json::serialize(m));
  }
  return "HTTP " + std::to_string(response.status) + ": " + response.body;
}

}  // namespace voidbox::cli
