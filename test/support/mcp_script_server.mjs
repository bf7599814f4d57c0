// A tiny scripted MCP server over stdio for the client's fault tests (no dependencies).
//   node mcp_script_server.mjs MODE
// MODE: normal | exit_at_start | non_json | bad_version | ignore_eof | silent (never answers
// initialize)
// Tools (normal): echo, fail (JSON-RPC error), is_error, hang (never answers; a later
// `cancelled` call lists the ids the client cancelled), env (what it sees of the environment),
// ping_me (pings the client first), pid, die (exits without answering). tools/list pages: 2.
import readline from "node:readline";

const mode = process.argv[2] || "normal";
if (mode === "exit_at_start") {
  process.stderr.write("fatal: cannot open the database /nonexistent/db\n");
  process.exit(3);
}

const send = (m) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...m }) + "\n");
const text = (t, isError) => ({ content: [{ type: "text", text: t }], ...(isError ? { isError: true } : {}) });
const cancelled = [];
const waitingForPing = new Map();  // our ping id -> the tools/call id to answer
let nextId = 1000;

const pages = {
  "": { tools: [{ name: "echo", description: "Echoes", inputSchema: { type: "object", properties: { message: { type: "string" } } } },
                { name: "fail" }, { name: "is_error" }, { name: "hang" }], nextCursor: "p2" },
  p2: { tools: [{ name: "cancelled" }, { name: "env" }, { name: "ping_me" }, { name: "pid" }, { name: "die" },
                { name: "dotted.name/x" }] },
};

function call(id, name, args) {
  switch (name) {
    case "echo": return send({ id, result: text(String(args.message)) });
    case "fail": return send({ id, error: { code: -32602, message: "bad arguments for fail" } });
    case "is_error": return send({ id, result: text("it went wrong", true) });
    case "hang": return;  // never answered
    case "cancelled": return send({ id, result: text(JSON.stringify(cancelled)) });
    case "env": return send({ id, result: text(JSON.stringify(Object.keys(process.env).sort())) });
    case "pid": return send({ id, result: text(String(process.pid)) });
    case "die": process.stderr.write("dying on purpose\n"); process.exit(7);
    case "ping_me": {
      const pingId = nextId++;
      waitingForPing.set(pingId, id);
      return send({ id: pingId, method: "ping" });
    }
    default: return send({ id, error: { code: -32602, message: "Unknown tool: " + name } });
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const m = JSON.parse(line);
  if (m.method === "initialize") {
    if (mode === "non_json") { process.stdout.write("Server starting... (not JSON)\n"); return; }
    process.stderr.write("scripted server: initialize\n");
    if (mode === "silent") return;
    send({ method: "notifications/message", params: { level: "info", data: "hello" } });
    return send({ id: m.id, result: { protocolVersion: mode === "bad_version" ? "1999-01-01" : "2025-11-25",
                                      capabilities: { tools: {} }, serverInfo: { name: "scripted", version: "1" } } });
  }
  if (m.method === "notifications/cancelled") { cancelled.push(m.params.requestId); return; }
  if (m.method === "tools/list") {
    send({ method: "notifications/message", params: { level: "info", data: "listing" } });
    return send({ id: m.id, result: pages[(m.params && m.params.cursor) || ""] });
  }
  if (m.method === "tools/call") return call(m.id, m.params.name, m.params.arguments || {});
  if (m.id !== undefined && m.method === undefined && waitingForPing.has(m.id)) {
    const callId = waitingForPing.get(m.id);
    waitingForPing.delete(m.id);
    return send({ id: callId, result: text(m.result ? "pong ok" : "pong failed") });
  }
  if (m.id !== undefined && m.method) send({ id: m.id, error: { code: -32601, message: "Method not found" } });
});
rl.on("close", () => { if (mode !== "ignore_eof") process.exit(0); });
if (mode === "ignore_eof") setInterval(() => {}, 1000);
