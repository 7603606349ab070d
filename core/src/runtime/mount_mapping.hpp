// From `sandbox.mounts` and the sandbox's disks to what the VM needs: one
// virtio-9p or virtiofs device per mount (by its type; tags voidbox0,
// voidbox1, ...), one virtio-blk device per disk (serials vb-disk0, ...),
// and one guest argument each,
//   voidbox.mount<N>=<tag>,<guest path>,ro|rw[,virtiofs]
//   voidbox.disk<N>=<serial>,<guest path>,ro|rw
// which the guest agent mounts before it serves.
#pragma once

#include <boost/json.hpp>
#include <expected>
#include <string>
#include <vector>

#include "voidbox/sandbox.hpp"
#include "voidbox/spec.hpp"

namespace voidbox::runtime {

// The KVM VMM has 8 virtio-mmio slots; vsock and the network take two, and
// mounts and disks share the rest.
inline constexpr std::size_t kMaxMounts = 6;
// The guest agent's command user, whom every shared file is presented as
// owned by so that it can write read-write shares.
inline constexpr std::uint32_t kShareOwnerUid = 1000;
inline constexpr std::uint32_t kShareOwnerGid = 1000;

struct MountPlan {
  boost::json::array devices;  // VM config `devices` entries
  std::vector<std::string> guest_args;
};

// Host paths are made absolute (relative ones from the current directory); a
// read-write host directory that does not exist is created, a read-only one
// that does not exist is an error, as is a guest path the guest argument
// cannot carry (not absolute, "/", whitespace, commas, "..").
// A disk image must exist and be a regular file.
std::expected<MountPlan, std::string> plan_mounts(const std::vector<spec::Mount>& mounts,
                                                  const std::vector<DiskAttachment>& disks = {});

}  // namespace voidbox::runtime
