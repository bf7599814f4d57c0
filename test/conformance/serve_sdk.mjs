// Conformance: the official `openai` npm client, which nobody here wrote, as the client of
// `conclave serve` (heavy mode as an OpenAI-compatible model, on its built-in mock model):
// models, chat completions (whole, streamed, the stream helper, think tags), the Responses API
// (whole, streamed, the stream helper), refusals as the SDK's typed errors, and bearer keys.
// Usage: node serve_sdk.mjs /path/to/conclave
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const cli = process.argv[2];
if (!cli) {
  console.error('usage: node serve_sdk.mjs /path/to/conclave');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'conclave-serve-sdk-'));
mkdirSync(join(dir, 'state'));
// No provider keys or endpoints, no user config: serve answers with its built-in mock model.
const env = { ...process.env, HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL',
                    'CONCLAVE_CONFIG']) delete env[name];

const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
// The whole test is well under this; a hang fails rather than waits for ctest's timeout.
const watchdog = setTimeout(() => {
  console.log('FAIL the test took longer than 100 s');
  process.exit(1);
}, 100_000);
watchdog.unref();

// Starts `conclave serve` on a free loopback port; resolves to its origin from the first line.
function startServe(extra = []) {
  const child = spawn(cli, ['serve', '--listen', '127.0.0.1:0', '--no-journal', ...extra], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`conclave serve printed no address in 15 s:\n${stderr}`)), 15_000);
    child.stdout.on('data', (d) => {
      seen += d;
      const nl = seen.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const m = seen.slice(0, nl).match(/^conclave serve listening on (http:\/\/127\.0\.0\.1:\d+)$/);
      if (m) resolve({ child, url: m[1] });
      else reject(new Error(`unexpected first line from conclave serve: ${JSON.stringify(seen.slice(0, nl))}`));
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`conclave serve exited (${code ?? sig}) before listening:\n${stderr}`));
    });
  });
}

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    const cause = e?.cause ? ` (cause: ${e.cause.code ?? ''} ${e.cause.message ?? e.cause})` : '';
    console.log(`FAIL ${name}: ${e.stack ?? e}${cause}`);
  }
}

// The SDK's error objects keep the body's param at err.param (and the whole body at err.error).
const paramOf = (e) => e?.param ?? e?.error?.param ?? e?.error?.error?.param;
function expectBadRequest(param) {
  return (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.status, 400);
    assert.equal(paramOf(e), param, `param of ${JSON.stringify(e.error)}`);
    return true;
  };
}

const { child: serve, url } = await startServe();
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
const model = 'conclave-heavy-3';
const messages = [{ role: 'user', content: 'Should a small town build a tram line?' }];

// ---- models --------------------------------------------------------------------------------
await check('models.list names conclave-heavy and conclave-heavy-N', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  assert.ok(ids.includes('conclave-heavy'), `ids: ${ids.join(', ')}`);
  assert.ok(ids.includes('conclave-heavy-3'), `ids: ${ids.join(', ')}`);
});

await check('models.retrieve conclave-heavy-2', async () => {
  const m = await client.models.retrieve('conclave-heavy-2');
  assert.equal(m.id, 'conclave-heavy-2');
  assert.equal(m.object, 'model');
  assert.equal(m.owned_by, 'conclave');
});

await check('models.retrieve of an unknown model is NotFoundError', async () => {
  await assert.rejects(client.models.retrieve('gpt-nonexistent'), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, `got ${e?.constructor?.name}: ${e?.message}`);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
});

// ---- chat completions ----------------------------------------------------------------------
let whole;
await check('chat.completions.create, not streamed', async () => {
  whole = await client.chat.completions.create({ model, messages });
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.model, model);
  assert.equal(whole.choices.length, 1);
  const msg = whole.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.ok(typeof msg.content === 'string' && msg.content.trim().length > 0, 'empty content');
  const anyMsg = /** @type {any} */ (msg);
  assert.ok(typeof anyMsg.reasoning === 'string' && anyMsg.reasoning.length > 0, 'no message.reasoning');
  assert.equal(anyMsg.reasoning_content, anyMsg.reasoning);
  assert.equal(whole.choices[0].finish_reason, 'stop');
  assert.ok(whole.usage.prompt_tokens > 0 && whole.usage.completion_tokens > 0, JSON.stringify(whole.usage));
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
});

