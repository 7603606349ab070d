#include "blk_device.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

namespace voidbox::blk {

namespace {

constexpr std::uint32_t kTypeIn = 0;
constexpr std::uint32_t kTypeOut = 1;
constexpr std::uint32_t kTypeFlush = 4;
constexpr std::uint32_t kTypeGetId = 8;
constexpr std::uint8_t kStatusOk = 0;
constexpr std::uint8_t kStatusIoErr = 1;
constexpr std::uint8_t kStatusUnsupported = 2;
constexpr std::size_t kRequestHeaderSize = 16;
constexpr std::size_t kIdBytes = 20;

constexpr std::uint64_t kFeatureSizeMax = 1ull << 1;
constexpr std::uint64_t kFeatureSegMax = 1ull << 2;
constexpr std::uint64_t kFeatureRo = 1ull << 5;
constexpr std::uint64_t kFeatureBlkSize = 1ull << 6;
constexpr std::uint64_t kFeatureFlush = 1ull << 9;

using virtio::GuestMemory;
using virtio::Segment;

// Guest buffers a request reads from or fills, in order.
struct Span {
  std::uint64_t gpa;
  std::uint32_t len;
};

}  // namespace

std::expected<BlkConfig, std::string> parse_blk_config(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    return std::unexpected(std::string("virtio-blk config: not a JSON object"));
  const auto& o = v.as_object();
  BlkConfig c;
  if (auto* p = o.if_contains("path"); p && p->is_string()) {
    c.path = std::string(p->as_string());
  } else {
    return std::unexpected(std::string("virtio-blk config: \"path\" (string) is required"));
  }
  if (auto* p = o.if_contains("read_only")) {
    if (!p->is_bool())
      return std::unexpected(std::string("virtio-blk config: read_only must be a bool"));
    c.read_only = p->as_bool();
  }
  if (auto* p = o.if_contains("id")) {
    if (!p->is_string())
      return std::unexpected(std::string("virtio-blk config: id must be a string"));
    c.id = std::string(p->as_string());
  }
  if (auto* p = o.if_contains("queue_size")) {
    const auto n = p->is_int64() ? p->as_int64() : 0;
    if (n <= 0 || n > virtio::kMaxQueueSize || (n & (n - 1)) != 0) {
      return std::unexpected(std::string("virtio-blk config: queue_size must be a power of two"));
    }
    c.queue_size = static_cast<std::uint16_t>(n);
  }
  return c;
}

std::expected<std::unique_ptr<BlkDevice>, std::string> BlkDevice::create(std::string_view json) {
  auto cfg = parse_blk_config(json);
  if (!cfg) return std::unexpected(cfg.error());
  return open(std::move(*cfg));
}

std::expected<std::unique_ptr<BlkDevice>, std::string> BlkDevice::open(BlkConfig config) {
  auto disk = open_raw_disk(config.path, config.read_only);
  if (!disk) return std::unexpected("virtio-blk: " + disk.error());
  return over(std::move(config), std::move(*disk));
}

std::unique_ptr<BlkDevice> BlkDevice::over(BlkConfig config, std::unique_ptr<DiskOps> disk) {
  if (config.id.empty()) {
    const auto slash = config.path.find_last_of('/');
    config.id = slash == std::string::npos ? config.path : config.path.substr(slash + 1);
  }
  if (config.id.size() > kIdBytes) config.id.resize(kIdBytes);
  return std::unique_ptr<BlkDevice>(new BlkDevice(std::move(config), std::move(disk)));
}

BlkDevice::BlkDevice(BlkConfig config, std::unique_ptr<DiskOps> disk)
    : cfg_(std::move(config)),
      disk_(std::move(disk)),
      capacity_(disk_->size() / kSectorSize),
      queue_size_(cfg_.queue_size) {
  cfg_.read_only = cfg_.read_only || disk_->read_only();
  std::byte* p = config_.data();
  GuestMemory::store_le<std::uint64_t>(p + 0, capacity_);
  GuestMemory::store_le<std::uint32_t>(p + 8, 1u << 20);                       // size_max
  GuestMemory::store_le<std::uint32_t>(p + 12, std::max(queue_size_ - 2, 1));  // seg_max
  GuestMemory::store_le<std::uint32_t>(p + 20, kSectorSize);                   // blk_size
}

BlkDevice::~BlkDevice() = default;

std::uint64_t BlkDevice::device_features() const {
  std::uint64_t f = virtio::kFeatureVersion1 | virtio::kFeatureEventIdx |
                    virtio::kFeatureIndirectDesc | kFeatureSizeMax | kFeatureSegMax |
                    kFeatureBlkSize | kFeatureFlush;
  if (cfg_.read_only) f |= kFeatureRo;
  return f;
}

void BlkDevice::read_config(std::uint32_t offset, std::span<std::byte> out) const {
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = offset + i < config_.size() ? config_[offset + i] : std::byte{0};
  }
}

