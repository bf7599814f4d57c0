// Conformance: the official `@anthropic-ai/sdk` npm client, which nobody here wrote, against
// conclave-mock's Anthropic Messages endpoint (POST /v1/messages).
// Usage: node anthropic_sdk.mjs /path/to/conclave-mock
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

// Starts a conclave-mock and resolves to its process and its origin (the SDK adds /v1 itself).
async function startMock(extraArgs = []) {
  const proc = spawn(process.argv[2], ['--port', '0', '--latency-ms', '5', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout.on('data', (d) => {
      seen += d;
      const m = seen.match(/listening on (\S+)\/v1/);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`conclave-mock exited (${code}) before listening`)));
  });
  return { proc, origin };
}

const mock = await startMock();
const authMock = await startMock(['--api-key', 'sk-ant-right']);

// Every request the SDK sends to the Anthropic wire, counted here to check the mock's count.
let messageCalls = 0;
const countingFetch = (url, init) => {
  if (String(url).includes('/v1/messages')) messageCalls += 1;
  return fetch(url, init);
};
const client = new Anthropic({
  apiKey: 'sk-ant-conformance', baseURL: mock.origin, maxRetries: 0, timeout: 10_000,
  fetch: countingFetch,
});
const question = [{ role: 'user', content: 'Is the SDK happy with this server?' }];
const addTool = {
  name: 'add',
  description: 'Adds two numbers',
  input_schema: {
    type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'],
  },
};
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}

// The tool results answering every tool_use block of `message`, as the next user turn.
function results(message, content = '5') {
  return {
    role: 'user',
    content: message.content.filter((b) => b.type === 'tool_use')
      .map((b) => ({ type: 'tool_result', tool_use_id: b.id, content })),
  };
}

let plain;
await check('messages.create: a text message with usage and a request id', async () => {
  const { data, response } = await client.messages
    .create({ model: 'mock', max_tokens: 1024, messages: question }).withResponse();
  plain = data;
  assert.equal(plain.type, 'message');
  assert.equal(plain.role, 'assistant');
  assert.match(plain.id, /^msg_/);
  assert.equal(plain.content.length, 1);
  assert.equal(plain.content[0].type, 'text');
  assert.match(plain.content[0].text, /Is the SDK happy with this server\?/);
  assert.equal(plain.stop_reason, 'end_turn');
  assert.equal(plain.stop_sequence, null);
  assert.ok(plain.usage.input_tokens > 0 && plain.usage.output_tokens > 0);
  assert.equal(plain.usage.cache_creation_input_tokens, 0);
  assert.equal(plain._request_id, response.headers.get('request-id'));
  assert.match(plain._request_id, /^req_/);
});

await check('rate-limit headers with RFC 3339 resets', async () => {
  const { response } = await client.messages
    .create({ model: 'mock', max_tokens: 64, messages: question }).withResponse();
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    assert.ok(Number(response.headers.get(`anthropic-ratelimit-${kind}-limit`)) > 0, kind);
    assert.ok(Number(response.headers.get(`anthropic-ratelimit-${kind}-remaining`)) >= 0, kind);
    const reset = response.headers.get(`anthropic-ratelimit-${kind}-reset`);
    assert.match(reset, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, kind);
    assert.ok(Date.parse(reset) >= Date.now() - 1000, `${kind} reset ${reset} is in the past`);
  }
});

await check('messages.stream: text deltas, event order, finalMessage and usage', async () => {
  const stream = client.messages.stream({ model: 'mock', max_tokens: 1024, messages: question });
  let text = '';
  const types = [];
  stream.on('text', (delta) => { text += delta; });
  for await (const event of stream) types.push(event.type);
  const final = await stream.finalMessage();
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(types.at(-2), 'message_delta');
  assert.ok(types.filter((t) => t === 'content_block_delta').length > 3);
  assert.equal(text, plain.content[0].text);
  assert.equal(final.content[0].text, plain.content[0].text);
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, plain.usage.output_tokens);
  assert.equal(final.usage.input_tokens, plain.usage.input_tokens);
});

