#include "fake_registry.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <map>
#include <sstream>

#include "auth.hpp"
#include "process.hpp"

namespace voidbox::oci_test {
namespace {

namespace json = boost::json;

constexpr const char* kToken = "fake-token-123";

// Returns how many bytes reached the socket.
size_t send_all(int fd, const char* data, size_t size) {
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  return sent;
}

// Returns how many bytes of `body` reached the socket.
size_t respond(int fd, int status, const std::string& reason,
               const std::vector<std::string>& headers, const std::string& body) {
  std::ostringstream head;
  head << "HTTP/1.1 " << status << " " << reason << "\r\n";
  for (const auto& h : headers) head << h << "\r\n";
  head << "Content-Length: " << body.size() << "\r\nConnection: close\r\n\r\n";
  const size_t head_size = head.str().size();
  std::string text = head.str() + body;
  const size_t sent = send_all(fd, text.data(), text.size());
  return sent > head_size ? sent - head_size : 0;
}

std::string media_type_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return "application/octet-stream";
  const auto* t = v.as_object().if_contains("mediaType");
  return t && t->is_string() ? std::string(t->as_string())
                             : "application/vnd.oci.image.manifest.v1+json";
}

}  // namespace

FakeRegistry::FakeRegistry(FakeRegistryOptions options) : options_(std::move(options)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  ::listen(listen_fd_, 64);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeRegistry::~FakeRegistry() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::lock_guard lock(mutex_);
  for (auto& t : connections_) t.join();
}

void FakeRegistry::accept_loop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    connections_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
    });
  }
}

void FakeRegistry::serve(int fd) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  std::istringstream lines(request);
  std::string method, target, version;
  lines >> method >> target >> version;
  std::map<std::string, std::string> headers;
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && line != "\r") {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (!value.empty() && value.back() == '\r') value.pop_back();
    headers[name] = value;
  }

  if (target.starts_with("/token")) {
    ++token_requests;
    std::string expected =
        "Basic " + voidbox::oci::base64_encode(options_.user + ":" + options_.password);
    if (headers["authorization"] != expected) {
      respond(fd, 401, "Unauthorized", {"Content-Type: application/json"},
              R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})");
      return;
    }
    std::string field = options_.access_token_field ? "access_token" : "token";
    respond(fd, 200, "OK", {"Content-Type: application/json"},
            "{\"" + field + "\":\"" + kToken + "\",\"expires_in\":300}");
    return;
  }
  if (!target.starts_with("/v2/")) {
    respond(fd, 404, "Not Found", {}, "");
    return;
  }
  if (headers["authorization"] != std::string("Bearer ") + kToken) {
    ++unauthorized;
    respond(fd, 401, "Unauthorized",
            {"WWW-Authenticate: Bearer realm=\"http://" + host() +
                 "/token\",service=\"fake-registry\",scope=\"repository:test/image:pull\"",
             "Content-Type: application/json"},
            R"({"errors":[{"code":"UNAUTHORIZED","message":"token required"}]})");
    return;
  }
  auto manifests = target.find("/manifests/");
  auto blobs = target.find("/blobs/");
  std::string digest;
  if (manifests != std::string::npos) {
    std::string ref = target.substr(manifests + 11);
    if (ref.starts_with("sha256:")) {
      digest = ref;
    } else {
      auto index = json::parse(read_file(options_.layout_dir + "/index.json"));
      for (const auto& m : index.at("manifests").as_array()) {
        const auto& annotations = m.at("annotations").as_object();
        if (annotations.at("org.opencontainers.image.ref.name").as_string() == ref) {
          digest = std::string(m.at("digest").as_string());
        }
      }
    }
    std::string body =
        digest.empty() ? "" : read_file(options_.layout_dir + "/blobs/sha256/" + digest.substr(7));
    if (body.empty()) {
      respond(fd, 404, "Not Found", {"Content-Type: application/json"},
              R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"no such manifest"}]})");
      return;
    }
    respond(fd, 200, "OK",
            {"Content-Type: " + media_type_of(body), "Docker-Content-Digest: " + digest}, body);
    return;
  }
  if (blobs == std::string::npos) {
    respond(fd, 404, "Not Found", {}, "");
    return;
  }
  digest = target.substr(blobs + 7);
  std::string body = read_file(options_.layout_dir + "/blobs/sha256/" + digest.substr(7));
  if (blob_requests_++ < options_.fail_blob_requests) {
    ++served_503;
    respond(fd, 503, "Service Unavailable", {}, "try again");
    return;
  }
  size_t start = 0;
  if (auto range = headers.find("range"); range != headers.end()) {
    ++range_requests;
    if (!options_.ignore_range)
      start = std::stoull(range->second.substr(range->second.find('=') + 1));
  }
  if (start == 0 && options_.drop_after_bytes > 0 && body.size() >= options_.drop_min_blob_size &&
      dropped == 0) {
    ++dropped;
    std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    send_all(fd, head.data(), head.size());
    count_blob_bytes(digest, send_all(fd, body.data(), options_.drop_after_bytes));
    return;  // the connection closes mid-body
  }
  if (start > 0) {
    count_blob_bytes(digest,
                     respond(fd, 206, "Partial Content",
                             {"Content-Range: bytes " + std::to_string(start) + "-" +
                              std::to_string(body.size() - 1) + "/" + std::to_string(body.size())},
                             body.substr(start)));
    return;
  }
  count_blob_bytes(digest,
                   respond(fd, 200, "OK", {"Content-Type: application/octet-stream"}, body));
}

void FakeRegistry::count_blob_bytes(const std::string& digest, size_t n) {
  std::lock_guard lock(bytes_mutex_);
  blob_bytes_[digest] += n;
}

std::uint64_t FakeRegistry::blob_bytes_sent(const std::string& digest) const {
  std::lock_guard lock(bytes_mutex_);
  auto it = blob_bytes_.find(digest);
  return it == blob_bytes_.end() ? 0 : it->second;
}

}  // namespace voidbox::oci_test
