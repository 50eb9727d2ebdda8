// The Piston v2 envelope driven by what Piston's users run: the npm
// package piston-client 1.0.2, unchanged, and a `ws` client on
// /api/v2/connect, against a real runneld on a free loopback port.
//
//   RUNNEL_BUILD=build node tests/piston/piston.test.mjs
//
// Every wait is bounded and the whole script has a deadline.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import piston from "piston-client";
import WebSocket from "ws";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");
const BUILD = path.resolve(process.env.RUNNEL_BUILD || path.join(REPO, "build"));
const SPECS = path.resolve(process.env.RUNNEL_SPECS || path.join(REPO, "specs"));
const RUNNELD = path.join(BUILD, "src", "runneld");
const DEADLINE_MS = 420000;
const STAGE_KEYS = ["signal", "stdout", "stderr", "code", "output", "memory", "message", "status",
  "cpu_time", "wall_time"];

const servers = [];
let failures = 0;
const only = process.env.PISTON_TEST_ONLY ? new RegExp(process.env.PISTON_TEST_ONLY) : null;

const overall = setTimeout(() => {
  console.error(`FAIL: the Piston test did not finish within ${DEADLINE_MS / 1000} s`);
  for (const s of servers) s.proc.kill("SIGKILL");
  process.exit(1);
}, DEADLINE_MS);

function log(...a) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
}

async function step(name, fn) {
  if (only && !only.test(name)) return;
  const t0 = Date.now();
  try {
    await fn();
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(config = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-piston-"));
  const cfg = path.join(dir, "runneld.json");
  fs.writeFileSync(cfg, JSON.stringify({ cache: { dir: "" }, ...config }));
  const logFile = path.join(dir, "runneld.log");
  const out = fs.openSync(logFile, "w");
  const proc = spawn(RUNNELD, ["--listen", `127.0.0.1:${port}`, "--specs", SPECS, "--config", cfg,
    "--log-level", "info"], { stdio: ["ignore", out, out], env: { ...process.env,
    // What a server keeps lives in the test's own directory.
    RUNNEL_STATE_DIR: path.join(dir, "state"),
    RUNNEL_ZEPPELIN_NOTEBOOK_DIR: path.join(dir, "notebook"),
    LSAN_OPTIONS: `suppressions=${path.join(REPO, "tests", "lsan.supp")}` } });
  const server = { port, proc, logFile, url: `http://127.0.0.1:${port}` };
  servers.push(server);
  const until = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`runneld exited: ${fs.readFileSync(logFile, "utf8")}`);
    try {
      const r = await fetch(`${server.url}/healthz`);
      if (r.status === 200) break;
    } catch (e) { /* not up yet */ }
    if (Date.now() > until) throw new Error("runneld did not start within 60 s");
    await sleep(100);
  }
  return server;
}

async function post(server, p, body, method = "POST") {
  const r = await fetch(server.url + p, {
    method, body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch (e) { json = undefined; }
  return { status: r.status, json, text };
}

function checkStage(stage, expect) {
  assert.deepEqual(Object.keys(stage).sort(), [...STAGE_KEYS].sort(), JSON.stringify(stage));
  for (const k of ["memory", "cpu_time", "wall_time"]) {
    assert.equal(typeof stage[k], "number", `${k} of ${JSON.stringify(stage)}`);
    assert.ok(stage[k] >= 0, `${k} of ${JSON.stringify(stage)}`);
  }
  for (const [k, v] of Object.entries(expect)) {
    if (v instanceof RegExp) assert.match(stage[k], v, `${k} of ${JSON.stringify(stage)}`);
    else assert.deepEqual(stage[k], v, `${k} of ${JSON.stringify(stage)}`);
  }
}

// ------------------------------------------------------------------ WebSocket

// Consecutive chunks of one stream joined: a program's writes may arrive
// split or together.
function joined(events) {
  const out = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (e.type === "data" && last && last.type === "data" && last.stream === e.stream)
      last.data += e.data;
    else
      out.push({ ...e });
  }
  return out;
}

class Conn {
  constructor(server) {
    this.ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/v2/connect`);
    this.events = [];
    this.waiters = [];
    this.closed = null;
    this.ws.on("message", (d) => { this.events.push(JSON.parse(d.toString())); this.wake(); });
    this.ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on("error", () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  open() {
    return Promise.race([this.opened, sleep(10000).then(() => {
      throw new Error("the WebSocket did not open within 10 s");
    })]);
  }

  send(msg) {
    this.ws.send(JSON.stringify(msg));
  }

  async until(pred, what, ms = 30000) {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}; events ${JSON.stringify(this.events)}, ` +
          `closed ${JSON.stringify(this.closed)}`);
      }
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  untilClosed(ms) {
    return this.until(() => this.closed !== null, "the close", ms);
  }
}