std::expected<void, std::string> BlkDevice::activate(const virtio::ActivateParams& params) {
  if (params.queues.size() != 1) return std::unexpected(std::string("virtio-blk has one queue"));
  virtio::Virtqueue q(queue_size_);
  q.set_config(params.queues[0]);
  if (auto r = q.activate(params.memory, params.driver_features); !r) {
    return std::unexpected(std::string("virtio-blk queue: ") + virtio::to_string(r.error()));
  }
  queue_.emplace(std::move(q));
  interrupt_ = &params.interrupt;
  broken_ = false;
  return {};
}

void BlkDevice::reset() {
  queue_.reset();
  interrupt_ = nullptr;
  features_ = 0;
  broken_ = false;
}

void BlkDevice::queue_notify(std::uint16_t) {
  if (!queue_ || broken_) return;
  for (;;) {
    auto popped = queue_->pop();
    if (!popped || (*popped && !queue_->add_used((**popped).head(), serve(**popped)))) {
      broken_ = true;
      if (interrupt_) interrupt_->signal_needs_reset();
      return;
    }
    if (!*popped) break;
  }
  if (queue_->needs_notification() && interrupt_) interrupt_->signal_used_queue(0);
}

std::uint32_t BlkDevice::serve(const virtio::DescriptorChain& chain) {
  const GuestMemory& mem = queue_->memory();
  // Layout: 16-byte header (readable), data, 1 status byte (last writable).
  if (chain.readable_bytes() < kRequestHeaderSize || chain.writable_bytes() < 1) return 0;
  virtio::ChainReader reader(mem, chain);
  std::byte header[kRequestHeaderSize];
  reader.read(header);
  const std::uint32_t type = GuestMemory::load_le<std::uint32_t>(header);
  const std::uint64_t sector = GuestMemory::load_le<std::uint64_t>(header + 8);

  std::vector<Span> in_data;   // guest -> disk (after the header)
  std::vector<Span> out_data;  // disk -> guest (before the status byte)
  std::uint64_t skip = kRequestHeaderSize;
  Segment status_seg{};
  for (const Segment& s : chain.segments()) {
    if (!s.writable) {
      const std::uint64_t drop = std::min<std::uint64_t>(skip, s.len);
      skip -= drop;
      if (s.len > drop) in_data.push_back({s.gpa + drop, static_cast<std::uint32_t>(s.len - drop)});
    } else {
      out_data.push_back({s.gpa, s.len});
      status_seg = s;
    }
  }
  // Carve the status byte off the end of the last writable buffer.
  const std::uint64_t status_gpa = status_seg.gpa + status_seg.len - 1;
  if (--out_data.back().len == 0) out_data.pop_back();

  const std::uint64_t in_len = chain.readable_bytes() - kRequestHeaderSize;
  const std::uint64_t out_len = chain.writable_bytes() - 1;
  std::uint8_t status = kStatusOk;
  std::uint32_t written = 0;

  auto in_range = [&](std::uint64_t len) {
    if (len % kSectorSize != 0 || len > cfg_.max_request_bytes) return false;
    const std::uint64_t sectors = len / kSectorSize;
    return sector <= capacity_ && sectors <= capacity_ - sector;
  };
  auto do_io = [&](const std::vector<Span>& spans, bool to_disk) {
    buffers_.clear();
    for (const Span& s : spans) {
      // The chain's segments were checked at pop(); slice() checks again
      // because guest memory is the only authority on what lies where.
      auto view = mem.slice(s.gpa, s.len);
      if (!view) return false;
      buffers_.push_back(*view);
    }
    const std::uint64_t offset = sector * kSectorSize;
    return (to_disk ? disk_->write(offset, buffers_) : disk_->read(offset, buffers_)).has_value();
  };

  switch (type) {
    case kTypeIn:
      if (!in_range(out_len)) {
        status = kStatusIoErr;
      } else if (!do_io(out_data, false)) {
        status = kStatusIoErr;
      } else {
        written = static_cast<std::uint32_t>(out_len);
      }
      break;
    case kTypeOut:
      if (cfg_.read_only || !in_range(in_len) || !do_io(in_data, true)) status = kStatusIoErr;
      break;
    case kTypeFlush:
      if (!disk_->flush()) status = kStatusIoErr;
      break;
    case kTypeGetId: {
      std::array<std::byte, kIdBytes> id{};
      std::memcpy(id.data(), cfg_.id.data(), std::min(cfg_.id.size(), kIdBytes));
      virtio::ChainWriter writer(mem, chain);
      const std::size_t n = std::min<std::uint64_t>(out_len, kIdBytes);
      written = static_cast<std::uint32_t>(writer.write(std::span(id.data(), n)));
      break;
    }
    default:
      status = kStatusUnsupported;
      break;
  }
  if (!mem.write_le<std::uint8_t>(status_gpa, status)) return written;
  return written + 1;
}

}  // namespace voidbox::blk
