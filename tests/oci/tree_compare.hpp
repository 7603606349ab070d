// Compares two directory trees: paths, types, permission bits, sizes, symlink
// targets and file content hashes.
#pragma once

#include <string>
#include <vector>

namespace voidbox::oci_test {

// Human-readable differences; empty when the trees match.
std::vector<std::string> compare_trees(const std::string& expected, const std::string& actual);

}  // namespace voidbox::oci_test
