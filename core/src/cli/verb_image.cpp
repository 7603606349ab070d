// `voidbox image pull|list|rm|prune|unpack|disk`: OCI images through the
// image-source plugin and its content-addressed cache.
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/image_build.hpp"
#include "cli/verb.hpp"
#include "cli/verb_options.hpp"
#include "images/image_source.hpp"
#include "voidbox/plugin/registry.hpp"

namespace voidbox::cli {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr const char* kUsage =
    "usage: voidbox image <command> [options]\n\n"
    "Commands:\n"
    "  pull REF [--platform OS/ARCH] [--disk]   fetch an image into the cache\n"
    "  list                                      cached images\n"
    "  rm REF|DIGEST                             forget a cached image\n"
    "  prune                                     delete blobs and disks no image uses\n"
    "  unpack REF DIR                            write the image's rootfs into DIR\n"
    "  disk REF                                  build (or find) the ext4 rootfs disk, print its "
    "path\n"
    "  build claude|codex                        build (or find) the agent disk, print its path\n\n"
    "REF is [host[:port]/]name[:tag][@sha256:digest]; docker.io is the default registry.\n"
    "Credentials: VOIDBOX_REGISTRY_USER/VOIDBOX_REGISTRY_PASSWORD or ~/.docker/config.json.\n"
    "Run `voidbox image <command> --help` for a command's options.\n";

struct CommonOptions {
  std::string cache_dir;
  std::string platform;
  std::vector<std::string> insecure;
  int jobs = 4;
  std::string source = "oci";
};

void add_common(po::options_description& options, CommonOptions& common) {
  options.add_options()("cache-dir", po::value(&common.cache_dir),
                        "cache directory (default ${XDG_CACHE_HOME:-~/.cache}/voidbox/oci)")(
      "insecure-registry", po::value(&common.insecure)->composing(),
      "host[:port] to reach over plain http (repeatable)")(
      "image-source", po::value(&common.source)->default_value("oci"), "image source plugin");
}

std::string source_config(const CommonOptions& common) {
  json::object config;
  if (!common.cache_dir.empty()) config["cache_dir"] = common.cache_dir;
  if (!common.platform.empty()) config["platform"] = common.platform;
  if (!common.insecure.empty()) {
    config["insecure_registries"] = json::array(common.insecure.begin(), common.insecure.end());
  }
  config["max_concurrent_downloads"] = common.jobs;
  return json::serialize(config);
}

struct Session {
  plugin::Registry registry;
  std::unique_ptr<images::ImageSource> source;
};

std::unique_ptr<Session> open_source(VerbContext& ctx, const CommonOptions& common) {
  auto session = std::make_unique<Session>();
  session->registry.load_default();
  auto source =
      images::ImageSource::create(session->registry, common.source, source_config(common));
  if (!source) {
    ctx.err << "voidbox image: " << source.error().message << "\n";
    for (const auto& failure : session->registry.failures()) {
      ctx.err << "  plugin " << failure.path.string() << ": " << failure.reason << "\n";
    }
    return nullptr;
  }
  session->source = std::move(*source);
  return session;
}

std::string human_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  else if (bytes >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string short_digest(std::string_view digest) {
  return std::string(digest.substr(digest.find(':') + 1, 12));
}

// Per-layer lines redrawn in place on a terminal; silent otherwise.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::ostream& err) : err_(err), enabled_(::isatty(STDERR_FILENO) != 0) {}

  bool update(const images::PullProgress& p) {
    if (!enabled_) return true;
    if (layers_.size() < p.layer_count) layers_.resize(p.layer_count);
    if (p.layer_index >= layers_.size()) return true;
    bool state_changed = layers_[p.layer_index].state != p.state;
    layers_[p.layer_index] = p;
    auto now = std::chrono::steady_clock::now();
    if (!state_changed && now - last_draw_ < std::chrono::milliseconds(100)) return true;
    last_draw_ = now;
    draw();
    return true;
  }

 private:
  void draw() {
    std::ostringstream frame;
    if (drawn_lines_ > 0) frame << "\x1b[" << drawn_lines_ << "A";
    for (const auto& layer : layers_) {
      const char* state = "waiting";
      switch (layer.state) {
        case VB_IMAGE_PROGRESS_WAITING:
          state = "waiting";
          break;
        case VB_IMAGE_PROGRESS_DOWNLOADING:
          state = "downloading";
          break;
        case VB_IMAGE_PROGRESS_VERIFYING:
          state = "verifying";
          break;
        case VB_IMAGE_PROGRESS_DONE:
          state = "done";
          break;
        case VB_IMAGE_PROGRESS_CACHED:
          state = "cached";
          break;
      }
      frame << "\x1b[2K"
            << (layer.digest.empty() ? std::string(12, ' ') : short_digest(layer.digest)) << "  "
            << state << "  " << human_bytes(layer.bytes_done) << " / "
            << human_bytes(layer.bytes_total) << "\n";
    }
    drawn_lines_ = layers_.size();
    err_ << frame.str() << std::flush;
  }

  std::ostream& err_;
  bool enabled_;
  std::vector<images::PullProgress> layers_;
  size_t drawn_lines_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

void print_json(VerbContext& ctx, const json::value& value) {
  ctx.out << json::serialize(value) << "\n";
}

int fail(VerbContext& ctx, const images::Error& error) {
  ctx.err << "voidbox image: " << error.message << "\n";
  return kExitFailure;
}

std::string pull_options(const std::string& platform) {
  if (platform.empty()) return {};
  return json::serialize(json::object{{"platform", platform}});
}

std::expected<json::value, images::Error> do_pull(VerbContext& ctx, images::ImageSource& source,
                                                  const std::string& ref,
                                                  const std::string& platform) {
  ProgressDisplay display(ctx.err);
  return source.pull(ref, pull_options(platform),
                     [&](const images::PullProgress& p) { return display.update(p); });
}

int cmd_pull(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  std::string ref;
  bool disk = false;
  po::options_description options("voidbox image pull options");
  add_common(options, common);
  options.add_options()("ref", po::value(&ref)->required(), "image reference")(
      "platform", po::value(&common.platform),
      "os/arch[/variant] to pick from a multi-platform image (default linux/amd64)")(
      "jobs,j", po::value(&common.jobs)->default_value(4), "concurrent layer downloads")(
      "disk", po::bool_switch(&disk), "also build the ext4 rootfs disk and print its path");
  po::positional_options_description positional;
  positional.add("ref", 1);
  po::variables_map vm;
  if (auto rc = parse_verb_options(ctx, args, "usage: voidbox image pull REF [options]", options,
                                   positional, vm))
    return *rc;
  if (common.jobs < 1 || common.jobs > 32) {
    ctx.err << "voidbox image pull: --jobs must be between 1 and 32\n";
    return kExitUsage;
  }
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto pulled = do_pull(ctx, *session->source, ref, common.platform);
  if (!pulled) return fail(ctx, pulled.error());
  json::object result = pulled->as_object();
  if (disk) {
    auto built =
        session->source->build_rootfs_disk(json::value_to<std::string>(result["manifest_digest"]));
    if (!built) return fail(ctx, built.error());
    result["disk"] = *built;
  }
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, result);
    return kExitOk;
  }
  std::uint64_t total = 0;
  for (const auto& l : result["layers"].as_array())
    total += l.at("size").to_number<std::uint64_t>();
  ctx.out << "pulled " << json::value_to<std::string>(result["reference"]) << "\n"
          << "  digest    " << json::value_to<std::string>(result["manifest_digest"]) << "\n"
          << "  platform  " << json::value_to<std::string>(result["platform"]) << "\n"
          << "  layers    " << result["layers"].as_array().size() << " (" << human_bytes(total)
          << ", " << human_bytes(result["downloaded_bytes"].to_number<std::uint64_t>())
          << " downloaded)\n";
  if (disk)
    ctx.out << "  disk      " << json::value_to<std::string>(result["disk"].at("path")) << "\n";
  return kExitOk;
}

