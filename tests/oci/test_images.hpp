// The images every registry test uses, built once per run and pushed to two
// local registries (open and htpasswd-protected).
#pragma once

#include <memory>
#include <string>

#include "registry_server.hpp"

namespace voidbox::oci_test {

struct TestWorld {
  std::string work;  // scratch root of the run
  std::unique_ptr<RegistryServer> open;
  std::unique_ptr<RegistryServer> secured;
  std::string user = "tester";
  std::string password = "s3cret-pass";

  std::string umoci_layout;            // busybox image built with umoci, tag v1
  std::string umoci_reference_rootfs;  // `umoci unpack` of it
  std::string busybox_digest;          // manifest digest as pushed
  std::string big_file_sha256;         // of big.bin in the "big" image
  std::string outside;                 // a directory malicious layers aim at

  std::string voidbox;  // path of the CLI
  std::string error;    // set when building the world failed
};

// Builds the world or records why it could not.
void build_world(TestWorld& world);

}  // namespace voidbox::oci_test
