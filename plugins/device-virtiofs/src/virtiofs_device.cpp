#include "virtiofs_device.hpp"

#include <pthread.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>

namespace voidbox::virtiofs {

namespace {

using virtio::GuestMemory;

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kTagBytes) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::expected<std::int64_t, std::string> int_field(const boost::json::object& o, const char* key,
                                                   std::int64_t fallback, std::int64_t lo,
                                                   std::int64_t hi) {
  const auto* p = o.if_contains(key);
  if (p == nullptr) return fallback;
  if (!p->is_int64() || p->as_int64() < lo || p->as_int64() > hi) {
    return std::unexpected("virtiofs config: " + std::string(key) + " must be an integer in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return p->as_int64();
}

}  // namespace

std::expected<DeviceConfig, std::string> parse_device_config(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return std::unexpected(std::string("virtiofs config: not a JSON object"));
  const auto& o = v.as_object();
  DeviceConfig c;
  const auto* tag = o.if_contains("tag");
  if (tag == nullptr || !tag->is_string() || !valid_tag(tag->as_string())) {
    return std::unexpected(
        std::string("virtiofs config: \"tag\" must be 1-36 characters of [A-Za-z0-9_.-]"));
  }
  c.tag = std::string(tag->as_string());
  const auto* path = o.if_contains("path");
  if (path == nullptr || !path->is_string()) {
    return std::unexpected(std::string("virtiofs config: \"path\" (string) is required"));
  }
  c.server.root = std::string(path->as_string());
  if (const auto* ro = o.if_contains("readonly")) {
    if (!ro->is_bool())
      return std::unexpected(std::string("virtiofs config: readonly must be a bool"));
    c.server.readonly = ro->as_bool();
  }
  auto uid = int_field(o, "owner_uid", c.server.owner_uid, 0, 0xfffffffe);
  auto gid = int_field(o, "owner_gid", c.server.owner_gid, 0, 0xfffffffe);
  auto qs = int_field(o, "queue_size", c.queue_size, 2, 1024);
  auto workers = int_field(o, "workers", c.workers, 1, 64);
  for (const auto* r : {&uid, &gid, &qs, &workers}) {
    if (!*r) return std::unexpected(r->error());
  }
  if ((*qs & (*qs - 1)) != 0) {
    return std::unexpected(std::string("virtiofs config: queue_size must be a power of two"));
  }
  c.server.owner_uid = static_cast<std::uint32_t>(*uid);
  c.server.owner_gid = static_cast<std::uint32_t>(*gid);
  c.queue_size = static_cast<std::uint16_t>(*qs);
  c.workers = static_cast<unsigned>(*workers);
  return c;
}

std::expected<std::unique_ptr<VirtiofsDevice>, std::string> VirtiofsDevice::create(
    std::string_view json) {
  auto cfg = parse_device_config(json);
  if (!cfg) return std::unexpected(cfg.error());
  return open(std::move(*cfg));
}

std::expected<std::unique_ptr<VirtiofsDevice>, std::string> VirtiofsDevice::open(
    DeviceConfig config) {
  if (!valid_tag(config.tag)) return std::unexpected(std::string("virtiofs: invalid mount tag"));
  auto server = Server::open(config.server);
  if (!server) return std::unexpected("virtiofs: " + server.error());
  return std::unique_ptr<VirtiofsDevice>(new VirtiofsDevice(std::move(config), std::move(*server)));
}

VirtiofsDevice::VirtiofsDevice(DeviceConfig config, std::unique_ptr<Server> server)
    : cfg_(std::move(config)),
      server_(std::move(server)),
      queue_sizes_{cfg_.queue_size, cfg_.queue_size} {
  std::memcpy(config_.data(), cfg_.tag.data(), cfg_.tag.size());
  GuestMemory::store_le<std::uint32_t>(config_.data() + kTagBytes, 1);
  for (unsigned i = 0; i < std::max(cfg_.workers, 1u); ++i) {
    workers_.emplace_back([this, i] {
      const std::string name = "fs-" + cfg_.tag.substr(0, 8) + "-" + std::to_string(i);
      ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
      work();
    });
  }
}

VirtiofsDevice::~VirtiofsDevice() {
  reset();
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::uint64_t VirtiofsDevice::device_features() const {
  return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc;
}

void VirtiofsDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = offset + i < config_.size() ? config_[offset + i] : std::byte{0};
  }
}

std::expected<void, std::string> VirtiofsDevice::activate(const virtio::ActivateParams& params) {
  if (params.queues.size() != queues_.size()) {
    return std::unexpected(std::string("virtiofs has a hiprio and one request queue"));
  }
  std::array<std::optional<virtio::Virtqueue>, 2> qs;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    virtio::Virtqueue q(queue_sizes_[i]);
    q.set_config(params.queues[i]);
    if (auto r = q.activate(params.memory, params.driver_features); !r) {
      return std::unexpected("virtiofs queue " + std::to_string(i) + ": " +
                             virtio::to_string(r.error()));
    }
    qs[i].emplace(std::move(q));
  }
  std::lock_guard lock(queue_mu_);
  queues_ = std::move(qs);
  interrupt_ = &params.interrupt;
  ++generation_;
  return {};
}