int cmd_list(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  po::options_description options("voidbox image list options");
  add_common(options, common);
  po::variables_map vm;
  if (auto rc =
          parse_verb_options(ctx, args, "usage: voidbox image list [options]", options, {}, vm))
    return *rc;
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto listed = session->source->list();
  if (!listed) return fail(ctx, listed.error());
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, *listed);
    return kExitOk;
  }
  const auto& images = listed->at("images").as_array();
  if (images.empty()) {
    ctx.out << "no cached images\n";
    return kExitOk;
  }
  for (const auto& image : images) {
    ctx.out << json::value_to<std::string>(image.at("reference")) << "  "
            << short_digest(json::value_to<std::string>(image.at("manifest_digest"))) << "  "
            << json::value_to<std::string>(image.at("platform")) << "  "
            << human_bytes(image.at("size").to_number<std::uint64_t>()) << "\n";
  }
  return kExitOk;
}

int cmd_rm(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  std::string ref;
  po::options_description options("voidbox image rm options");
  add_common(options, common);
  options.add_options()("ref", po::value(&ref)->required(), "reference or manifest digest");
  po::positional_options_description positional;
  positional.add("ref", 1);
  po::variables_map vm;
  if (auto rc = parse_verb_options(ctx, args, "usage: voidbox image rm REF|DIGEST [options]",
                                   options, positional, vm))
    return *rc;
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto removed = session->source->remove(ref);
  if (!removed) return fail(ctx, removed.error());
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, *removed);
    return kExitOk;
  }
  for (const auto& r : removed->at("removed").as_array()) {
    ctx.out << "removed " << json::value_to<std::string>(r) << "\n";
  }
  ctx.out << "(run `voidbox image prune` to free the space of unused blobs)\n";
  return kExitOk;
}

