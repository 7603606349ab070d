// The raw DiskOps implementation over a real temporary file.
#include "disk_ops.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace voidbox::blk {
namespace {

constexpr std::size_t kDiskBytes = 8192;

std::byte pattern(std::size_t i) {
  return static_cast<std::byte>((i * 13 + 5) & 0xff);
}

struct RawDiskTest : ::testing::Test {
  std::string path;
  void SetUp() override {
    char tmpl[] = "/tmp/disk-ops-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path = tmpl;
    std::vector<std::byte> data(kDiskBytes);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = pattern(i);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  void TearDown() override { ::unlink(path.c_str()); }
  std::unique_ptr<DiskOps> open(bool read_only) {
    auto d = open_raw_disk(path, read_only);
    EXPECT_TRUE(d) << (d ? "" : d.error());
    return d ? std::move(*d) : nullptr;
  }
};

TEST_F(RawDiskTest, ReportsTheFileSize) {
  auto d = open(true);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), kDiskBytes);
  EXPECT_TRUE(d->read_only());
}

TEST_F(RawDiskTest, ScatterReadFillsBuffersInOrder) {
  auto d = open(true);
  ASSERT_TRUE(d);
  std::vector<std::byte> a(100), b(1), c(923);
  const DiskBuffer bufs[] = {a, b, c};
  ASSERT_TRUE(d->read(1000, bufs));
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], pattern(1000 + i));
  EXPECT_EQ(b[0], pattern(1100));
  for (std::size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], pattern(1101 + i));
}

TEST_F(RawDiskTest, GatherWriteLandsAtTheOffsetAndFlushes) {
  auto d = open(false);
  ASSERT_TRUE(d);
  std::vector<std::byte> a(512, std::byte{0x11}), b(512, std::byte{0x22});
  const DiskBuffer bufs[] = {a, b};
  ASSERT_TRUE(d->write(4096, bufs));
  ASSERT_TRUE(d->flush());
  std::vector<std::byte> back(1024);
  const DiskBuffer out[] = {back};
  ASSERT_TRUE(d->read(4096, out));
  EXPECT_EQ(std::vector<std::byte>(back.begin(), back.begin() + 512), a);
  EXPECT_EQ(std::vector<std::byte>(back.begin() + 512, back.end()), b);
  std::vector<std::byte> before(1);
  const DiskBuffer one[] = {before};
  ASSERT_TRUE(d->read(4095, one));
  EXPECT_EQ(before[0], pattern(4095));  // nothing before the offset was touched
}

TEST_F(RawDiskTest, RequestsPastTheEndAreRefusedBeforeAnyIo) {
  auto d = open(false);
  ASSERT_TRUE(d);
  std::vector<std::byte> buf(512);
  const DiskBuffer bufs[] = {buf};
  EXPECT_TRUE(d->read(kDiskBytes - 512, bufs));  // the last 512 bytes
  EXPECT_EQ(d->read(kDiskBytes - 511, bufs).error(), DiskError::kOutOfRange);
  EXPECT_EQ(d->read(kDiskBytes, bufs).error(), DiskError::kOutOfRange);
  EXPECT_EQ(d->write(kDiskBytes - 1, bufs).error(), DiskError::kOutOfRange);
  // offset + length wraps around 2^64.
  EXPECT_EQ(d->read(std::numeric_limits<std::uint64_t>::max() - 100, bufs).error(),
            DiskError::kOutOfRange);
  EXPECT_EQ(d->size(), kDiskBytes) << "a refused write must not grow the image";
}

TEST_F(RawDiskTest, ReadOnlyDiskRefusesWritesAndFlushesTrivially) {
  auto d = open(true);
  ASSERT_TRUE(d);
  std::vector<std::byte> buf(512);
  const DiskBuffer bufs[] = {buf};
  EXPECT_EQ(d->write(0, bufs).error(), DiskError::kReadOnly);
  EXPECT_TRUE(d->flush());
}

TEST_F(RawDiskTest, ManyBuffersSpanSeveralVectoredCalls) {
  auto d = open(true);
  ASSERT_TRUE(d);
  // More buffers than one preadv takes (IOV_MAX is 1024 on Linux).
  std::vector<std::byte> bytes(kDiskBytes);
  std::vector<DiskBuffer> bufs;
  for (std::size_t i = 0; i < kDiskBytes; i += 4) bufs.emplace_back(bytes.data() + i, 4);
  ASSERT_GT(bufs.size(), 1024u);
  ASSERT_TRUE(d->read(0, bufs));
  for (std::size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], pattern(i)) << i;
}

TEST(RawDiskOpenTest, RefusesMissingFilesAndDirectories) {
  EXPECT_FALSE(open_raw_disk("/nonexistent/disk.img", true));
  EXPECT_FALSE(open_raw_disk("/tmp", true));
}

}  // namespace
}  // namespace voidbox::blk
