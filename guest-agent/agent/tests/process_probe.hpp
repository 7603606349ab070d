// What the agent tests observe from outside the agent: processes and fds
// in /proc, gate files that let a test decide when a command may end, and
// polling with a hang guard instead of timed assertions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace voidbox::agent::test {

// Only a hang trips this; how fast the agent is belongs in voidbox-bench.
inline constexpr std::chrono::seconds kHangGuard{10};

// Shell that waits until `gate` exists, so the test decides when the command
// may end; the loop gives up after 60 s, and the status says whether the
// gate opened.
inline std::string until_exists(const std::filesystem::path& gate) {
  const std::string g = "'" + gate.string() + "'";
  return "i=0; while [ ! -e " + g + " ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; [ -e " +
         g + " ]";
}

inline void open_gate(const std::filesystem::path& gate) {
  std::ofstream(gate) << "open\n";
}

// Polls `done` until it holds or the hang guard passes.
template <typename Pred>
bool eventually(Pred done) {
  const auto end = std::chrono::steady_clock::now() + kHangGuard;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline std::size_t open_fds(pid_t pid) {
  const auto dir = "/proc/" + std::to_string(pid) + "/fd";
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                std::filesystem::directory_iterator()));
}

// Processes (zombies included) whose parent is `pid`.
inline std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);  // /proc/PID/stat is one line
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Alive and not a zombie: the agent reaps what it orphans.
inline bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);  // /proc/PID/stat is one line
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

}  // namespace voidbox::agent::test