await check('chat.completions.create, streamed with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model, messages, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length > 3, `only ${chunks.length} chunks`);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id);
    assert.equal(c.model, model);
  }
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const deltas = chunks.flatMap((c) => c.choices.map((x) => /** @type {any} */ (x.delta)));
  const reasoning = deltas.filter((d) => typeof d.reasoning === 'string');
  assert.ok(reasoning.length > 0, 'no delta carries reasoning');
  assert.ok(reasoning.every((d) => d.reasoning_content === d.reasoning), 'reasoning_content differs');
  const text = deltas.map((d) => d.content ?? '').join('');
  assert.ok(text.trim().length > 0, 'content deltas joined are empty');
  const stops = chunks.filter((c) => c.choices.some((x) => x.finish_reason === 'stop'));
  assert.equal(stops.length, 1, 'exactly one chunk with finish_reason stop');
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage && last.usage.prompt_tokens > 0 && last.usage.completion_tokens > 0,
    JSON.stringify(last.usage));
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  assert.ok(chunks.slice(0, -1).every((c) => !c.usage), 'usage before the last chunk');
});

await check('chat stream helper: finalChatCompletion', async () => {
  // openai 4.x has the helper under beta; later majors moved it to chat.completions.stream.
  const completions = typeof client.chat.completions.stream === 'function'
    ? client.chat.completions : client.beta.chat.completions;
  const runner = completions.stream({ model, messages, stream_options: { include_usage: true } });
  let deltas = '';
  runner.on('content', (delta) => { deltas += delta; });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.role, 'assistant');
  assert.ok(final.choices[0].message.content.trim().length > 0, 'empty content');
  assert.equal(final.choices[0].message.content, deltas);
  assert.equal(final.choices[0].finish_reason, 'stop');
  assert.ok(final.usage?.completion_tokens > 0, JSON.stringify(final.usage));
  assert.equal(await runner.finalContent(), final.choices[0].message.content);
});

await check('tools are refused: BadRequestError with param "tools"', async () => {
  const tools = [{
    type: 'function',
    function: { name: 'lookup', description: 'x', parameters: { type: 'object', properties: {} } },
  }];
  await assert.rejects(client.chat.completions.create({ model, messages, tools }), expectBadRequest('tools'));
  await assert.rejects(
    client.responses.create({ model, input: 'x', tools: [{ type: 'function', name: 'lookup', parameters: {}, strict: false }] }),
    expectBadRequest('tools'));
});

await check('an unknown model in a completion is NotFoundError', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-nonexistent', messages }), (e) =>
    e instanceof OpenAI.NotFoundError && e.status === 404 && paramOf(e) === 'model');
});

await check('reasoning_format "think": <think> tags in the content, not streamed', async () => {
  const r = await client.chat.completions.create(
    /** @type {any} */ ({ model, messages, reasoning_format: 'think' }));
  const msg = /** @type {any} */ (r.choices[0].message);
  assert.ok(msg.content.startsWith('<think>\n'), `content: ${JSON.stringify(msg.content.slice(0, 80))}`);
  const close = msg.content.indexOf('\n</think>\n\n');
  assert.ok(close > 0, 'no </think>');
  assert.ok(msg.content.slice(close + '\n</think>\n\n'.length).trim().length > 0, 'no answer after </think>');
  assert.equal(msg.reasoning, undefined);
  assert.equal(msg.reasoning_content, undefined);
});

await check('reasoning_format "think": <think> tags in the content, streamed', async () => {
  const stream = await client.chat.completions.create(
    /** @type {any} */ ({ model, messages, stream: true, reasoning_format: 'think' }));
  let text = '';
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      const d = /** @type {any} */ (c.delta);
      assert.equal(d.reasoning, undefined);
      text += d.content ?? '';
    }
  }
  assert.ok(text.startsWith('<think>\n'), `content: ${JSON.stringify(text.slice(0, 80))}`);
  assert.ok(text.includes('\n</think>\n\n'), 'no </think>');
});

await check('reasoning_format "none": no reasoning anywhere', async () => {
  const r = await client.chat.completions.create(
    /** @type {any} */ ({ model, messages, reasoning_format: 'none' }));
  const msg = /** @type {any} */ (r.choices[0].message);
  assert.ok(msg.content.trim().length > 0 && !msg.content.startsWith('<think>'));
  assert.equal(msg.reasoning, undefined);
});

await check('a bad reasoning_format is BadRequestError with param "reasoning_format"', async () => {
  await assert.rejects(client.chat.completions.create(
    /** @type {any} */ ({ model, messages, reasoning_format: 'sideways' })), expectBadRequest('reasoning_format'));
});

