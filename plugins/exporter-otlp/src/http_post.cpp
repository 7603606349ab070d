#include "http_post.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <string_view>

namespace voidbox::otlp {
namespace {

struct Exchange {
  std::optional<std::chrono::seconds> retry_after;
  const std::atomic<bool>* abort = nullptr;
};

// Retry-After is either delay-seconds or an HTTP date; only the first is
// worth parsing here (a date falls back to the exponential backoff).
size_t on_header(char* data, size_t size, size_t count, void* user) {
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) match = false;
    }
    if (match) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      long seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && seconds >= 0 && end != value.data()) {
        static_cast<Exchange*>(user)->retry_after = std::chrono::seconds(seconds);
      }
    }
  }
  return n;
}

size_t discard_body(char*, size_t size, size_t count, void*) {
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Exchange*>(user)->abort->load() ? 1 : 0;
}

}  // namespace

HttpPoster::HttpPoster() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpPoster::~HttpPoster() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

PostOutcome HttpPoster::post(const std::string& url, const char* content_type,
                             const std::string& body,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::chrono::milliseconds timeout, const std::atomic<bool>& abort) {
  PostOutcome out;
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    out.error = "libcurl could not start";
    return out;
  }
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  list = curl_slist_append(list, (std::string("Content-Type: ") + content_type).c_str());
  for (const auto& [name, value] : headers) {
    // A header that would split the request is not sent.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      continue;
    }
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  Exchange exchange;
  exchange.abort = &abort;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long>(timeout.count(), 2000)));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (code != CURLE_OK) {
    out.error = curl_easy_strerror(code);
    return out;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  out.sent = true;
  out.retry_after = exchange.retry_after;
  return out;
}

}  // namespace voidbox::otlp
