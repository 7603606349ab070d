#include <ostream>

#include "cli/verb.hpp"

namespace voidbox::cli {

int run_version(VerbContext& ctx) {
  if (!ctx.args.empty()) {
    ctx.err << "usage: voidbox version\n";
    return kExitUsage;
  }
  ctx.out << "voidbox " << VOIDBOX_VERSION << "\n";
  return kExitOk;
}

}  // namespace voidbox::cli