int cmd_prune(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  po::options_description options("voidbox image prune options");
  add_common(options, common);
  po::variables_map vm;
  if (auto rc =
          parse_verb_options(ctx, args, "usage: voidbox image prune [options]", options, {}, vm))
    return *rc;
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto pruned = session->source->prune();
  if (!pruned) return fail(ctx, pruned.error());
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, *pruned);
    return kExitOk;
  }
  ctx.out << "removed " << pruned->at("removed_blobs").to_number<std::uint64_t>() << " blobs and "
          << pruned->at("removed_disks").to_number<std::uint64_t>() << " disks, freed "
          << human_bytes(pruned->at("freed_bytes").to_number<std::uint64_t>()) << "\n";
  return kExitOk;
}

// unpack and disk work from the cache and pull first when the image is not there.
template <class Op>
std::expected<json::value, images::Error> with_pull_if_missing(VerbContext& ctx,
                                                               images::ImageSource& source,
                                                               const std::string& ref,
                                                               const std::string& platform, Op op) {
  auto result = op();
  if (result || result.error().status != VB_ERR_NOT_FOUND || ref.starts_with("sha256:"))
    return result;
  auto pulled = do_pull(ctx, source, ref, platform);
  if (!pulled) return std::unexpected(pulled.error());
  return op();
}

int cmd_unpack(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  std::string ref, dir;
  po::options_description options("voidbox image unpack options");
  add_common(options, common);
  options.add_options()("ref", po::value(&ref)->required(), "image reference or manifest digest")(
      "dir", po::value(&dir)->required(), "destination directory (missing or empty)")(
      "platform", po::value(&common.platform), "os/arch[/variant] when the image must be pulled");
  po::positional_options_description positional;
  positional.add("ref", 1).add("dir", 1);
  po::variables_map vm;
  if (auto rc = parse_verb_options(ctx, args, "usage: voidbox image unpack REF DIR [options]",
                                   options, positional, vm))
    return *rc;
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto report = with_pull_if_missing(ctx, *session->source, ref, common.platform,
                                     [&] { return session->source->unpack(ref, dir); });
  if (!report) return fail(ctx, report.error());
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, *report);
    return kExitOk;
  }
  const auto& r = report->as_object();
  ctx.out << "unpacked " << r.at("entries").to_number<std::uint64_t>() << " entries from "
          << r.at("layers").to_number<std::uint64_t>() << " layers into " << dir << "\n";
  auto skipped = r.at("skipped_devices").to_number<std::uint64_t>();
  auto owners = r.at("ownership_errors").to_number<std::uint64_t>();
  auto perms = r.at("permission_errors").to_number<std::uint64_t>();
  auto xattrs = r.at("xattr_errors").to_number<std::uint64_t>();
  if (skipped) ctx.out << "  skipped " << skipped << " device nodes\n";
  if (owners) ctx.out << "  could not set ownership of " << owners << " entries (unprivileged)\n";
  if (perms) ctx.out << "  could not set mode or time of " << perms << " entries\n";
  if (xattrs) ctx.out << "  could not set " << xattrs << " extended attributes\n";
  return kExitOk;
}

int cmd_disk(VerbContext& ctx, const std::vector<std::string>& args) {
  CommonOptions common;
  std::string ref;
  po::options_description options("voidbox image disk options");
  add_common(options, common);
  options.add_options()("ref", po::value(&ref)->required(), "image reference or manifest digest")(
      "platform", po::value(&common.platform), "os/arch[/variant] when the image must be pulled");
  po::positional_options_description positional;
  positional.add("ref", 1);
  po::variables_map vm;
  if (auto rc = parse_verb_options(ctx, args, "usage: voidbox image disk REF [options]", options,
                                   positional, vm))
    return *rc;
  auto session = open_source(ctx, common);
  if (!session) return kExitFailure;
  auto built = with_pull_if_missing(ctx, *session->source, ref, common.platform,
                                    [&] { return session->source->build_rootfs_disk(ref); });
  if (!built) return fail(ctx, built.error());
  if (ctx.global.output == OutputFormat::json) {
    print_json(ctx, *built);
  } else {
    ctx.out << json::value_to<std::string>(built->at("path")) << "\n";
  }
  return kExitOk;
}

}  // namespace

int run_image(VerbContext& ctx) {
  if (ctx.args.empty()) {
    ctx.err << kUsage;
    return kExitUsage;
  }
  const std::string command = ctx.args.front();
  std::vector<std::string> rest(ctx.args.begin() + 1, ctx.args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    ctx.out << kUsage;
    return kExitOk;
  }
  if (command == "pull") return cmd_pull(ctx, rest);
  if (command == "list" || command == "ls") return cmd_list(ctx, rest);
  if (command == "rm" || command == "remove") return cmd_rm(ctx, rest);
  if (command == "prune") return cmd_prune(ctx, rest);
  if (command == "unpack") return cmd_unpack(ctx, rest);
  if (command == "disk") return cmd_disk(ctx, rest);
  if (command == "build") return cmd_image_build(ctx, rest);
  ctx.err << "voidbox image: unknown command '" << command << "'\n" << kUsage;
  return kExitUsage;
}

}  // namespace voidbox::cli
