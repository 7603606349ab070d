#include "cli/verb_options.hpp"

#include <ostream>

namespace voidbox::cli {

namespace po = boost::program_options;

std::optional<int> parse_verb_options(VerbContext& ctx, const std::vector<std::string>& args,
                                      const std::string& usage, po::options_description& options,
                                      const po::positional_options_description& positional,
                                      po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      ctx.out << usage << "\n" << options;
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    ctx.err << "voidbox " << ctx.verb << ": " << e.what() << "\n" << usage;
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace voidbox::cli