await check('tool use round trip: tool_use, tool_result, answer', async () => {
  const first = await client.messages.create({
    model: 'mock', max_tokens: 1024, tools: [addTool],
    messages: [{ role: 'user', content: 'What is 2 + 3?' }],
  });
  assert.equal(first.stop_reason, 'tool_use');
  const call = first.content.find((b) => b.type === 'tool_use');
  assert.match(call.id, /^toolu_/);
  assert.equal(call.name, 'add');
  assert.deepEqual(call.input, { a: 2, b: 3 });
  const second = await client.messages.create({
    model: 'mock', max_tokens: 1024, tools: [addTool],
    messages: [{ role: 'user', content: 'What is 2 + 3?' },
      { role: 'assistant', content: first.content }, results(first)],
  });
  assert.equal(second.stop_reason, 'end_turn');
  assert.match(second.content[0].text, /Tool add said: 5\.$/);
});

await check('streamed tool use: input_json_delta pieces assemble the input', async () => {
  const stream = client.messages.stream({
    model: 'mock', max_tokens: 1024, tools: [addTool],
    messages: [{ role: 'user', content: 'What is 2 + 3?' }],
  });
  let pieces = 0;
  stream.on('streamEvent', (e) => { if (e.delta?.type === 'input_json_delta') pieces += 1; });
  const final = await stream.finalMessage();
  assert.ok(pieces > 1, `${pieces} partial_json pieces`);
  assert.equal(final.stop_reason, 'tool_use');
  assert.deepEqual(final.content.find((b) => b.type === 'tool_use').input, { a: 2, b: 3 });
});

const thinkingAsk = {
  model: 'mock-think-tools', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 },
  tools: [addTool], messages: [{ role: 'user', content: 'What is 2 + 3?' }],
};
let thought;
await check('thinking: a signed thinking block first, replayed as given back', async () => {
  thought = await client.messages.create(thinkingAsk);
  assert.equal(thought.content[0].type, 'thinking');
  assert.ok(thought.content[0].thinking.length > 0);
  assert.match(thought.content[0].signature, /^[0-9a-f]{64}$/);
  assert.equal(thought.content[1].type, 'tool_use');
  const next = await client.messages.create({
    ...thinkingAsk,
    messages: [...thinkingAsk.messages, { role: 'assistant', content: thought.content },
      results(thought)],
  });
  assert.equal(next.content[0].type, 'thinking');
  assert.equal(next.stop_reason, 'end_turn');
  assert.match(next.content.at(-1).text, /Tool add said: 5\.$/);
});

await check('thinking streamed: thinking_delta and signature_delta give the same block', async () => {
  const final = await client.messages.stream(thinkingAsk).finalMessage();
  assert.deepEqual(final.content[0], thought.content[0]);
  assert.deepEqual(final.content[1].input, thought.content[1].input);
});

