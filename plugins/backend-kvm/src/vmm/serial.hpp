// A 16550A UART (COM1) whose output goes to the VM's serial log. Transmit is
// instantaneous, so THR is always empty: when the guest enables the THRE
// interrupt it gets one after every byte, which keeps its tty layer moving.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace voidbox::kvm {

class Serial {
 public:
  using IrqFn = std::function<void()>;                     // pulses the UART's IRQ line
  using LineFn = std::function<void(const std::string&)>;  // each complete output line

  Serial(int log_fd, IrqFn irq, LineFn on_line);
  ~Serial();
  Serial(const Serial&) = delete;
  Serial& operator=(const Serial&) = delete;

  std::uint8_t read(std::uint8_t offset);
  void write(std::uint8_t offset, std::uint8_t value);
  void flush();

 private:
  void transmit(std::uint8_t byte);
  void update_interrupt();

  std::mutex mu_;
  int log_fd_;
  IrqFn irq_;
  LineFn on_line_;
  std::string pending_;  // output not yet written to the log
  std::string line_;     // current line, for on_line_
  std::uint8_t ier_ = 0, lcr_ = 0x03, mcr_ = 0x08, scr_ = 0, dll_ = 0x0c, dlm_ = 0;
  bool fifo_ = false;
  bool thri_pending_ = false;
};

}  // namespace voidbox::kvm
