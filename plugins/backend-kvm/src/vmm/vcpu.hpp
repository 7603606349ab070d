// One vCPU: its fd, its kvm_run page and the thread running KVM_RUN.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>

#include "result.hpp"
#include "unique_fd.hpp"
#include "vm_outcome.hpp"

namespace voidbox::kvm {

// What the vCPU loop calls on exits it does not handle itself.
class ExitHandler {
 public:
  virtual ~ExitHandler() = default;
  virtual void pio_read(std::uint16_t port, std::span<std::uint8_t> data) = 0;
  virtual void pio_write(std::uint16_t port, std::span<const std::uint8_t> data) = 0;
  virtual void mmio_read(std::uint64_t addr, std::span<std::uint8_t> data) = 0;
  virtual void mmio_write(std::uint64_t addr, std::span<const std::uint8_t> data) = 0;
  virtual void vm_ended(VmOutcome outcome) = 0;
  virtual void first_entry(std::uint32_t vcpu) = 0;
};

// Exits to this process, by kind (KVM_EXIT_INTR kicks included in total).
struct ExitCounts {
  std::uint64_t total = 0;
  std::uint64_t mmio = 0;
  std::uint64_t pio = 0;
};

class Vcpu {
 public:
  static Result<std::unique_ptr<Vcpu>> create(int vm_fd, std::uint32_t index, std::size_t run_size);
  Vcpu& operator=(const Vcpu&) = delete;
  Vcpu(const Vcpu&) = delete;
  ~Vcpu();

  int fd() const { return fd_.get(); }
  std::uint32_t index() const { return index_; }

  void start(ExitHandler& handler, const std::atomic<bool>& stop);
  // Makes KVM_RUN return now and keep returning (immediate_exit + signal).
  void kick();
  bool exited() const { return exited_.load(); }
  // Joins if the thread has exited; true when there is no thread left.
  bool try_join();

  static void install_kick_signal();
  ExitCounts exit_counts() const {
    return {total_exits_.load(std::memory_order_relaxed),
            mmio_exits_.load(std::memory_order_relaxed),
            pio_exits_.load(std::memory_order_relaxed)};
  }

 private:
  Vcpu(UniqueFd fd, std::uint32_t index, kvm_run* run, std::size_t run_size)
      : fd_(std::move(fd)), index_(index), run_(run), run_size_(run_size) {}
  void loop(ExitHandler& handler, const std::atomic<bool>& stop);
  bool handle_exit(ExitHandler& handler);

  UniqueFd fd_;
  std::uint32_t index_ = 0;
  kvm_run* run_ = nullptr;
  std::size_t run_size_ = 0;
  std::thread thread_;
  std::atomic<bool> exited_{false};
  std::atomic<std::uint64_t> total_exits_{0};
  std::atomic<std::uint64_t> mmio_exits_{0};
  std::atomic<std::uint64_t> pio_exits_{0};
};

}  // namespace voidbox::kvm
