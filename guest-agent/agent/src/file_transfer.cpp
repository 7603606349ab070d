#include "file_transfer.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

namespace voidbox::agent {

namespace pr = protocol;

namespace {
constexpr std::size_t kReadChunk = 256u << 10;
}

void FileReadSession::on_frame(pr::Frame& f) {
  if (f.type == pr::MessageType::Cancel) cancel();
}

void FileReadSession::run() {
  auto fd = ctx_.files->open_for_read(req_.path);
  if (!fd) {
    out_.send(pr::make_error_frame(id_, fd.error().code, fd.error().message, fd.error().sys_errno));
    return;
  }
  std::vector<std::uint8_t> buf(kReadChunk);
  std::uint64_t offset = req_.offset;
  std::uint64_t left = req_.max == 0 ? UINT64_MAX : req_.max;
  while (left > 0) {
    if (cancelled_) {
      out_.send(pr::make_error_frame(id_, pr::ErrorCode::Io, "read cancelled"));
      return;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    const ssize_t n = ::pread(fd->get(), buf.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      auto e = file_error_from_errno(err, "read", req_.path);
      out_.send(pr::make_error_frame(id_, e.code, e.message, err));
      return;
    }
    if (n == 0) break;
    offset += static_cast<std::uint64_t>(n);
    left -= static_cast<std::uint64_t>(n);
    if (!out_.send(pr::encode_frame(
            pr::MessageType::FileData, 0, id_,
            std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)))))
      return;
  }
  out_.send(pr::encode_frame(pr::MessageType::FileData, pr::kFlagEnd, id_, std::string_view()));
}

}  // namespace voidbox::agent
