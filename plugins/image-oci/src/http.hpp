// One HTTP GET over libcurl, with bounded buffering and a streaming body sink.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "result.hpp"

namespace voidbox::oci {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::uint64_t range_start = 0;     // > 0: ask for bytes from here on
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, of the final response
  std::string body;                            // only when no sink took it, or an error body
};

// Receives the body of a 2xx response (with its status, so a 200 answering a
// range request can be told from a 206); returning false aborts the transfer.
using BodySink = std::function<bool(long status, const char* data, size_t size)>;

// Performs the request. A transport failure (DNS, refused, reset, timeout)
// is a retryable Error with VB_ERR_IO; any HTTP status is a response. Bodies kept in
// memory are limited to `max_body` bytes (exceeding it is an error). With a
// sink, a 2xx body goes to the sink and is not kept.
Result<HttpResponse> http_get(const HttpRequest& request, size_t max_body,
                              const BodySink& sink = {});

// Error text from an OCI error body {"errors":[{"code","message"}]}, or "".
std::string registry_error_text(const std::string& body);

}  // namespace voidbox::oci