// ------------------------------------------------------------------ tests

// Versions are detected in the background after start: wait for them.
async function versionsKnown(server) {
  for (let i = 0; i < 600; i++) {
    const info = await (await fetch(`${server.url}/v1/info`)).json();
    if (!info.versions_pending) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("versions still being detected after 60 s");
}

async function main() {
  const server = await startServer();
  await versionsKnown(server);
  const client = piston({ server: server.url });
  let runtimes;
  const pyVersion = (await (await fetch(`${server.url}/api/v2/runtimes`)).json())
    .find((r) => r.language === "python").version;

  await step("runtimes(): Piston's names, aliases, runtime and semver versions", async () => {
    runtimes = await client.runtimes();
    assert.ok(Array.isArray(runtimes), JSON.stringify(runtimes));
    const byLang = Object.fromEntries(runtimes.map((r) => [r.language, r]));
    const py = byLang.python;
    assert.deepEqual(Object.keys(py), ["language", "version", "aliases"]);
    assert.match(py.version, /^\d+\.\d+\.\d+$/);
    assert.deepEqual(py.aliases, ["py", "py3", "python3"]);
    assert.equal(py.version, pyVersion);
    // the version is the installed interpreter's
    const spec = await (await fetch(`${server.url}/v1/spec`)).json();
    assert.ok(spec.python3.version.includes(py.version), `${spec.python3.version} vs ${py.version}`);
    assert.deepEqual(byLang.c, { language: "c", version: byLang.c.version, aliases: ["gcc"],
      runtime: "gcc" });
    assert.deepEqual(byLang["c++"].aliases, ["cpp", "g++"]);
    assert.equal(byLang["c++"].runtime, "gcc");
    assert.deepEqual(byLang.javascript.aliases, ["node-javascript", "node-js", "javascript", "js"]);
    assert.equal(byLang.javascript.runtime, "node");
    assert.match(byLang.javascript.version, /^\d+\.\d+\.\d+$/);
    assert.equal(byLang.csharp.runtime, "mono");
    for (const l of ["bash", "java", "go", "rust", "ruby", "php", "perl", "lua", "typescript"])
      assert.ok(byLang[l], `${l} missing from ${JSON.stringify(runtimes.map((r) => r.language))}`);
  });

  await step("execute('python', code): the whole response, exactly", async () => {
    const res = await client.execute("python", "import sys\nprint('hello', sys.argv[1:])");
    assert.deepEqual(Object.keys(res), ["run", "language", "version"], JSON.stringify(res));
    assert.equal(res.language, "python");
    assert.equal(res.version, pyVersion);
    // piston-client's default args are ["1", "2", "3"]; Piston appends "\n" to stdin
    checkStage(res.run, { signal: null, stdout: "hello ['1', '2', '3']\n", stderr: "",
      output: "hello ['1', '2', '3']\n", code: 0, message: null, status: null });
  });

  await step("execute with several files, subdirectories, base64, args and stdin", async () => {
    const main = [
      "import sys, time",
      "from lib.util import f",
      "print('out1', f(), sys.argv[1:], repr(sys.stdin.read()))",
      "time.sleep(0.2)",
      "print('err1', open('data/blob.bin', 'rb').read(), file=sys.stderr)",
      "time.sleep(0.2)",
      "print('out2', open('notes.txt').read())",
    ].join("\n");
    const res = await client.execute({
      language: "py", version: "3.x",
      files: [
        { name: "prog.py", content: main },
        { name: "lib/util.py", content: "def f():\n    return 42\n" },
        { name: "data/blob.bin", content: Buffer.from([0, 1, 2, 255]).toString("base64"),
          encoding: "base64" },
        { name: "notes.txt", content: Buffer.from("hex works").toString("hex"), encoding: "hex" },
      ],
      args: ["x", "y z"], stdin: "line one",
    });
    assert.equal(res.language, "python");
    const out1 = "out1 42 ['x', 'y z'] 'line one\\n'\n";
    const err1 = "err1 b'\\x00\\x01\\x02\\xff'\n";
    const out2 = "out2 hex works\n";
    checkStage(res.run, { signal: null, code: 0, status: null, message: null, stdout: out1 + out2,
      stderr: err1, output: out1 + err1 + out2 });
  });

  await step("a C program that fails to compile: compile and run are the same failure", async () => {
    const res = await client.execute("c", "int main(void) { return foo; }\n");
    assert.deepEqual(Object.keys(res), ["compile", "run", "language", "version"]);
    assert.equal(res.language, "c");
    assert.match(res.version, /^\d+\.\d+\.\d+$/);
    checkStage(res.compile, { signal: null, stdout: "", code: 1, status: "RE",
      message: "Exited with error status 1", stderr: /error: .foo. undeclared/ });
    assert.equal(res.compile.output, res.compile.stderr);
    assert.deepEqual(res.run, res.compile);
  });

  await step("a C program that compiles and runs: both stages, exit code and signal", async () => {
    const res = await client.execute("c",
      "#include <stdio.h>\n#include <signal.h>\nint main(int c, char **v) {\n" +
      "  printf(\"%d %s\\n\", c, v[3]); fflush(stdout); raise(SIGSEGV); return 0; }\n");
    checkStage(res.compile, { signal: null, stdout: "", stderr: "", output: "", code: 0,
      status: null, message: null });
    checkStage(res.run, { signal: "SIGSEGV", stdout: "4 3\n", stderr: "", output: "4 3\n",
      code: null, status: "SG", message: "Caught fatal signal 11" });
  });

  await step("a two-file C program: every .c file is compiled and linked", async () => {
    const res = await client.execute({
      language: "c", version: "*",
      files: [
        { name: "main.c", content: "#include <stdio.h>\n#include \"lib/sq.h\"\n" +
          "int main(void) { printf(\"%d\\n\", sq(7)); return 0; }\n" },
        { name: "lib/sq.h", content: "int sq(int x);\n" },
        { name: "lib/sq.c", content: "int sq(int x) { return x * x; }\n" },
      ],
    });
    checkStage(res.compile, { signal: null, stdout: "", stderr: "", output: "", code: 0,
      status: null, message: null });
    checkStage(res.run, { signal: null, stdout: "49\n", stderr: "", output: "49\n", code: 0,
      status: null, message: null });
  });

  await step("a two-file C++ program: every .cpp file is compiled and linked", async () => {
    const res = await client.execute({
      language: "c++", version: "*",
      files: [
        { name: "prog.cpp", content: "#include <iostream>\nstd::string greet();\n" +
          "int main() { std::cout << greet() << std::endl; }\n" },
        { name: "greet.cpp", content: "#include <string>\n" +
          "std::string greet() { return \"hi from greet.cpp\"; }\n" },
        { name: "notes.txt", content: "not a source" },
      ],
    });
    checkStage(res.compile, { signal: null, stdout: "", stderr: "", output: "", code: 0,
      status: null, message: null });
    checkStage(res.run, { signal: null, stdout: "hi from greet.cpp\n", stderr: "",
      output: "hi from greet.cpp\n", code: 0, status: null, message: null });
  });

  await step("Kotlin: an entry not named main.kt, with a second .kt file", async () => {
    const res = await client.execute({
      language: "kotlin", version: "*",
      files: [
        { name: "prog.kt", content: "fun main() { println(twice(21)) }\n" },
        { name: "util.kt", content: "fun twice(x: Int) = x * 2\n" },
      ],
      compileTimeout: -1, // the configured limit: kotlinc takes its time
    });
    checkStage(res.compile, { signal: null, code: 0, status: null, message: null });
    checkStage(res.run, { signal: null, stdout: "42\n", stderr: "", output: "42\n", code: 0,
      status: null, message: null });
  });

  await step("a timeout: TO, SIGKILL, no code", async () => {
    const res = await client.execute("python", "import time\nprint('start', flush=True)\n" +
      "time.sleep(30)\n", { runTimeout: 1000 });
    checkStage(res.run, { signal: "SIGKILL", stdout: "start\n", stderr: "", output: "start\n",
      code: null, status: "TO", message: "Time limit exceeded (wall clock)" });
    assert.ok(res.run.wall_time >= 1000 && res.run.wall_time < 5000, `${res.run.wall_time}`);
  });

  await step("a CPU time limit: TO without wall clock", async () => {
    const r = await post(server, "/api/v2/execute", { language: "python", version: "*",
      files: [{ content: "while True:\n    pass\n" }], run_cpu_time: 300, run_timeout: 8000 });
    assert.equal(r.status, 200, r.text);
    // RLIMIT_CPU: a loaded machine may let the wall clock come first
    checkStage(r.json.run, { signal: "SIGKILL", code: null, status: "TO",
      message: /^Time limit exceeded( \(wall clock\))?$/ });
  });

  await step("a program that prints too much: OL for stdout, EL for stderr", async () => {
    let r = await post(server, "/api/v2/execute", { language: "python", version: "*",
      files: [{ content: "while True:\n    print('x' * 1000)\n" }] });
    assert.equal(r.status, 200, r.text);
    checkStage(r.json.run, { signal: "SIGKILL", code: null, status: "OL",
      message: "stdout length exceeded", stderr: "" });
    r = await post(server, "/api/v2/execute", { language: "python", version: "*",
      files: [{ content: "import sys\nwhile True:\n    print('x' * 1000, file=sys.stderr)\n" }] });
    checkStage(r.json.run, { signal: "SIGKILL", code: null, status: "EL",
      message: "stderr length exceeded", stdout: "" });
  });

  await step("Piston's 400s: unknown runtime, limits, files", async () => {
    const base = { language: "python", version: "*", files: [{ content: "print(1)" }] };
    const cases = [
      [{ ...base, language: "dart" }, "dart-* runtime is unknown"],
      [{ ...base, language: undefined }, "language is required as a string"],
      [{ ...base, version: 3 }, "version is required as a string"],
      [{ ...base, files: "x" }, "files is required as an array"],
      [{ ...base, files: [{ content: "a" }, { name: "b" }] }, "files[1].content is required as a string"],
      [{ ...base, files: [{ content: "AA==", encoding: "base64" }] },
        "files must include at least one utf8 encoded file"],
      [{ ...base, files: [{ content: "1", name: "../../etc/x.py" }] },
        "File path \"../../etc/x.py\" tries to escape parent directory"],
      [{ ...base, run_timeout: 10001 }, "run_timeout cannot exceed the configured limit of 10000"],
      [{ ...base, run_memory_limit: 1e12 },
        "run_memory_limit cannot exceed the configured limit of 268435456"],
      [{ ...base, compile_cpu_time: "5" }, "If specified, compile_cpu_time must be a number"],
      [{ ...base, run_cpu_time: -5 }, "run_cpu_time must be non-negative"],
    ];
    for (const [body, message] of cases) {
      const r = await post(server, "/api/v2/execute", body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${r.text}`);
      assert.deepEqual(r.json, { message }, JSON.stringify(body));
    }
    const bad = await post(server, "/api/v2/execute", "{not json");
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.json), ["message"]);
  });

  await step("a version nothing installed matches runs the installed one (the default)", async () => {
    const r = await post(server, "/api/v2/execute", { language: "python3", version: "2.7.x",
      files: [{ content: "print(1)" }], run_memory_limit: -1, compile_timeout: -1 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.version, pyVersion);
    assert.equal(r.json.run.stdout, "1\n");
  });

  await step("packages: listed with installed; no installs over HTTP", async () => {
    const r = await fetch(`${server.url}/api/v2/packages`);
    const list = await r.json();
    const py = list.find((p) => p.language === "python");
    assert.deepEqual(py, { language: "python", language_version: pyVersion, installed: true });
    let p = await post(server, "/api/v2/packages", { language: "python", version: pyVersion });
    assert.equal(p.status, 501, p.text);
    assert.match(p.json.message, /runtimes\/install\.sh/);
    p = await post(server, "/api/v2/packages", { language: "dart", version: "3.0.0" }, "DELETE");
    assert.equal(p.status, 404);
    assert.deepEqual(p.json, { message: "Requested package dart-3.0.0 does not exist" });
    const nf = await fetch(`${server.url}/api/v2/nothing`);
    assert.equal(nf.status, 404);
    assert.deepEqual(await nf.json(), { message: "Not Found" });
  });

  await step("WebSocket: stdin in two pieces, interleaved output, a signal ends the run", async () => {
    const c = new Conn(server);
    await c.open();
    c.send({ type: "init", language: "python", version: "3.x", files: [{ content: [
      "import sys, time",
      "for line in sys.stdin:",
      "    print('out:' + line.strip(), flush=True)",
      "    time.sleep(0.1)",
      "    print('err:' + line.strip(), file=sys.stderr, flush=True)",
    ].join("\n") }] });
    await c.until(() => c.events.length >= 2, "runtime and stage");
    assert.deepEqual(c.events.slice(0, 2), [
      { type: "runtime", language: "python", version: pyVersion },
      { type: "stage", stage: "run" },
    ]);
    c.send({ type: "data", stream: "stdin", data: "fir" });
    await sleep(300);
    assert.equal(c.events.length, 2, "no output before the line is whole");
    c.send({ type: "data", stream: "stdin", data: "st\n" });
    const has = (s) => () => joined(c.events).some((e) => e.data && e.data.endsWith(s));
    await c.until(has("err:first\n"), "the first line's output");
    c.send({ type: "data", stream: "stdin", data: "second\n" });
    await c.until(has("err:second\n"), "the second line's output");
    assert.deepEqual(joined(c.events.slice(2)), [
      { type: "data", stream: "stdout", data: "out:first\n" },
      { type: "data", stream: "stderr", data: "err:first\n" },
      { type: "data", stream: "stdout", data: "out:second\n" },
      { type: "data", stream: "stderr", data: "err:second\n" },
    ]);
    c.send({ type: "signal", signal: "SIGTERM" });
    await c.untilClosed(10000);
    assert.deepEqual(joined(c.events.slice(2)).slice(4),
      [{ type: "exit", stage: "run", code: null, signal: "SIGTERM" }]);
    assert.deepEqual(c.closed, { code: 4999, reason: "Job Completed" });
  });

  await step("WebSocket: a compiled program, both stages, SIGKILL", async () => {
    const c = new Conn(server);
    await c.open();
    c.send({ type: "init", language: "c", version: "*", files: [{ name: "w.c", content:
      "#include <stdio.h>\n#include <unistd.h>\nint main(void) { puts(\"ready\"); fflush(stdout);" +
      " for (;;) pause(); }\n" }] });
    await c.until(() => c.events.some((e) => e.type === "data"), "ready", 60000);
    c.send({ type: "signal", signal: "SIGKILL" });
    await c.untilClosed(10000);
    assert.deepEqual(joined(c.events.slice(1)), [
      { type: "stage", stage: "compile" },
      { type: "exit", stage: "compile", code: 0, signal: null },
      { type: "stage", stage: "run" },
      { type: "data", stream: "stdout", data: "ready\n" },
      { type: "exit", stage: "run", code: null, signal: "SIGKILL" },
    ]);
    assert.equal(c.events[0].type, "runtime");
    assert.equal(c.events[0].language, "c");
    assert.deepEqual(c.closed, { code: 4999, reason: "Job Completed" });
  });

  await step("WebSocket close codes: 4001, 4000, 4003, 4004, 4005, 4002", async () => {
    let c = new Conn(server);
    await c.open();
    const t0 = Date.now();
    await c.untilClosed(5000);
    assert.deepEqual(c.closed, { code: 4001, reason: "Initialization Timeout" });
    assert.ok(Date.now() - t0 >= 900, `${Date.now() - t0} ms`);

    c = new Conn(server);
    await c.open();
    c.send({ type: "data", stream: "stdin", data: "x" });
    await c.untilClosed(5000);
    assert.deepEqual(c.closed, { code: 4003, reason: "Not yet initialized" });

    const sleeper = { type: "init", language: "bash", version: "*",
      files: [{ content: "sleep 20" }] };
    for (const [msg, code, reason] of [
      [sleeper, 4000, "Already Initialized"],
      [{ type: "data", stream: "stdout", data: "x" }, 4004, "Can only write to stdin"],
      [{ type: "signal", signal: "SIGFOO" }, 4005, "Invalid signal"],
    ]) {
      c = new Conn(server);
      await c.open();
      c.send(sleeper);
      await c.until(() => c.events.length >= 1, "runtime");
      c.send(msg);
      await c.untilClosed(5000);
      assert.deepEqual(c.closed, { code, reason });
    }

    c = new Conn(server);
    await c.open();
    c.send({ type: "init", language: "dart", version: "*", files: [{ content: "x" }] });
    await c.untilClosed(5000);
    assert.deepEqual(c.events, [{ type: "error", message: "dart-* runtime is unknown" }]);
    assert.deepEqual(c.closed, { code: 4002, reason: "Notified Error" });
  });

  // A server that holds to the version asked for, with one run slot and
  // one queue place.
  const strict = await startServer({ piston: { any_version: false },
    limits: { concurrency: 1, queue: 1 } });
  await versionsKnown(strict);

  await step("any_version off: Piston's 400 for a version nothing matches", async () => {
    const r = await post(strict, "/api/v2/execute", { language: "python", version: "2.x",
      files: [{ content: "print(1)" }] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { message: "python-2.x runtime is unknown" });
    const ok = await post(strict, "/api/v2/execute", { language: "python",
      version: pyVersion.split(".")[0] + ".x", files: [{ content: "print(1)" }] });
    assert.equal(ok.status, 200, ok.text);
  });

  await step("a full queue answers 503 with a JSON message", async () => {
    const hold = [new Conn(strict), new Conn(strict)];
    for (const c of hold) {
      await c.open();
      c.send({ type: "init", language: "bash", version: "*", files: [{ content: "sleep 20" }] });
      await c.until(() => c.events.length >= 1, "runtime");
    }
    const r = await post(strict, "/api/v2/execute", { language: "python", version: "*",
      files: [{ content: "print(1)" }] });
    assert.equal(r.status, 503, r.text);
    assert.deepEqual(Object.keys(r.json), ["message"]);
    assert.match(r.json.message, /busy/);
    for (const c of hold) c.ws.close();
  });
}

try {
  await main();
} catch (e) {
  failures++;
  log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
}
for (const s of servers) {
  const exited = new Promise((r) => (s.proc.exitCode !== null ? r() : s.proc.once("exit", r)));
  s.proc.kill("SIGTERM");
  await Promise.race([exited, sleep(20000)]);
  // a sanitizer build's findings fail the test
  const text = fs.readFileSync(s.logFile, "utf8");
  if (/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(text)) {
    failures++;
    log(`FAIL runneld reported a sanitizer error: ${s.logFile}`);
  }
  if (failures) log(`runneld log: ${s.logFile}`);
}
clearTimeout(overall);
log(failures ? `${failures} failed` : "all passed");
process.exit(failures ? 1 : 0);
