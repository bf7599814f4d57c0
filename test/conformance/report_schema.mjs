// Runs `conclave ask` in the ways users do (--json, --events jsonl, failures, budgets, one
// agent) and checks every line it prints against the published JSON Schemas, with ajv.
// usage: node report_schema.mjs CONCLAVE_CLI SCHEMA_DIR
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";

const [cli, schemaDir] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: true });
const report = ajv.compile(JSON.parse(readFileSync(join(schemaDir, "report.schema.json"), "utf8")));
const event = ajv.compile(JSON.parse(readFileSync(join(schemaDir, "event.schema.json"), "utf8")));

const env = { ...process.env, HOME: "/nonexistent" };
for (const name of ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                    "CONCLAVE_CONFIG"]) delete env[name];

function run(args) {
  try {
    return execFileSync(cli, ["ask", ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.status === 1) return e.stdout;  // a failed run still prints its report
    throw e;
  }
}

let failures = 0;
let checked = 0;
function check(validate, value, what) {
  ++checked;
  if (!validate(value)) {
    ++failures;
    console.error(`FAIL ${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 400)}`);
  }
}

const dir = mkdtempSync(join(tmpdir(), "conclave-schema-"));
const prices = join(dir, "prices.json");
writeFileSync(prices, JSON.stringify({ prices: { "*": { input: 0.15, output: 0.6 } } }));

const cases = [
  ["ok, 3 agents", ["How do tides work?", "-n", "3"]],
  ["one agent", ["Why is the sky blue?", "-n", "1"]],
  ["every agent rate limited", ["x", "-m", "mock-429", "-n", "2"]],
  ["token budget", ["How do tides work?", "-n", "6", "--concurrency", "2", "--budget-tokens", "400"]],
  ["priced", ["Q?", "-n", "2", "--config", prices, "--budget-cost", "5"]],
  ["fallback model", ["x", "-n", "1", "-m", "mock-503", "--fallback-model", "mock"]],
  ["mixed models", ["Q?", "-n", "3", "--agent-models", "mock:a,openai:b", "--decompose-model", "mock:d"]],
  ["malformed replies", ["x", "-n", "2", "-m", "mock-malformed"]],
  ["tools", ["How big?", "-n", "2", "--tool", "calculator"]],
  ["tools, bad arguments then an answer", ["x", "-n", "1", "--tool", "calculator", "-m", "mock-tools-malformed"]],
  ["tools, a stall", ["x", "-n", "2", "--tool", "calculator", "-m", "mock-tools-endless"]],
  ["tools, the turn limit", ["x", "-n", "1", "--tool", "calculator", "-m", "mock-tools-endless-varied", "--max-turns", "2"]],
];
for (const [what, args] of cases) {
  check(report, JSON.parse(run([...args, "--json"])), `--json, ${what}`);
  const lines = run([...args, "--events", "jsonl"]).trim().split("\n").map((l) => JSON.parse(l));
  const last = lines.pop();
  check(report, last, `--events jsonl report, ${what}`);
  lines.forEach((e, i) => check(event, e, `--events jsonl line ${i + 1}, ${what}`));
}
console.log(`${checked - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
