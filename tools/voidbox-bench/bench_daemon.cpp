// `voidbox-bench daemon`: the daemon's API costs, on an in-process daemon
// (Unix socket, SQLite store, process backend) in a temporary directory.
//
//  - requests per second of GET /v1/runs/{id} on a finished run, one
//    kept-alive connection per client, against GET /v1/health in the same
//    invocation (the transport's floor; the ratio is the store's cost);
//  - submit-to-first-event latency: POST /v1/runs, then the first event on
//    the run's server-sent event stream (p50/p99), and submit-to-finished.
#include <stdlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/daemon_client.hpp"
#include "daemon/http_server.hpp"
#include "daemon/router.hpp"
#include "daemon/run_manager.hpp"
#include "suite.hpp"

namespace voidbox::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

constexpr const char* kSpec = R"(api_version: v1
kind: workflow
name: bench
workflow:
  steps:
    - name: hello
      run:
        program: echo
        args: ["hello"]
)";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// Requests per second of `target` from `clients` threads, `per_client` each.
double rps(const daemon::Endpoint& at, const std::string& target, int clients, int per_client) {
  auto t = Clock::now();
  std::vector<std::jthread> threads;
  std::atomic<int> failures{0};
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      daemon::DaemonClient client(at, std::nullopt);
      for (int i = 0; i < per_client; ++i) {
        auto r = client.request("GET", target);
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  threads.clear();
  double secs = ms_since(t) / 1000.0;
  if (failures > 0) {
    std::cerr << "voidbox-bench daemon: " << failures << " requests failed\n";
    return -1;
  }
  return clients * per_client / secs;
}

std::string submit(daemon::DaemonClient& client) {
  auto r = client.request("POST", "/v1/runs",
                          json::serialize(json::object{{"spec", kSpec}, {"format", "yaml"}}));
  if (!r || r->status != 200) return "";
  return std::string(json::parse(r->body).at("run_id").as_string());
}

}  // namespace

int run_daemon(std::span<const std::string> args) {
  int requests = 2000;
  int runs = 30;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << "usage: voidbox-bench daemon [--requests N] [--runs M]\n";
      return 0;
    } else if (args[i] == "--requests") {
      requests = std::max(1, std::atoi(next().c_str()));
    } else if (args[i] == "--runs") {
      runs = std::max(1, std::atoi(next().c_str()));
    } else {
      std::cerr << "voidbox-bench daemon: unknown argument '" << args[i] << "'\n";
      return 2;
    }
  }
  std::string templ = (std::filesystem::temp_directory_path() / "vbbench-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) return 1;
  const std::filesystem::path dir = templ;
  int rc = 0;
  {
    daemon::ManagerOptions m;
    m.state_dir = dir / "state";
    m.backend = "process";
    auto manager = daemon::RunManager::start(m);
    if (!manager) {
      std::cerr << "voidbox-bench daemon: " << manager.error() << "\n";
      return 1;
    }
    daemon::Router router(**manager);
    daemon::ServerOptions s;
    s.endpoint.path = (dir / "d.sock").string();
    auto server = daemon::HttpServer::start(s, router, **manager);
    if (!server) {
      std::cerr << "voidbox-bench daemon: " << server.error() << "\n";
      return 1;
    }
    const auto at = (*server)->endpoint();
    daemon::DaemonClient client(at, std::nullopt);

    std::vector<double> first_event, finished;
    for (int i = 0; i < runs; ++i) {
      auto t = Clock::now();
      const std::string id = submit(client);
      if (id.empty()) {
        std::cerr << "voidbox-bench daemon: submission failed\n";
        rc = 1;
        break;
      }
      bool first = true;
      client.stream("/v1/runs/" + id + "/events",
                    [&](const std::string&, const std::string&, const std::string&) {
                      if (first) first_event.push_back(ms_since(t));
                      first = false;
                      return true;
                    });
      finished.push_back(ms_since(t));
    }
    const std::string id = submit(client);
    client.stream("/v1/runs/" + id + "/events",
                  [](const std::string&, const std::string&, const std::string&) { return true; });

    for (int clients : {1, 4}) {
      const int each = std::max(1, requests / clients);
      const double run_rps = rps(at, "/v1/runs/" + id, clients, each);
      const double health_rps = rps(at, "/v1/health", clients, each);
      if (run_rps < 0 || health_rps < 0) rc = 1;
      std::printf(
          "GET /v1/runs/{id}, %d client(s): %.0f req/s; GET /v1/health %.0f req/s (ratio %.2f)\n",
          clients, run_rps, health_rps, health_rps / run_rps);
    }
    std::printf("submit to first event over %zu runs: p50 %.2f ms, p99 %.2f ms\n",
                first_event.size(), percentile(first_event, 0.5), percentile(first_event, 0.99));
    std::printf(
        "submit to run finished (process backend, one echo step): p50 %.1f ms, p99 %.1f ms\n",
        percentile(finished, 0.5), percentile(finished, 0.99));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}

}  // namespace voidbox::bench
