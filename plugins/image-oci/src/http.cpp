#include "http.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <cctype>
#include <memory>
#include <mutex>

namespace voidbox::oci {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr size_t kMaxHeaderBytes = 64 * 1024;

struct Transfer {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  size_t max_body = 0;
  HttpResponse response;
  size_t header_bytes = 0;
  bool too_large = false;
  bool sink_aborted = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) return 0;
  std::string line(data, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response after a redirect or 100
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value_start = line.find_first_not_of(" \t", colon + 1);
  t->response.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  if (success && t->sink != nullptr && *t->sink) {
    if (!(*t->sink)(status, data, n)) {
      t->sink_aborted = true;
      return 0;
    }
    return n;
  }
  size_t limit = success ? t->max_body : kMaxErrorBody;
  if (t->response.body.size() + n > limit) {
    if (!success) return n;  // an error body is only for messages: keep its head
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<HttpResponse> http_get(const HttpRequest& request, size_t max_body, const BodySink& sink) {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail(VB_ERR_INTERNAL, "curl_easy_init failed");
  Transfer t;
  t.curl = curl.get();
  t.sink = &sink;
  t.max_body = max_body;

  curl_slist* raw_headers = nullptr;
  for (const auto& h : request.headers) raw_headers = curl_slist_append(raw_headers, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers,
                                                                      curl_slist_free_all);
  std::string range;
  if (request.range_start > 0) range = std::to_string(request.range_start) + "-";

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  // Only http(s), also across redirects.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "voidbox-oci/0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled transfer (under 1 KiB/s for 60 s) is a connection error we retry.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (!range.empty()) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());

  CURLcode rc = curl_easy_perform(c);
  if (t.too_large) {
    return fail(VB_ERR_IO,
                "GET " + request.url + ": body larger than " + std::to_string(max_body) + " bytes");
  }
  if (t.sink_aborted) return fail(VB_ERR_IO, "GET " + request.url + ": aborted by the receiver");
  if (rc != CURLE_OK) {
    return std::unexpected(
        Error{VB_ERR_IO, "GET " + request.url + ": " + curl_easy_strerror(rc), true});
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  return std::move(t.response);
}

std::string registry_error_text(const std::string& body) {
  boost::system::error_code ec;
  auto root = boost::json::parse(body, ec);
  if (ec || !root.is_object()) return {};
  const auto* errors = root.as_object().if_contains("errors");
  if (errors == nullptr || !errors->is_array() || errors->as_array().empty()) return {};
  const auto& first = errors->as_array().front();
  if (!first.is_object()) return {};
  std::string out;
  if (const auto* code = first.as_object().if_contains("code"); code && code->is_string()) {
    out = std::string(code->as_string());
  }
  if (const auto* msg = first.as_object().if_contains("message"); msg && msg->is_string()) {
    out += (out.empty() ? "" : ": ") + std::string(msg->as_string());
  }
  return out;
}

}  // namespace voidbox::oci
