#include "telemetry.hpp"

#include <gtest/gtest.h>

namespace va = voidbox::agent;

namespace {

const char* kStat =
    "cpu  100 0 50 800 50 0 0 0 0 0\n"
    "cpu0 50 0 25 400 25 0 0 0 0 0\n"
    "cpu1 50 0 25 400 25 0 0 0 0 0\n"
    "procs_running 3\n";

TEST(Telemetry, ParsesProcStat) {
  auto t = va::parse_proc_stat_cpu(kStat);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->total, 1000u);
  EXPECT_EQ(t->busy, 150u);
  EXPECT_EQ(va::count_cpus(kStat), 2u);
  EXPECT_EQ(va::parse_proc_stat_value(kStat, "procs_running"), 3u);
  EXPECT_FALSE(va::parse_proc_stat_cpu("garbage"));
}

TEST(Telemetry, ParsesMeminfo) {
  std::uint64_t total = 0, avail = 0;
  ASSERT_TRUE(
      va::parse_meminfo("MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 600 kB\n", total, avail));
  EXPECT_EQ(total, 1000u * 1024);
  EXPECT_EQ(avail, 600u * 1024);
}

TEST(Telemetry, SamplesThisMachine) {
  va::TelemetrySampler s;
  auto a = s.sample();
  auto b = s.sample();
  EXPECT_EQ(b.seq, a.seq + 1);
  EXPECT_GT(b.mem_total_bytes, 0u);
  EXPECT_GT(b.procs, 0u);
  EXPECT_GE(b.cpu_count, 1u);
  EXPECT_GE(b.cpu_percent, 0.0);
  EXPECT_LE(b.cpu_percent, 100.0);
}

}  // namespace
