#include "voidbox/protocol/messages.hpp"

#include <gtest/gtest.h>

namespace vp = voidbox::protocol;

namespace {

TEST(Messages, ExecStartRoundTrip) {
  vp::ExecStart m;
  m.program = "sh";
  m.args = {"-c", "echo \"hi\"\n"};
  m.env = {{"A", "1"}, {"B", "x=y"}};
  m.cwd = "/workspace";
  m.timeout_ms = 1500;
  m.stdin_open = true;
  auto frame = vp::make_frame(42, m);
  vp::FrameDecoder dec;
  ASSERT_TRUE(dec.feed(frame));
  auto f = dec.pop();
  EXPECT_EQ(f.type, vp::MessageType::ExecStart);
  EXPECT_EQ(f.request_id, 42u);
  auto back = vp::decode<vp::ExecStart>(f);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->program, "sh");
  EXPECT_EQ(back->args, m.args);
  EXPECT_EQ(back->env, m.env);
  EXPECT_EQ(back->cwd, "/workspace");
  EXPECT_EQ(back->timeout_ms, 1500u);
  EXPECT_TRUE(back->stdin_open);
}

TEST(Messages, DefaultsApplyWhenFieldsAbsent) {
  auto m = vp::decode<vp::ExecStart>(R"({"program":"ls"})");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->args.empty());
  EXPECT_EQ(m->timeout_ms, 0u);
  EXPECT_FALSE(m->stdin_open);
  auto w = vp::decode<vp::FileWrite>(R"({"path":"/workspace/a"})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->mode, 0644u);
  EXPECT_TRUE(w->create_parents);
}

TEST(Messages, RejectsWrongTypesAndRanges) {
  EXPECT_FALSE(vp::decode<vp::ExecStart>(R"({"program":5})"));
  EXPECT_FALSE(vp::decode<vp::ExecStart>(R"({"args":["a"]})"));  // program required
  EXPECT_FALSE(vp::decode<vp::ExecStart>(R"({"program":"a","args":[1]})"));
  EXPECT_FALSE(vp::decode<vp::ExecStart>(R"({"program":"a","timeout_ms":-1})"));
  EXPECT_FALSE(vp::decode<vp::PtyResize>(R"({"cols":70000})"));
  EXPECT_FALSE(vp::decode<vp::FileWrite>(R"({"path":"/a","mode":65536})"));
  EXPECT_FALSE(vp::decode<vp::ExecKill>(R"({"signal":0})"));
  auto e = vp::decode<vp::ExecStart>("[1,2]");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, vp::ErrorCode::BadRequest);
  EXPECT_FALSE(vp::decode<vp::StatRequest>("{not json"));
}

TEST(Messages, DeeplyNestedJsonIsRejected) {
  std::string deep(10000, '[');
  EXPECT_FALSE(vp::decode<vp::ExecStart>(R"({"program":"a","x":)" + deep));
}

TEST(Messages, ErrorRoundTrip) {
  auto frame = vp::make_error_frame(5, vp::ErrorCode::NotAllowed, "command 'rm' is not allowed");
  vp::FrameDecoder dec;
  ASSERT_TRUE(dec.feed(frame));
  auto f = dec.pop();
  EXPECT_EQ(f.type, vp::MessageType::Error);
  auto e = vp::decode<vp::ErrorInfo>(f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, vp::ErrorCode::NotAllowed);
  EXPECT_EQ(e->message, "command 'rm' is not allowed");
  EXPECT_TRUE(e->fatal);
  EXPECT_EQ(vp::to_string(vp::ErrorCode::OutsideRoot), "outside_root");
}

TEST(Messages, HelloAckRoundTrip) {
  vp::HelloAck a;
  a.version = 1;
  a.features = {"exec", "files"};
  a.agent_version = "0.1.0";
  a.capabilities.exec_uid = 1000;
  a.capabilities.max_execs = 16;
  a.capabilities.file_roots = {"/workspace", "/tmp"};
  a.capabilities.mount_errors = {"voidbox0 on /mnt/x: mount failed: No such device"};
  auto b = vp::decode<vp::HelloAck>(vp::encode(a));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->features, a.features);
  EXPECT_EQ(b->capabilities.exec_uid, 1000u);
  EXPECT_EQ(b->capabilities.max_execs, 16u);
  EXPECT_EQ(b->capabilities.file_roots, a.capabilities.file_roots);
  EXPECT_EQ(b->capabilities.mount_errors, a.capabilities.mount_errors);
}

TEST(Messages, LimitsKeepAbsentFieldsUnset) {
  auto l = vp::decode<vp::Limits>(R"({"nofile":256})");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->nofile, 256u);
  EXPECT_FALSE(l->nproc);
  auto again = vp::decode<vp::Limits>(vp::encode(*l));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->nofile, 256u);
  EXPECT_FALSE(again->fsize_bytes);
}

TEST(Messages, ExitAndTelemetryRoundTrip) {
  vp::ExecExit x;
  x.exit_code = 137;
  x.signal = 9;
  x.timed_out = true;
  x.error = "timed out after 100 ms";
  auto y = vp::decode<vp::ExecExit>(vp::encode(x));
  ASSERT_TRUE(y);
  EXPECT_EQ(y->exit_code, 137);
  EXPECT_EQ(y->signal, 9);
  EXPECT_TRUE(y->timed_out);
  EXPECT_EQ(y->error, x.error);
  vp::TelemetrySample s;
  s.seq = 3;
  s.cpu_percent = 12.5;
  s.mem_total_bytes = 1ull << 33;
  auto t = vp::decode<vp::TelemetrySample>(vp::encode(s));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->seq, 3u);
  EXPECT_DOUBLE_EQ(t->cpu_percent, 12.5);
  EXPECT_EQ(t->mem_total_bytes, 1ull << 33);
}

}  // namespace
