#include "policy.hpp"

#include <gtest/gtest.h>

#include "spawn.hpp"

namespace va = voidbox::agent;

namespace {

TEST(Allowlist, EmptyAllowsEverything) {
  va::Allowlist a;
  EXPECT_TRUE(a.allows("rm", "/bin/rm"));
}

TEST(Allowlist, BasenameAndFullPathRules) {
  va::Allowlist a;
  a.set({"sh", "/usr/bin/git"});
  EXPECT_TRUE(a.allows("sh", "/bin/sh"));
  EXPECT_TRUE(a.allows("/bin/sh", "/bin/sh"));
  EXPECT_TRUE(a.allows("git", "/usr/bin/git"));
  EXPECT_FALSE(a.allows("git", "/usr/local/bin/git"));  // full-path rule only matches its path
  EXPECT_FALSE(a.allows("rm", "/bin/rm"));
  a.set({});
  EXPECT_TRUE(a.allows("rm", "/bin/rm"));  // update applies at once
}

TEST(Policy, LimitsUpdatePartiallyAndValidate) {
  va::Policy p;
  voidbox::protocol::Limits l;
  l.nofile = 64;
  std::string err;
  ASSERT_TRUE(p.update_limits(l, err));
  EXPECT_EQ(p.limits().nofile, 64u);
  EXPECT_EQ(p.limits().nproc, va::ExecLimits{}.nproc);
  voidbox::protocol::Limits bad;
  bad.max_execs = 0;
  EXPECT_FALSE(p.update_limits(bad, err));
  EXPECT_FALSE(err.empty());
}

TEST(Spawn, ResolveProgramSearchesPath) {
  auto sh = va::resolve_program("sh", "/nonexistent:/bin:/usr/bin");
  ASSERT_TRUE(sh);
  EXPECT_EQ(sh->back(), 'h');
  auto missing = va::resolve_program("definitely-not-a-program", "/bin");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, voidbox::protocol::ErrorCode::NotFound);
  EXPECT_NE(missing.error().message.find("not found in PATH"), std::string::npos);
}

TEST(Spawn, BuildEnvOverridesDefaults) {
  auto env = va::build_env({{"PATH", "/bin"}, {"HOME", "/h"}}, {{"HOME", "/x"}, {"A", "1"}});
  EXPECT_EQ(env, (std::vector<std::string>{"A=1", "HOME=/x", "PATH=/bin"}));
}

}  // namespace
