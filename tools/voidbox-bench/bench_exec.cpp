// `voidbox-bench exec`: the cost of running a command through a sandbox.
//
//  - round trip of `true` through the control channel vs posix_spawn+wait
//    of the same program on the host, in the same invocation (ratio; the
//    target on the process backend is <= 1.5x);
//  - N serial execs in one sandbox (ms each: median, p95, max);
//  - file write/read throughput over the channel (MiB/s).
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "suite.hpp"
#include "targets.hpp"
#include "voidbox/plugin/registry.hpp"
#include "voidbox/sandbox.hpp"

extern char** environ;

namespace voidbox::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Stats {
  double median = 0, p95 = 0, max = 0, mean = 0;
};

Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p95 = v[std::min(v.size() - 1, v.size() * 95 / 100)];
  s.max = v.back();
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  return s;
}

double spawn_and_wait(const char* program) {
  auto t = Clock::now();
  pid_t pid;
  char* argv[] = {const_cast<char*>(program), nullptr};
  if (posix_spawnp(&pid, program, nullptr, nullptr, argv, environ) != 0) return -1;
  int status;
  waitpid(pid, &status, 0);
  return ms_since(t);
}

void usage(std::ostream& os) {
  os << "usage: voidbox-bench exec [--backend process|kvm|auto] [--iterations N] "
        "[--file-mib M]\n";
}

}  // namespace

int run_exec(std::span<const std::string> args) {
  std::string backend = "process";
  int iterations = 100;
  int file_mib = 64;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (args[i] == "--help" || args[i] == "-h") {
      usage(std::cout);
      return 0;
    } else if (args[i] == "--backend") {
      backend = next();
    } else if (args[i] == "--iterations") {
      iterations = std::max(1, std::atoi(next().c_str()));
    } else if (args[i] == "--file-mib") {
      file_mib = std::max(1, std::atoi(next().c_str()));
    } else {
      usage(std::cerr);
      return 2;
    }
  }

  plugin::Registry registry;
  registry.load_default();
  SandboxConfig config;
  config.name = "bench";
  config.backend = backend;
  config.memory_mb = 512;
  auto boot_start = Clock::now();
  auto box = Sandbox::create(config, registry,
                             [](const std::string& w) { std::cerr << "warning: " << w << "\n"; });
  if (!box) {
    std::cerr << "voidbox-bench exec: " << box.error().message << "\n";
    return 1;
  }
  double boot_ms = ms_since(boot_start);
  Sandbox& ch = **box;
  ExecRequest req;
  req.program = "true";
  for (int i = 0; i < 5; ++i) (void)ch.exec(req, {});  // warm up both paths
  for (int i = 0; i < 5; ++i) spawn_and_wait("true");

  std::vector<double> channel_ms, spawn_ms;
  for (int i = 0; i < iterations; ++i) {
    auto t = Clock::now();
    auto r = ch.exec(req, {});
    if (!r || r->exit_code != 0) {
      std::cerr << "voidbox-bench exec: exec of `true` failed\n";
      return 1;
    }
    channel_ms.push_back(ms_since(t));
    spawn_ms.push_back(spawn_and_wait("true"));
  }
  Stats c = stats(channel_ms), s = stats(spawn_ms);

  std::string blob(static_cast<std::size_t>(file_mib) << 20, 'v');
  auto tw = Clock::now();
  auto wrote = ch.write_file("/workspace/bench.bin",
                             {reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size()});
  double write_ms = ms_since(tw);
  auto tr = Clock::now();
  auto read = ch.read_file("/workspace/bench.bin", blob.size());
  double read_ms = ms_since(tr);
  if (!wrote || !read || read->size() != blob.size()) {
    std::cerr << "voidbox-bench exec: file round trip failed\n";
    return 1;
  }

  std::printf("backend            %s (%s)\n", backend.c_str(), (*box)->info().vm ? "VM" : "NO VM");
  std::printf("sandbox ready      %.1f ms\n", boot_ms);
  std::printf("exec `true`        median %.3f ms  p95 %.3f  max %.3f  (%d serial execs)\n",
              c.median, c.p95, c.max, iterations);
  std::printf("posix_spawn+wait   median %.3f ms  p95 %.3f  max %.3f\n", s.median, s.p95, s.max);
  double ratio = s.median > 0 ? c.median / s.median : 0;
  std::printf("ratio              %.2fx\n", ratio);
  // The target is the process backend's: a VM's exec crosses a guest and
  // cannot be held against a host posix_spawn.
  constexpr Target kExecRatio{"exec-ratio-vs-posix-spawn", "x", 1.5, 0.2};
  TargetReport targets;
  if (!(*box)->info().vm) {
    targets.check(kExecRatio, ratio);
  } else {
    TargetReport::not_judged(kExecRatio, ratio, "the target is for the process backend");
  }
  std::printf("file write         %.0f MiB/s (%d MiB)\n", file_mib / (write_ms / 1000.0), file_mib);
  std::printf("file read          %.0f MiB/s (%d MiB)\n", file_mib / (read_ms / 1000.0), file_mib);
  return targets.failed() ? 1 : 0;
}

}  // namespace voidbox::bench
