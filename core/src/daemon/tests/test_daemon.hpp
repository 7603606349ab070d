// An in-process daemon for tests: a RunManager on the process backend, its
// Router and an HttpServer on a Unix socket in a fresh temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "daemon/daemon_client.hpp"
#include "daemon/http_server.hpp"
#include "daemon/router.hpp"
#include "daemon/run_manager.hpp"

namespace voidbox::daemon::testing {

inline std::filesystem::path make_temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "vbd-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

inline const char* kTwoStepSpec = R"(api_version: v1
kind: workflow
name: daemon-test
workflow:
  steps:
    - name: hello
      run:
        program: echo
        args: ["hello daemon"]
    - name: upcase
      depends_on: [hello]
      run:
        program: tr
        args: ["a-z", "A-Z"]
        stdin_from: hello
    - name: complain
      depends_on: [hello]
      run:
        program: sh
        args: ["-c", "echo to-stderr >&2"]
  output_step: upcase
)";

inline std::string sleep_spec(const std::string& seconds) {
  return "api_version: v1\nkind: workflow\nname: sleeper\nworkflow:\n  steps:\n    - name: nap\n"
         "      run:\n        program: sleep\n        args: [\"" +
         seconds + "\"]\n";
}

struct TestDaemon {
  std::filesystem::path dir = make_temp_dir();
  std::unique_ptr<RunManager> runs;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> server;

  explicit TestDaemon(std::size_t workers = 4, std::size_t max_queue = 64,
                      std::size_t body_limit = 1024 * 1024) {
    ManagerOptions m;
    m.state_dir = dir / "state";
    m.backend = "process";
    m.workers = workers;
    m.max_queue = max_queue;
    auto started = RunManager::start(m);
    if (!started) throw std::runtime_error(started.error());
    runs = std::move(*started);
    router = std::make_unique<Router>(*runs);
    ServerOptions s;
    s.endpoint.path = (dir / "d.sock").string();
    s.body_limit = body_limit;
    auto http = HttpServer::start(s, *router, *runs);
    if (!http) throw std::runtime_error(http.error());
    server = std::move(*http);
  }
  ~TestDaemon() {
    server.reset();
    runs.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::unique_ptr<DaemonClient> client() const {
    return std::make_unique<DaemonClient>(server->endpoint(), std::nullopt);
  }
};

inline boost::json::value parse(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return boost::json::value(nullptr);
  return v;
}

// Submits an inline YAML spec; returns the run id ("" and a test failure
// when the daemon refused).
inline std::string submit(DaemonClient& client, const std::string& spec,
                          boost::json::object extra = {}) {
  extra["spec"] = spec;
  extra["format"] = "yaml";
  auto r = client.request("POST", "/v1/runs", boost::json::serialize(extra));
  EXPECT_TRUE(r) << (r ? "" : r.error());
  if (!r) return "";
  EXPECT_EQ(r->status, 200) << r->body;
  auto v = parse(r->body);
  if (!v.is_object() || !v.as_object().contains("run_id")) return "";
  return std::string(v.as_object().at("run_id").as_string());
}

// Follows the run's event stream to its end (the 60 s guard only catches
// a hang) and returns its final state.
inline boost::json::object wait_terminal(DaemonClient& client, const std::string& id) {
  const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto s = client.stream("/v1/runs/" + id + "/events", [](const std::string&, const std::string&,
                                                            const std::string&) { return true; });
    EXPECT_TRUE(s) << (s ? "" : s.error());
    auto r = client.request("GET", "/v1/runs/" + id);
    if (!r) return {};
    auto v = parse(r->body);
    if (!v.is_object()) return {};
    const auto status = std::string(v.as_object().at("status").as_string());
    if (status == "succeeded" || status == "failed" || status == "cancelled") return v.as_object();
    if (std::chrono::steady_clock::now() > guard) {
      ADD_FAILURE() << "run " << id << " did not finish: " << r->body;
      return v.as_object();
    }
  }
}

}  // namespace voidbox::daemon::testing
