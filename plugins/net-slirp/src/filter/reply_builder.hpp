// Frames the filter sends to the guest in reply to one it received: the
// addresses and ports of the request swapped, every checksum filled in.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "filter/frame_parser.hpp"

namespace voidbox::net {

// The RST a closed port would send (RFC 9293 3.10.7.1): for a segment
// without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; with ACK,
// <SEQ=SEG.ACK><CTL=RST>. `request` must have ip and tcp set.
std::vector<std::uint8_t> build_tcp_reset(const ParsedFrame& request);

// A UDP datagram carrying `payload` back to the sender of `request`, from the
// address and port it was sent to. `request` must have ip and udp set.
std::vector<std::uint8_t> build_udp_reply(const ParsedFrame& request,
                                          std::span<const std::uint8_t> payload);

}  // namespace voidbox::net
