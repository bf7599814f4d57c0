// Conformance: the official `openai` npm client, which nobody here wrote, against conclave-mock.
// Usage: node openai_sdk.mjs /path/to/conclave-mock
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const mock = spawn(process.argv[2], ['--port', '0', '--latency-ms', '5'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const baseURL = await new Promise((resolve, reject) => {
  let seen = '';
  mock.stdout.on('data', (d) => {
    seen += d;
    const m = seen.match(/listening on (\S+)/);
    if (m) resolve(m[1]);
  });
  mock.on('exit', (code) => reject(new Error(`conclave-mock exited (${code}) before listening`)));
});

const client = new OpenAI({ apiKey: 'sk-conformance', baseURL, maxRetries: 0, timeout: 10_000 });
const messages = [{ role: 'user', content: 'Is the SDK happy with this server?' }];
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

let plain;
await check('non-streamed completion', async () => {
  plain = await client.chat.completions.create({ model: 'mock', messages });
  assert.equal(plain.object, 'chat.completion');
  assert.equal(plain.choices.length, 1);
  assert.equal(plain.choices[0].message.role, 'assistant');
  assert.match(plain.choices[0].message.content, /Is the SDK happy with this server\?/);
  assert.equal(plain.choices[0].finish_reason, 'stop');
  assert.ok(plain.usage.prompt_tokens > 0 && plain.usage.completion_tokens > 0);
  assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
});

await check('streamed completion with include_usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'mock', messages, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks > 3);
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, plain.usage);
});

await check('stream helper (runner) assembles the message', async () => {
  const runner = client.beta.chat.completions.stream({ model: 'mock', messages });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, plain.choices[0].message.content);
});

await check('429 becomes RateLimitError with retry headers', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'mock-429', messages }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `got ${e?.constructor?.name}`);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.ok(Number(e.headers['retry-after-ms']) > 0);
    return true;
  });
});

await check('500 becomes InternalServerError', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'mock-500', messages }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 500);
});

await check('an error event mid-stream is thrown, not swallowed', async () => {
  const stream = await client.chat.completions.create({ model: 'mock-error-event', messages, stream: true });
  await assert.rejects((async () => { for await (const _ of stream) { /* drain */ } })(),
    (e) => e instanceof OpenAI.APIError && /overloaded/.test(e.message));
});

await check('decomposition replies with a JSON array of N sub-questions', async () => {
  const r = await client.chat.completions.create({
    model: 'mock',
    messages: [{ role: 'user', content: 'Split it into 4 sub-questions.\nQuestion: Should we build a tram?' }],
  });
  const items = JSON.parse(r.choices[0].message.content);
  assert.equal(items.length, 4);
  assert.ok(items.every((q) => q.includes('Should we build a tram')));
});

await check('models list', async () => {
  const list = await client.models.list();
  assert.ok(list.data.some((m) => m.id === 'mock'));
});

mock.kill('SIGTERM');
console.log(`openai-sdk: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
