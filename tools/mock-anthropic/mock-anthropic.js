#!/usr/bin/env node
// A scripted stand-in for the Anthropic Messages API, written from the public
// API reference, so tests can run real clients (claude-code) without a network
// or a key. Node built-ins only.
//
//   node mock-anthropic.js --script turns.json --log requests.jsonl [--stdin-lifeline]
//
// Prints the port it listens on (127.0.0.1, chosen by the OS) as the first line
// of stdout. With --stdin-lifeline it exits when its stdin closes, so a test
// that dies never leaves it behind.
//
// Script file:
//   { "model": "claude-mock",                     (default for replies)
//     "turns": [                                  (matched in order, one per POST /v1/messages)
//       { "content": [ {"type": "tool_use", "name": "Bash",
//                       "input": {"command": "...", "description": "..."}} ] },
//       { "content": [ {"type": "text", "text": "done"} ],
//         "stop_reason": "end_turn",              (default: tool_use if a tool_use block, else end_turn)
//         "usage": {"input_tokens": 10, "output_tokens": 5},
//         "chunk_delay_ms": 0 },                  (pause between streamed events)
//       { "status": 529, "error": {"type": "overloaded_error", "message": "..."} } ] }
// A request after the last turn gets a 400 invalid_request_error, loudly.
//
// Log: one JSON line per request: seq, method, path, headers (x-api-key and
// authorization shown only as a SHA-256 prefix), body (parsed when JSON), turn.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

const kMaxBody = 32 * 1024 * 1024;

function parseArgs(argv) {
  const args = { script: null, log: null, lifeline: false };
  for (let i = 2; i < argv.length; ++i) {
    if (argv[i] === '--script') args.script = argv[++i];
    else if (argv[i] === '--log') args.log = argv[++i];
    else if (argv[i] === '--stdin-lifeline') args.lifeline = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!args.script || !args.log) throw new Error('usage: --script FILE --log FILE [--stdin-lifeline]');
  return args;
}

function fingerprint(secret) {
  return 'sha256:' + crypto.createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

function redactedHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'x-api-key') out[name] = fingerprint(value);
    else if (name === 'authorization') {
      const m = /^(\S+)\s+(.*)$/.exec(value);
      out[name] = m ? `${m[1]} ${fingerprint(m[2])}` : fingerprint(value);
    } else out[name] = value;
  }
  return out;
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
                          'request-id': `req_mock_${crypto.randomBytes(6).toString('hex')}` });
  res.end(body);
}

function apiError(res, status, type, message) {
  sendJson(res, status, { type: 'error', error: { type, message } });
}

// The reply's content blocks with ids filled in, so a tool_result can name them.
function replyBlocks(turn, turnIndex) {
  return (turn.content || []).map((block, i) => {
    if (block.type === 'tool_use') {
      return { type: 'tool_use', id: block.id || `toolu_mock_${turnIndex}_${i}`, name: block.name,
               input: block.input || {} };
    }
    return { type: 'text', text: block.text || '' };
  });
}

function estimateTokens(body) {
  return Math.max(1, Math.ceil(JSON.stringify(body.messages || []).length / 4));
}

function message(turn, turnIndex, body, model) {
  const content = replyBlocks(turn, turnIndex);
  const stopReason = turn.stop_reason || (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  const usage = Object.assign({ input_tokens: estimateTokens(body), output_tokens: 10 }, turn.usage || {});
  return { id: `msg_mock_${turnIndex}`, type: 'message', role: 'assistant', model, content,
           stop_reason: stopReason, stop_sequence: null, usage };
}

// Splits a string into a few pieces so clients see real incremental deltas.
function pieces(text, count) {
  if (text.length === 0) return [''];
  const size = Math.max(1, Math.ceil(text.length / count));
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function sseEvents(msg) {
  const events = [];
  const push = (type, data) => events.push({ type, data: Object.assign({ type }, data) });
  push('message_start', { message: Object.assign({}, msg, { content: [], stop_reason: null,
    usage: { input_tokens: msg.usage.input_tokens, output_tokens: 1 } }) });
  push('ping', {});
  msg.content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      push('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const part of pieces(JSON.stringify(block.input), 3)) {
        push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } });
      }
    } else {
      push('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const part of pieces(block.text, 3)) {
        push('content_block_delta', { index, delta: { type: 'text_delta', text: part } });
      }
    }
    push('content_block_stop', { index });
  });
  push('message_delta', { delta: { stop_reason: msg.stop_reason, stop_sequence: null },
                          usage: { output_tokens: msg.usage.output_tokens } });
  push('message_stop', {});
  return events;
}

function streamMessage(res, msg, delayMs) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache',
                       'request-id': `req_mock_${crypto.randomBytes(6).toString('hex')}` });
  const events = sseEvents(msg);
  let i = 0;
  const next = () => {
    if (i === events.length) return res.end();
    const e = events[i++];
    res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
    if (delayMs > 0) setTimeout(next, delayMs);
    else setImmediate(next);
  };
  next();
}

function main() {
  const args = parseArgs(process.argv);
  const script = JSON.parse(fs.readFileSync(args.script, 'utf8'));
  const turns = script.turns || [];
  const defaultModel = script.model || 'claude-mock-1';
  let nextTurn = 0;
  let seq = 0;
  const log = fs.openSync(args.log, 'a');

  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > kMaxBody) {
        apiError(res, 413, 'request_too_large', 'request body too large');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = raw;
      try { if (raw.length > 0) body = JSON.parse(raw); } catch { /* logged as text */ }
      const path = req.url.split('?')[0];
      const entry = { seq: seq++, method: req.method, path, url: req.url,
                      headers: redactedHeaders(req.headers), body };
      const respond = () => {
        if (req.method === 'POST' && path === '/v1/messages') {
          const index = nextTurn++;
          entry.turn = index;
          if (index >= turns.length) {
            return apiError(res, 400, 'invalid_request_error', `mock script has no turn ${index + 1}`);
          }
          const turn = turns[index];
          if (turn.status) {
            return apiError(res, turn.status, (turn.error && turn.error.type) || 'api_error',
                            (turn.error && turn.error.message) || 'scripted error');
          }
          const msg = message(turn, index, typeof body === 'object' ? body : {}, body.model || defaultModel);
          if (body.stream === true) return streamMessage(res, msg, turn.chunk_delay_ms || 0);
          return sendJson(res, 200, msg);
        }
        if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
          return sendJson(res, 200, { input_tokens: estimateTokens(typeof body === 'object' ? body : {}) });
        }
        if (req.method === 'GET' && path === '/v1/models') {
          return sendJson(res, 200, { data: [{ type: 'model', id: defaultModel, display_name: defaultModel,
                                               created_at: '2025-01-01T00:00:00Z' }],
                                      has_more: false, first_id: defaultModel, last_id: defaultModel });
        }
        if (req.method === 'GET' && path.startsWith('/v1/models/')) {
          const id = decodeURIComponent(path.slice('/v1/models/'.length));
          return sendJson(res, 200, { type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' });
        }
        return apiError(res, 404, 'not_found_error', `mock does not serve ${req.method} ${path}`);
      };
      // Logged just before the reply's head goes out, so a client that has
      // its answer always finds the request in the log.
      const writeHead = res.writeHead.bind(res);
      res.writeHead = (status, headers) => {
        entry.status = status;
        fs.writeSync(log, JSON.stringify(entry) + '\n');
        return writeHead(status, headers);
      };
      respond();
    });
  });

  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (args.lifeline) {
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
  }
}

main();
