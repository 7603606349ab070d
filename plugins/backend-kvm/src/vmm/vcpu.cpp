#include "vcpu.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace voidbox::kvm {
namespace {

int kick_signal() {
  return SIGRTMIN;
}

void on_kick(int) {}

}  // namespace

void Vcpu::install_kick_signal() {
  struct sigaction sa {};
  sa.sa_handler = on_kick;  // no SA_RESTART: KVM_RUN must return EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(kick_signal(), &sa, nullptr);
}

Result<std::unique_ptr<Vcpu>> Vcpu::create(int vm_fd, std::uint32_t index, std::size_t run_size) {
  UniqueFd fd(::ioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
  if (!fd.valid()) return fail_errno("KVM_CREATE_VCPU " + std::to_string(index) + " failed");
  void* run = ::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) return fail_errno("mmap of kvm_run failed");
  return std::unique_ptr<Vcpu>(
      new Vcpu(std::move(fd), index, static_cast<kvm_run*>(run), run_size));
}

Vcpu::~Vcpu() {
  if (thread_.joinable()) thread_.join();  // callers kick and join with a deadline first
  if (run_ != nullptr) ::munmap(run_, run_size_);
}

void Vcpu::start(ExitHandler& handler, const std::atomic<bool>& stop) {
  thread_ = std::thread([this, &handler, &stop] {
    const std::string name = "vcpu-" + std::to_string(index_);
    ::pthread_setname_np(::pthread_self(), name.c_str());
    loop(handler, stop);
    exited_.store(true);
  });
}

void Vcpu::kick() {
  if (run_ != nullptr) __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (thread_.joinable() && !exited_.load()) ::pthread_kill(thread_.native_handle(), kick_signal());
}

bool Vcpu::try_join() {
  if (!thread_.joinable()) return true;
  if (!exited_.load()) return false;
  thread_.join();
  return true;
}

void Vcpu::loop(ExitHandler& handler, const std::atomic<bool>& stop) {
  bool first = true;
  while (!stop.load(std::memory_order_acquire)) {
    if (first) {
      handler.first_entry(index_);
      first = false;
    }
    if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      handler.vm_ended(
          {VmEnd::kInternalError, std::string("KVM_RUN failed: ") + std::strerror(errno)});
      return;
    }
    if (!handle_exit(handler)) return;
  }
}

// Returns false when the VM has ended.
bool Vcpu::handle_exit(ExitHandler& handler) {
  auto* base = reinterpret_cast<std::uint8_t*>(run_);
  total_exits_.fetch_add(1, std::memory_order_relaxed);
  switch (run_->exit_reason) {
    case KVM_EXIT_IO: {
      pio_exits_.fetch_add(1, std::memory_order_relaxed);
      const auto size = run_->io.size;
      const auto count = run_->io.count;
      // KVM keeps data_offset + size*count inside the run mapping; check anyway.
      if (run_->io.data_offset + std::uint64_t{size} * count > run_size_) return true;
      for (std::uint32_t i = 0; i < count; ++i) {
        std::uint8_t* data = base + run_->io.data_offset + std::size_t{i} * size;
        if (run_->io.direction == KVM_EXIT_IO_OUT) {
          handler.pio_write(run_->io.port, {data, size});
        } else {
          handler.pio_read(run_->io.port, {data, size});
        }
      }
      return true;
    }
    case KVM_EXIT_MMIO: {
      mmio_exits_.fetch_add(1, std::memory_order_relaxed);
      const auto len = std::min<std::uint32_t>(run_->mmio.len, 8);
      if (run_->mmio.is_write) {
        handler.mmio_write(run_->mmio.phys_addr, {run_->mmio.data, len});
      } else {
        handler.mmio_read(run_->mmio.phys_addr, {run_->mmio.data, len});
      }
      return true;
    }
    case KVM_EXIT_HLT:
      handler.vm_ended({VmEnd::kPowerOff, "guest halted"});
      return false;
    case KVM_EXIT_SHUTDOWN:
      handler.vm_ended({VmEnd::kReboot, "triple fault (guest reset)"});
      return false;
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run_->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
          handler.vm_ended({VmEnd::kPowerOff, "system event: shutdown"});
          break;
        case KVM_SYSTEM_EVENT_RESET:
          handler.vm_ended({VmEnd::kReboot, "system event: reset"});
          break;
        default:
          handler.vm_ended({VmEnd::kPanic, "system event: crash"});
          break;
      }
      return false;
    case KVM_EXIT_FAIL_ENTRY:
      handler.vm_ended({VmEnd::kInternalError,
                        "KVM_EXIT_FAIL_ENTRY, hardware reason " +
                            std::to_string(run_->fail_entry.hardware_entry_failure_reason)});
      return false;
    case KVM_EXIT_INTERNAL_ERROR:
      handler.vm_ended({VmEnd::kInternalError,
                        "KVM internal error, suberror " + std::to_string(run_->internal.suberror)});
      return false;
    case KVM_EXIT_INTR:
      return true;
    default:
      handler.vm_ended({VmEnd::kInternalError,
                        "unhandled KVM exit reason " + std::to_string(run_->exit_reason)});
      return false;
  }
}

}  // namespace voidbox::kvm
