// The JSON bodies of the daemon API, in the original's shapes: RunState,
// events (v1 dotted types, or v2 PascalCase), stage listings.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "daemon/run_store.hpp"

namespace voidbox::daemon {

std::string event_id(std::int64_t seq);  // "evt-<seq>"
std::string iso8601(std::int64_t ms);    // "2026-12-01T19:04:29.123Z"
std::string v2_event_type(const std::string& v1);

boost::json::object event_json(const RunRecord& run, const EventRecord& event, bool v2);

// `events` may be empty (listings leave them out).
boost::json::object run_json(const RunRecord& run, const std::vector<StageRecord>& stages,
                             const std::vector<ArtifactRecord>& artifacts,
                             const std::vector<EventRecord>& events, bool v2);

boost::json::object stage_json(const StageRecord& stage);

std::string retrieval_path(const std::string& run_id, const ArtifactRecord& artifact);

}  // namespace voidbox::daemon
