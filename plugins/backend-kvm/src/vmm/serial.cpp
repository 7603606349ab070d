#include "serial.hpp"

#include <unistd.h>

#include <cerrno>

namespace voidbox::kvm {
namespace {

constexpr std::uint8_t kIerThri = 0x02;
constexpr std::uint8_t kLcrDlab = 0x80;
constexpr std::uint8_t kMcrLoop = 0x10;
constexpr std::uint8_t kLsrIdle = 0x60;  // THR empty, transmitter empty
constexpr std::size_t kMaxLine = 1024;
constexpr std::size_t kFlushAt = 4096;

}  // namespace

Serial::Serial(int log_fd, IrqFn irq, LineFn on_line)
    : log_fd_(log_fd), irq_(std::move(irq)), on_line_(std::move(on_line)) {}

Serial::~Serial() {
  flush();
}

std::uint8_t Serial::read(std::uint8_t offset) {
  std::lock_guard lock(mu_);
  const bool dlab = lcr_ & kLcrDlab;
  switch (offset) {
    case 0:
      return dlab ? dll_ : 0;  // no input is ever queued
    case 1:
      return dlab ? dlm_ : ier_;
    case 2: {
      const std::uint8_t fifo_bits = fifo_ ? 0xc0 : 0;
      if (thri_pending_) {
        thri_pending_ = false;  // reading IIR acknowledges THRE
        return fifo_bits | 0x02;
      }
      return fifo_bits | 0x01;
    }
    case 3:
      return lcr_;
    case 4:
      return mcr_;
    case 5:
      return kLsrIdle;
    case 6:
      if (mcr_ & kMcrLoop) {
        // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
        return static_cast<std::uint8_t>(((mcr_ & 0x01) << 5) | ((mcr_ & 0x02) << 3) |
                                         ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      }
      return 0xb0;  // DCD, DSR, CTS
    case 7:
      return scr_;
    default:
      return 0xff;
  }
}

void Serial::write(std::uint8_t offset, std::uint8_t value) {
  bool raise = false;
  {
    std::lock_guard lock(mu_);
    const bool dlab = lcr_ & kLcrDlab;
    switch (offset) {
      case 0:
        if (dlab) {
          dll_ = value;
        } else {
          if (!(mcr_ & kMcrLoop)) transmit(value);
          raise = (ier_ & kIerThri) != 0;
        }
        break;
      case 1:
        if (dlab) {
          dlm_ = value;
        } else {
          const bool was = ier_ & kIerThri;
          ier_ = value & 0x0f;
          raise = !was && (ier_ & kIerThri);  // THR is empty: interrupt at once
          if (!(ier_ & kIerThri)) thri_pending_ = false;
        }
        break;
      case 2:
        fifo_ = value & 0x01;
        break;
      case 3:
        lcr_ = value;
        break;
      case 4:
        mcr_ = value & 0x1f;
        break;
      case 7:
        scr_ = value;
        break;
      default:
        break;
    }
    if (raise) thri_pending_ = true;
  }
  if (raise && irq_) irq_();
}

void Serial::transmit(std::uint8_t byte) {
  pending_.push_back(static_cast<char>(byte));
  if (byte == '\n') {
    if (on_line_) on_line_(line_);
    line_.clear();
  } else if (line_.size() < kMaxLine) {
    line_.push_back(static_cast<char>(byte));
  }
  if (byte == '\n' || pending_.size() >= kFlushAt) {
    const int fd = log_fd_;
    std::size_t done = 0;
    while (fd >= 0 && done < pending_.size()) {
      const ssize_t n = ::write(fd, pending_.data() + done, pending_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a full disk must not stall the guest
      done += static_cast<std::size_t>(n);
    }
    pending_.clear();
  }
}

void Serial::flush() {
  std::lock_guard lock(mu_);
  if (log_fd_ >= 0 && !pending_.empty()) {
    [[maybe_unused]] ssize_t n = ::write(log_fd_, pending_.data(), pending_.size());
  }
  pending_.clear();
}

}  // namespace voidbox::kvm
