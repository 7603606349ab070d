// A stand-in OpenTelemetry collector for the exporter tests: accepts
// OTLP/HTTP on /v1/traces, /v1/metrics and /v1/logs and decodes each body
// with the protobufjs code @opentelemetry/otlp-transformer generates from the
// official opentelemetry-proto definitions (never with VoidBox's encoder).
'use strict';
const http = require('node:http');

function hex(bytes) {
  return Buffer.from(bytes || []).toString('hex');
}

// `decoderPath`: the generated root.js. `failFirst`: how many requests to
// answer 503 (with Retry-After: 1) before accepting.
function startReceiver(decoderPath, { failFirst = 0 } = {}) {
  const root = require(decoderPath);
  const v1 = root.opentelemetry.proto.collector;
  const types = {
    '/v1/traces': v1.trace.v1.ExportTraceServiceRequest,
    '/v1/metrics': v1.metrics.v1.ExportMetricsServiceRequest,
    '/v1/logs': v1.logs.v1.ExportLogsServiceRequest,
  };
  const received = { spans: [], metrics: [], logs: [], requests: [], rejected: 0 };
  let toFail = failFirst;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const type = types[req.url];
      const contentType = req.headers['content-type'] || '';
      received.requests.push({ path: req.url, contentType, headers: req.headers });
      if (!type || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      if (toFail > 0) {
        toFail -= 1;
        received.rejected += 1;
        res.writeHead(503, { 'Retry-After': '1' }).end();
        return;
      }
      const body = Buffer.concat(chunks);
      let message;
      if (contentType === 'application/x-protobuf') {
        message = type.toObject(type.decode(body), { longs: String, enums: Number, bytes: Array });
      } else if (contentType === 'application/json') {
        const parsed = JSON.parse(body.toString('utf8'));
        // fromObject throws on a field of the wrong shape; the ids are read
        // from the JSON itself, where OTLP/JSON has them as hex.
        type.fromObject(parsed);
        message = parsed;
      } else {
        res.writeHead(415).end();
        return;
      }
      collect(message, contentType === 'application/json', received);
      res.writeHead(200, { 'Content-Type': contentType });
      res.end(contentType === 'application/json' ? '{}' : '');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, received }));
  });
}

function attributes(list) {
  const out = {};
  for (const kv of list || []) {
    const v = kv.value || {};
    if ('stringValue' in v) out[kv.key] = v.stringValue;
    else if ('intValue' in v) out[kv.key] = Number(v.intValue);
    else if ('doubleValue' in v) out[kv.key] = v.doubleValue;
    else if ('boolValue' in v) out[kv.key] = v.boolValue;
  }
  return out;
}

function id(value, json) {
  return json ? value || '' : hex(value);
}

function collect(message, json, received) {
  for (const rs of message.resourceSpans || []) {
    const resource = attributes(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        received.spans.push({
          resource,
          traceId: id(s.traceId, json),
          spanId: id(s.spanId, json),
          parentSpanId: id(s.parentSpanId, json),
          name: s.name,
          start: BigInt(s.startTimeUnixNano),
          end: BigInt(s.endTimeUnixNano),
          status: (s.status && s.status.code) || 0,
          attributes: attributes(s.attributes),
        });
      }
    }
  }
  for (const rm of message.resourceMetrics || []) {
    for (const sm of rm.scopeMetrics || []) {
      for (const m of sm.metrics || []) {
        const data = m.gauge || m.sum || {};
        for (const p of data.dataPoints || []) {
          const value = p.asDouble !== undefined && p.asDouble !== null ? p.asDouble : Number(p.asInt);
          received.metrics.push({ name: m.name, unit: m.unit, value, attributes: attributes(p.attributes) });
        }
      }
    }
  }
  for (const rl of message.resourceLogs || []) {
    for (const sl of rl.scopeLogs || []) {
      for (const l of sl.logRecords || []) {
        received.logs.push({
          severity: l.severityNumber,
          body: l.body && l.body.stringValue,
          traceId: id(l.traceId, json),
          spanId: id(l.spanId, json),
        });
      }
    }
  }
}

module.exports = { startReceiver };
