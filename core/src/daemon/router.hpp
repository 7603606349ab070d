// The daemon's routes, independent of the transport: a parsed request in,
// a response (or the start of an event stream) out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "daemon/run_manager.hpp"

namespace voidbox::daemon {

struct Request {
  std::string method;  // GET POST PUT ...
  std::string target;  // path and query
  std::string body;
  std::string accept;
  std::string last_event_id;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Set instead of a body when the client asked for server-sent events.
struct EventStream {
  std::string run_id;
  std::int64_t after_seq = 0;
  bool v2 = false;
};

struct Reply {
  Response response;
  std::optional<EventStream> stream;
};

Response error_response(const ApiError& error);

// "%41b" -> "Ab"; '+' is a space in queries.
std::string percent_decode(std::string_view text, bool query);
std::map<std::string, std::string> parse_query(std::string_view query);

class Router {
 public:
  explicit Router(RunManager& runs) : runs_(runs) {}
  Reply handle(const Request& request);

  // The SSE lines of the run's events after `after_seq`; `last_seq` moves
  // past them; `done` is set once the run is terminal and every event sent.
  std::string stream_chunk(const EventStream& stream, std::int64_t& last_seq, bool& done);

 private:
  ApiResult<Reply> route(const Request& request);
  RunManager& runs_;
};

}  // namespace voidbox::daemon
