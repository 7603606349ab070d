// OTLP export requests (ExportTraceServiceRequest, ExportMetricsServiceRequest,
// ExportLogsServiceRequest) as protobuf bytes or as OTLP/JSON, with every
// record of a batch under one resource and one instrumentation scope.
#pragma once

#include <string>
#include <vector>

#include "otlp_model.hpp"

namespace voidbox::otlp {

enum class Encoding { protobuf, json };

struct Origin {
  Attributes resource;  // service.name and friends
  std::string scope_name;
  std::string scope_version;
};

std::string encode_spans(const std::vector<Span>& spans, const Origin& origin, Encoding encoding);
std::string encode_metrics(const std::vector<Metric>& metrics, const Origin& origin,
                           Encoding encoding);
std::string encode_logs(const std::vector<LogRecord>& logs, const Origin& origin,
                        Encoding encoding);

}  // namespace voidbox::otlp