// ---- responses -----------------------------------------------------------------------------
const input = 'Should a small town build a tram line?';
await check('responses.create, not streamed', async () => {
  const r = await client.responses.create({ model, input, instructions: 'Be brief.' });
  assert.equal(r.object, 'response');
  assert.equal(r.status, 'completed');
  assert.equal(r.model, model);
  assert.ok(typeof r.output_text === 'string' && r.output_text.trim().length > 0, 'empty output_text');
  const reasoning = r.output.find((o) => o.type === 'reasoning');
  assert.ok(reasoning, 'no reasoning item');
  assert.ok(reasoning.id.startsWith('rs_'));
  assert.ok(reasoning.summary.length > 0 && reasoning.summary[0].type === 'summary_text' &&
    reasoning.summary[0].text.length > 0, JSON.stringify(reasoning.summary));
  const message = r.output.find((o) => o.type === 'message');
  assert.ok(message, 'no message item');
  assert.equal(message.role, 'assistant');
  assert.equal(message.content[0].type, 'output_text');
  assert.equal(message.content[0].text, r.output_text);
  assert.ok(r.output.indexOf(reasoning) < r.output.indexOf(message), 'reasoning after the message');
  assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0, JSON.stringify(r.usage));
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

await check('responses.create, streamed', async () => {
  const stream = await client.responses.create({ model, input, stream: true });
  const events = [];
  for await (const e of stream) events.push(e);
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  assert.ok(types.includes('response.reasoning_summary_text.delta'), types.join(' '));
  assert.ok(types.includes('response.output_text.delta'), types.join(' '));
  assert.ok(types.indexOf('response.reasoning_summary_text.delta') < types.indexOf('response.output_text.delta'));
  events.forEach((e, i) => assert.equal(e.sequence_number, i, `sequence_number of event ${i}`));
  const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  const done = events.at(-1).response;
  assert.equal(done.status, 'completed');
  const message = done.output.find((o) => o.type === 'message');
  assert.equal(message.content[0].text, text);
  assert.ok(text.trim().length > 0);
  assert.ok(done.usage.output_tokens > 0);
});

await check('responses stream helper: finalResponse', async () => {
  const runner = client.responses.stream({ model, input });
  let deltas = '';
  runner.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const final = await runner.finalResponse();
  assert.equal(final.status, 'completed');
  // output_text is the SDK's convenience, not a wire field: responses.create adds it, but
  // openai 4.95's ResponseStream.finalResponse() does not (later versions do). Accept either,
  // and check what it would hold, the message's output_text parts, against the deltas.
  const parts = final.output.filter((o) => o.type === 'message')
    .flatMap((o) => o.content.filter((c) => c.type === 'output_text').map((c) => c.text)).join('');
  const outputText = final.output_text ?? parts;
  assert.ok(typeof outputText === 'string' && outputText.trim().length > 0, 'empty output_text');
  assert.equal(outputText, parts);
  assert.equal(outputText, deltas);
});

await check('responses: previous_response_id is BadRequestError', async () => {
  await assert.rejects(client.responses.create({ model, input, previous_response_id: 'resp_x' }),
    expectBadRequest('previous_response_id'));
});

// ---- bearer keys: a second instance with --keys-file ----------------------------------------
await check('--keys-file: a wrong bearer is AuthenticationError, the right one works', async () => {
  const key = 'sk-conclave-serve-sdk-test';
  const keys = join(dir, 'keys');
  writeFileSync(keys, `# clients\n${key}\n`, { mode: 0o600 });
  const { child, url: keyed } = await startServe(['--keys-file', keys]);
  try {
    const wrong = new OpenAI({ baseURL: `${keyed}/v1`, apiKey: 'sk-wrong', maxRetries: 0, timeout: 30_000 });
    const isAuth = (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    };
    await assert.rejects(wrong.models.list(), isAuth);
    await assert.rejects(wrong.chat.completions.create({ model, messages }), isAuth);
    await assert.rejects(wrong.responses.create({ model, input }), isAuth);
    const right = new OpenAI({ baseURL: `${keyed}/v1`, apiKey: key, maxRetries: 0, timeout: 30_000 });
    const m = await right.models.retrieve('conclave-heavy');
    assert.equal(m.id, 'conclave-heavy');
    const r = await right.chat.completions.create({ model: 'conclave-heavy-2', messages });
    assert.ok(r.choices[0].message.content.trim().length > 0);
  } finally {
    child.kill('SIGTERM');
  }
});

serve.kill('SIGTERM');
console.log(`serve-sdk: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