void VirtiofsDevice::reset() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(queue_mu_);
    for (auto& q : queues_) q.reset();
    interrupt_ = nullptr;
    ++generation_;
  }
  std::lock_guard lock(jobs_mu_);
  dropped.swap(jobs_);
}

void VirtiofsDevice::broken() {
  if (interrupt_) interrupt_->signal_needs_reset();
  for (auto& q : queues_) q.reset();
}

void VirtiofsDevice::queue_notify(std::uint16_t index) {
  if (index >= queues_.size()) return;
  std::vector<Job> taken;
  {
    std::lock_guard lock(queue_mu_);
    auto& queue = queues_[index];
    if (!queue) return;
    for (;;) {
      auto popped = queue->pop();
      if (!popped) {
        broken();
        return;
      }
      if (!*popped) break;
      virtio::DescriptorChain& chain = **popped;
      if (chain.readable_bytes() < kInHeaderSize) {
        if (!queue->add_used(chain.head(), 0)) {
          broken();
          return;
        }
        continue;
      }
      Job job{generation_, index, std::move(chain), {}};
      job.request.resize(static_cast<std::size_t>(
          std::min<std::uint64_t>(job.chain.readable_bytes(), kMaxRequest)));
      virtio::ChainReader reader(queue->memory(), job.chain);
      job.request.resize(reader.read(job.request));
      taken.push_back(std::move(job));
    }
    if (queue->needs_notification() && interrupt_) interrupt_->signal_used_queue(index);
  }
  if (taken.empty()) return;
  {
    std::lock_guard lock(jobs_mu_);
    for (auto& j : taken) jobs_.push_back(std::move(j));
  }
  jobs_cv_.notify_all();
}

void VirtiofsDevice::work() {
  std::vector<std::byte> reply;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(jobs_mu_);
      jobs_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const auto limit = static_cast<std::size_t>(
        std::min<std::uint64_t>(job.chain.writable_bytes(), kMaxIo + 4096));
    server_->handle(job.request, limit, reply);
    complete(job, reply);
  }
}

void VirtiofsDevice::complete(const Job& job, const std::vector<std::byte>& reply) {
  std::lock_guard lock(queue_mu_);
  auto& queue = queues_[job.queue];
  if (!queue || job.generation != generation_) return;  // reset since: drop it
  virtio::ChainWriter writer(queue->memory(), job.chain);
  const std::size_t written = writer.write(reply);
  if (!queue->add_used(job.chain.head(), static_cast<std::uint32_t>(written))) {
    broken();
    return;
  }
  if (queue->needs_notification() && interrupt_) interrupt_->signal_used_queue(job.queue);
}

}  // namespace voidbox::virtiofs
