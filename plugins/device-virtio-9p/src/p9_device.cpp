#include "p9_device.hpp"

#include <pthread.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>

namespace voidbox::p9 {

namespace {

using virtio::GuestMemory;

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
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
    return std::unexpected("virtio-9p config: " + std::string(key) + " must be an integer in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return p->as_int64();
}

}  // namespace

std::expected<DeviceConfig, std::string> parse_device_config(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return std::unexpected(std::string("virtio-9p config: not a JSON object"));
  const auto& o = v.as_object();
  DeviceConfig c;
  const auto* tag = o.if_contains("tag");
  if (tag == nullptr || !tag->is_string() || !valid_tag(tag->as_string())) {
    return std::unexpected(
        std::string("virtio-9p config: \"tag\" must be 1-31 characters of [A-Za-z0-9_.-]"));
  }
  c.tag = std::string(tag->as_string());
  const auto* path = o.if_contains("path");
  if (path == nullptr || !path->is_string()) {
    return std::unexpected(std::string("virtio-9p config: \"path\" (string) is required"));
  }
  c.server.root = std::string(path->as_string());
  if (const auto* ro = o.if_contains("readonly")) {
    if (!ro->is_bool())
      return std::unexpected(std::string("virtio-9p config: readonly must be a bool"));
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
    return std::unexpected(std::string("virtio-9p config: queue_size must be a power of two"));
  }
  c.server.owner_uid = static_cast<std::uint32_t>(*uid);
  c.server.owner_gid = static_cast<std::uint32_t>(*gid);
  c.queue_size = static_cast<std::uint16_t>(*qs);
  c.workers = static_cast<unsigned>(*workers);
  return c;
}

std::expected<std::unique_ptr<NinepDevice>, std::string> NinepDevice::create(
    std::string_view json) {
  auto cfg = parse_device_config(json);
  if (!cfg) return std::unexpected(cfg.error());
  return open(std::move(*cfg));
}

std::expected<std::unique_ptr<NinepDevice>, std::string> NinepDevice::open(DeviceConfig config) {
  if (!valid_tag(config.tag)) return std::unexpected(std::string("virtio-9p: invalid mount tag"));
  auto server = Server::open(config.server);
  if (!server) return std::unexpected("virtio-9p: " + server.error());
  return std::unique_ptr<NinepDevice>(new NinepDevice(std::move(config), std::move(*server)));
}

NinepDevice::NinepDevice(DeviceConfig config, std::unique_ptr<Server> server)
    : cfg_(std::move(config)), server_(std::move(server)), queue_size_(cfg_.queue_size) {
  config_.resize(2 + cfg_.tag.size());
  GuestMemory::store_le<std::uint16_t>(config_.data(), static_cast<std::uint16_t>(cfg_.tag.size()));
  std::memcpy(config_.data() + 2, cfg_.tag.data(), cfg_.tag.size());
  for (unsigned i = 0; i < std::max(cfg_.workers, 1u); ++i) {
    workers_.emplace_back([this, i] {
      const std::string name = "9p-" + cfg_.tag.substr(0, 8) + "-" + std::to_string(i);
      ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
      work();
    });
  }
}

NinepDevice::~NinepDevice() {
  reset();
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::uint64_t NinepDevice::device_features() const {
  return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc |
         kFeatureMountTag;
}

void NinepDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = offset + i < config_.size() ? config_[offset + i] : std::byte{0};
  }
}

std::expected<void, std::string> NinepDevice::activate(const virtio::ActivateParams& params) {
  if (params.queues.size() != 1) return std::unexpected(std::string("virtio-9p has one queue"));
  virtio::Virtqueue q(queue_size_);
  q.set_config(params.queues[0]);
  if (auto r = q.activate(params.memory, params.driver_features); !r) {
    return std::unexpected(std::string("virtio-9p queue: ") + virtio::to_string(r.error()));
  }
  std::lock_guard lock(queue_mu_);
  queue_.emplace(std::move(q));
  interrupt_ = &params.interrupt;
  ++generation_;
  return {};
}

void NinepDevice::reset() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(queue_mu_);
    queue_.reset();
    interrupt_ = nullptr;
    ++generation_;
  }
  {
    std::lock_guard lock(jobs_mu_);
    dropped.swap(jobs_);
  }
  for (const Job& j : dropped) server_->in_flight().end(j.tag);
}

void NinepDevice::queue_notify(std::uint16_t) {
  std::vector<Job> taken;
  {
    std::lock_guard lock(queue_mu_);
    if (!queue_) return;
    for (;;) {
      auto popped = queue_->pop();
      if (!popped) {
        if (interrupt_) interrupt_->signal_needs_reset();
        queue_.reset();
        return;
      }
      if (!*popped) break;
      virtio::DescriptorChain& chain = **popped;
      // Too small for a header in, or an Rlerror out: hand it straight back.
      if (chain.readable_bytes() < kHeaderSize || chain.writable_bytes() < kHeaderSize + 4) {
        (void)queue_->add_used(chain.head(), 0);
        continue;
      }
      Job job{generation_, std::move(chain), {}, kNoTag};
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(job.chain.readable_bytes(), cfg_.server.max_msize));
      job.request.resize(n);
      virtio::ChainReader reader(queue_->memory(), job.chain);
      job.request.resize(reader.read(job.request));
      // A driver may hand over more readable bytes than the message: the
      // size field says where it ends (the parser checks it again).
      if (job.request.size() >= 4) {
        const auto size = GuestMemory::load_le<std::uint32_t>(job.request.data());
        if (size >= kHeaderSize && size < job.request.size()) job.request.resize(size);
      }
      job.tag = peek_tag(job.request).value_or(kNoTag);
      taken.push_back(std::move(job));
    }
    if (queue_->needs_notification() && interrupt_) interrupt_->signal_used_queue(0);
  }
  if (taken.empty()) return;
  {
    std::lock_guard lock(jobs_mu_);
    for (auto& j : taken) {
      server_->in_flight().begin(j.tag);
      jobs_.push_back(std::move(j));
    }
  }
  jobs_cv_.notify_all();
}

void NinepDevice::work() {
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
        std::min<std::uint64_t>(job.chain.writable_bytes(), cfg_.server.max_msize));
    server_->handle(job.request, limit, reply);
    complete(job, reply);
    server_->in_flight().end(job.tag);
  }
}

void NinepDevice::complete(const Job& job, const std::vector<std::byte>& reply) {
  std::lock_guard lock(queue_mu_);
  if (!queue_ || job.generation != generation_) return;  // reset since: drop it
  virtio::ChainWriter writer(queue_->memory(), job.chain);
  const std::size_t written = writer.write(reply);
  if (!queue_->add_used(job.chain.head(), static_cast<std::uint32_t>(written))) {
    if (interrupt_) interrupt_->signal_needs_reset();
    queue_.reset();
    return;
  }
  if (queue_->needs_notification() && interrupt_) interrupt_->signal_used_queue(0);
}

}  // namespace voidbox::p9