await check('thinking not replayed, or tampered with: 400 naming the block', async () => {
  const without = thought.content.filter((b) => b.type !== 'thinking');
  await assert.rejects(client.messages.create({
    ...thinkingAsk,
    messages: [...thinkingAsk.messages, { role: 'assistant', content: without }, results(thought)],
  }), (e) => {
    assert.ok(e instanceof Anthropic.BadRequestError, `got ${e?.constructor?.name}`);
    assert.equal(e.type, 'invalid_request_error');
    assert.match(e.message, /messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`/);
    return true;
  });
  const tampered = [{ ...thought.content[0], thinking: 'I changed my mind.' }, ...without];
  await assert.rejects(client.messages.create({
    ...thinkingAsk,
    messages: [...thinkingAsk.messages, { role: 'assistant', content: tampered }, results(thought)],
  }), (e) => e instanceof Anthropic.BadRequestError && /Invalid `signature`/.test(e.message));
});

await check('stop reasons: max_tokens, refusal, pause_turn then a continuation', async () => {
  const ask = (model, messages = question) => client.messages.create({ model, max_tokens: 1024, messages });
  assert.equal((await ask('mock-length')).stop_reason, 'max_tokens');
  assert.equal((await ask('mock-filtered')).stop_reason, 'refusal');
  assert.equal((await client.messages.create({ model: 'mock', max_tokens: 3, messages: question }))
    .stop_reason, 'max_tokens');
  const paused = await ask('mock-pause');
  assert.equal(paused.stop_reason, 'pause_turn');
  const resumed = await ask('mock-pause', [...question, { role: 'assistant', content: paused.content }]);
  assert.equal(resumed.stop_reason, 'end_turn');
});

await check('max_tokens is required', async () => {
  await assert.rejects(client.messages.create({ model: 'mock', messages: question }),
    (e) => e instanceof Anthropic.BadRequestError && /max_tokens: Field required/.test(e.message));
});

await check('429 becomes RateLimitError with retry-after', async () => {
  await assert.rejects(client.messages.create({ model: 'mock-429', max_tokens: 64, messages: question }), (e) => {
    assert.ok(e instanceof Anthropic.RateLimitError, `got ${e?.constructor?.name}`);
    assert.equal(e.status, 429);
    assert.equal(e.type, 'rate_limit_error');
    assert.ok(Number(e.headers.get('retry-after')) > 0);
    assert.equal(e.headers.get('anthropic-ratelimit-requests-remaining'), '0');
    assert.match(e.requestID, /^req_/);
    return true;
  });
});

await check('500 becomes InternalServerError', async () => {
  await assert.rejects(client.messages.create({ model: 'mock-500', max_tokens: 64, messages: question }),
    (e) => e instanceof Anthropic.InternalServerError && e.status === 500 && e.type === 'api_error');
});

await check('529 (mock-529 and mock-503) is an APIError with status 529, overloaded_error', async () => {
  for (const model of ['mock-529', 'mock-503']) {
    await assert.rejects(client.messages.create({ model, max_tokens: 64, messages: question }), (e) => {
      assert.ok(e instanceof Anthropic.APIError, `got ${e?.constructor?.name}`);
      assert.equal(e.status, 529);
      assert.equal(e.type, 'overloaded_error');
      return true;
    });
  }
});

await check('an overloaded_error event mid-stream is thrown, not swallowed', async () => {
  const stream = await client.messages.create({
    model: 'mock-error-event', max_tokens: 1024, messages: question, stream: true,
  });
  let seen = 0;
  await assert.rejects((async () => { for await (const _ of stream) seen += 1; })(), (e) => {
    assert.ok(e instanceof Anthropic.APIError, `got ${e?.constructor?.name}`);
    assert.equal(e.type, 'overloaded_error');
    return true;
  });
  assert.ok(seen >= 3, `${seen} events before the error`);
  // The stream helper reports it too, instead of a finalMessage.
  await assert.rejects(
    client.messages.stream({ model: 'mock-error-event', max_tokens: 1024, messages: question }).finalMessage(),
    (e) => e instanceof Anthropic.APIError && e.type === 'overloaded_error');
});

await check('a stream cut before message_stop is not a message', async () => {
  await assert.rejects(
    client.messages.stream({ model: 'mock-truncated', max_tokens: 1024, messages: question }).finalMessage(),
    (e) => e instanceof Anthropic.AnthropicError);
});

await check('the mock counted every call on the Anthropic wire', async () => {
  const stats = await (await fetch(`${mock.origin}/v1/stats`)).json();
  assert.equal(stats.calls_by_wire.anthropic, messageCalls);
  assert.equal(stats.calls_by_wire.openai, 0);
});

await check('a wrong x-api-key becomes AuthenticationError; the right one answers', async () => {
  const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: authMock.origin, maxRetries: 0 });
  await assert.rejects(wrong.messages.create({ model: 'mock', max_tokens: 64, messages: question }), (e) => {
    assert.ok(e instanceof Anthropic.AuthenticationError, `got ${e?.constructor?.name}`);
    assert.equal(e.status, 401);
    assert.equal(e.type, 'authentication_error');
    return true;
  });
  const right = new Anthropic({ apiKey: 'sk-ant-right', baseURL: authMock.origin, maxRetries: 0 });
  const ok = await right.messages.create({ model: 'mock', max_tokens: 64, messages: question });
  assert.equal(ok.type, 'message');
});

mock.proc.kill('SIGTERM');
authMock.proc.kill('SIGTERM');
console.log(`anthropic-sdk: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
