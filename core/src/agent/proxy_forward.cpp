// The proxy's upstream leg: one libcurl transfer per guest request, its
// response relayed to the guest chunk by chunk as libcurl receives it.
#include <curl/curl.h>

#include <boost/beast/http/status.hpp>
#include <cctype>
#include <cstdio>
#include <mutex>

#include "agent/proxy_internal.hpp"

namespace voidbox::agent::detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Relay {
  int client_fd = -1;
  const std::atomic<bool>* stopping = nullptr;
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bool head_sent = false;
  bool client_failed = false;
  bool no_body = false;  // 204, 304

  bool send_head() {
    head_sent = true;
    no_body = status == 204 || status == 304;
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       std::string(boost::beast::http::obsolete_reason(
                           static_cast<boost::beast::http::status>(status))) +
                       "\r\n";
    for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
    if (!no_body) head += "Transfer-Encoding: chunked\r\n";
    head += "\r\n";
    if (!send_all(client_fd, head)) client_failed = true;
    return !client_failed;
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* relay = static_cast<Relay*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 1xx, or a redirect we do not follow) starts over.
    relay->headers.clear();
    const std::size_t space = line.find(' ');
    relay->status = space == std::string_view::npos
                        ? 0
                        : std::atol(std::string(line.substr(space + 1, 3)).c_str());
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string name = lower(line.substr(0, colon));
  if (is_hop_by_hop(name) || name == "content-length") return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  relay->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* relay = static_cast<Relay*>(user);
  const std::size_t n = size * count;
  if (n == 0) return 0;
  if (!relay->head_sent && !relay->send_head()) return 0;
  if (relay->no_body) return n;
  char prefix[24];
  const int len = std::snprintf(prefix, sizeof prefix, "%zx\r\n", n);
  if (!send_all(relay->client_fd, std::string_view(prefix, static_cast<std::size_t>(len))) ||
      !send_all(relay->client_fd, std::string_view(data, n)) ||
      !send_all(relay->client_fd, "\r\n")) {
    relay->client_failed = true;
    return 0;  // aborts the transfer: the guest went away
  }
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Relay*>(user)->stopping->load() ? 1 : 0;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "proxy-authenticate" || name == "proxy-authorization" || name == "te" ||
         name == "trailer" || name == "transfer-encoding" || name == "upgrade";
}

ForwardResult forward(const OutboundRequest& request, int client_fd,
                      const CredentialProxy::Options& options, const std::atomic<bool>& stopping) {
  init_curl_once();
  ForwardResult result;
  CURL* curl = curl_easy_init();
  if (!curl) {
    result.error = "libcurl could not start a transfer";
    return result;
  }
  Relay relay;
  relay.client_fd = client_fd;
  relay.stopping = &stopping;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // No 100-continue round trip, and no Accept-Encoding of our own: the body
  // is relayed byte for byte with the upstream's own Content-Encoding.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &relay);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &relay);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &relay);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);

  if (rc == CURLE_OK) {
    if (!relay.head_sent) relay.send_head();
    if (!relay.client_failed && !relay.no_body)
      relay.client_failed = !send_all(client_fd, "0\r\n\r\n");
    result.ok = !relay.client_failed;
  } else {
    result.error = relay.client_failed ? "the guest closed the connection" : curl_easy_strerror(rc);
  }
  result.response_started = relay.head_sent;
  return result;
}

}  // namespace voidbox::agent::detail
