// `voidbox run --backend process` against the stand-in collector in
// otlp_receiver.js: the span tree, metrics and logs of a workflow run decoded
// with the official OTLP definitions, OTLP/JSON, retries after 503, and a run
// with the collector down.
//   node otlp_export_test.js VOIDBOX_BINARY DECODER_ROOT_JS
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const test = require('node:test');
const { startReceiver } = require('./otlp_receiver.js');

const [voidbox, decoder] = process.argv.slice(2);
if (!voidbox || !decoder) throw new Error('usage: otlp_export_test.js VOIDBOX DECODER_ROOT_JS');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'voidbox-otlp-'));

function writeSpec(name, observe) {
  const file = path.join(work, `${name}.yaml`);
  fs.writeFileSync(file, `api_version: v1
kind: workflow
name: ${name}
${observe}
sandbox:
  snapshot: "deadbeef"
workflow:
  steps:
    - name: hello
      run: { program: echo, args: ["hello otlp"] }
    - name: shout
      depends_on: [hello]
      run: { program: sh, args: ["-c", 'tr a-z A-Z; echo "$TRACEPARENT"'], stdin_from: hello }
  output_step: shout
`);
  return file;
}

// Runs voidbox with a 60 s hang guard; resolves with code, stdout, stderr, ms.
function run(file, env = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (k.startsWith('OTEL_') || k.startsWith('VOIDBOX_OTLP')) delete clean[k];
    const child = spawn(voidbox, ['run', '--file', file, '--backend', 'process'], {
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, out, err, ms: Date.now() - started });
    });
  });
}

function observeBlock(port) {
  return `observe:
  traces: true
  metrics: true
  logs: true
  otlp_endpoint: http://127.0.0.1:${port}
  service_name: voidbox-otlp-test`;
}

function byName(spans, name) {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span named ${name}: ${spans.map((s) => s.name)}`);
  return found[0];
}

test('a workflow run exports its span tree, metrics and logs as OTLP protobuf', async () => {
  const { server, port, received } = await startReceiver(decoder);
  try {
    const r = await run(writeSpec('otlp-tree', observeBlock(port)));
    assert.equal(r.code, 0, r.err);
    const [output, traceparent] = r.out.trim().split('\n');
    assert.equal(output, 'HELLO OTLP');
    assert.ok(received.requests.length > 0, 'the collector got requests');
    for (const req of received.requests) assert.equal(req.contentType, 'application/x-protobuf');

    const spans = received.spans;
    const traceIds = new Set(spans.map((s) => s.traceId));
    assert.equal(traceIds.size, 1, 'one trace');
    const [traceId] = traceIds;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const root = byName(spans, 'voidbox.run otlp-tree');
    assert.equal(root.parentSpanId, '');
    assert.equal(root.status, 1);
    assert.equal(root.resource['service.name'], 'voidbox-otlp-test');
    assert.equal(root.attributes['voidbox.run.kind'], 'workflow');
    const stage = byName(spans, 'stage otlp-tree');
    assert.equal(stage.parentSpanId, root.spanId);
    const boot = byName(spans, 'sandbox.boot');
    assert.equal(boot.parentSpanId, stage.spanId);
    assert.equal(boot.attributes['voidbox.backend'], 'process');
    for (const step of ['hello', 'shout']) {
      const s = byName(spans, `step ${step}`);
      assert.equal(s.parentSpanId, stage.spanId);
      assert.equal(s.attributes['process.exit.code'], 0);
      const execs = spans.filter((e) => e.name === 'exec' && e.parentSpanId === s.spanId);
      assert.equal(execs.length, 1);
      assert.ok(s.start >= boot.end, 'steps start after the boot');
      assert.ok(s.end <= root.end);
    }
    const hello = byName(spans, 'step hello');
    const helloExec = spans.find((e) => e.name === 'exec' && e.parentSpanId === hello.spanId);
    assert.equal(helloExec.attributes['process.command_line'], 'echo hello otlp');
    // The guest command ran with the W3C trace context of its exec span.
    const shout = byName(spans, 'step shout');
    const shoutExec = spans.find((e) => e.name === 'exec' && e.parentSpanId === shout.spanId);
    assert.equal(traceparent, `00-${traceId}-${shoutExec.spanId}-01`);

    const metric = (name) => {
      const found = received.metrics.filter((m) => m.name === name);
      assert.equal(found.length, 1, `metric ${name}`);
      return found[0];
    };
    assert.ok(metric('voidbox.run.duration').value > 0);
    assert.equal(metric('voidbox.run.duration').unit, 's');
    assert.equal(metric('voidbox.run.stages').value, 1);
    assert.equal(metric('voidbox.run.exit_status').value, 0);

    // sandbox.snapshot is ignored with a warning: it must arrive as a log
    // record in the run's trace.
    const warning = received.logs.find((l) => /sandbox.snapshot/.test(l.body));
    assert.ok(warning, `a warning log: ${JSON.stringify(received.logs)}`);
    assert.equal(warning.severity, 13);
    assert.equal(warning.traceId, traceId);
    assert.ok(spans.some((s) => s.spanId === warning.spanId), 'the log names one of the spans');
  } finally {
    server.close();
  }
});

test('OTLP/JSON and the OTEL_* variables, without an observe block', async () => {
  const { server, port, received } = await startReceiver(decoder);
  try {
    const r = await run(writeSpec('otlp-json', ''), {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20value',
      OTEL_SERVICE_NAME: 'from-env',
    });
    assert.equal(r.code, 0, r.err);
    assert.ok(received.requests.length > 0);
    for (const req of received.requests) {
      assert.equal(req.contentType, 'application/json');
      assert.equal(req.headers['x-api-key'], 'secret value');
    }
    const root = byName(received.spans, 'voidbox.run otlp-json');
    assert.equal(root.resource['service.name'], 'from-env');
    assert.equal(byName(received.spans, 'stage otlp-json').parentSpanId, root.spanId);
    assert.equal(received.metrics.find((m) => m.name === 'voidbox.run.stages').value, 1);
  } finally {
    server.close();
  }
});

test('a collector answering 503 with Retry-After gets the batch again', async () => {
  const { server, port, received } = await startReceiver(decoder, { failFirst: 1 });
  try {
    const r = await run(writeSpec('otlp-retry', observeBlock(port)));
    assert.equal(r.code, 0, r.err);
    assert.equal(received.rejected, 1);
    byName(received.spans, 'voidbox.run otlp-retry');
  } finally {
    server.close();
  }
});

test('with the collector down the run succeeds and says so once', async () => {
  // A port that was just free: nothing listens there.
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const down = await run(writeSpec('otlp-down', observeBlock(port)));
  assert.equal(down.code, 0, down.err);
  assert.match(down.out, /^HELLO OTLP\n/);
  const mentions = down.err.split('\n').filter((l) => /cannot reach the OTLP collector/.test(l));
  assert.equal(mentions.length, 1, down.err);
  const off = await run(writeSpec('otlp-off', ''));
  assert.equal(off.code, 0, off.err);
  assert.doesNotMatch(off.err, /OTLP/);
  console.log(`# run time: collector down ${down.ms} ms, export off ${off.ms} ms`);
});
