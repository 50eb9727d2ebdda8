// The playground page in a real browser: Debian's Chromium, headless, driven
// by playwright-core, against a real runneld on a free loopback port.
//
//   RUNNEL_BUILD=build node tests/browser/playground.test.js
//
// Every wait is bounded and the whole script has a deadline, so a hung
// browser or server fails the test instead of hanging CI.
"use strict";

const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const REPO = path.resolve(__dirname, "..", "..");
const BUILD = path.resolve(process.env.RUNNEL_BUILD || path.join(REPO, "build"));
const SPECS = path.resolve(process.env.RUNNEL_SPECS || path.join(REPO, "specs"));
const RUNNELD = path.join(BUILD, "src", "runneld");
const CHROMIUM = process.env.RUNNEL_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(REPO, "tests", "artifacts");
const DEADLINE_MS = 180000;
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const cleanups = [];
let lastServer = null; // for the log on failure
let failures = 0;

const overall = setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within ${DEADLINE_MS / 1000} s`);
  for (const c of cleanups.reverse()) {
    try { c(true); } catch (e) { /* best effort */ }
  }
  process.exit(1);
}, DEADLINE_MS);

function log(...a) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
}

async function step(name, fn) {
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

function httpGet(port, p, method = "GET", timeout = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, method, timeout }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers,
                                    body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${p}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A specs dir with only the languages used here (start-up asks every spec's
// toolchain for its version), the runtimes dir beside it as the loader wants.
function specsSubset(tmp) {
  const root = path.join(tmp, "specs-root");
  const d = path.join(root, "specs");
  fs.mkdirSync(d, { recursive: true });
  for (const f of ["python3.json", "bash.json", "schema.json"]) {
    if (fs.existsSync(path.join(SPECS, f))) fs.copyFileSync(path.join(SPECS, f), path.join(d, f));
  }
  const runtimes = path.join(path.dirname(SPECS), "runtimes");
  if (fs.existsSync(runtimes)) fs.symlinkSync(runtimes, path.join(root, "runtimes"));
  return d;
}

class Server {
  constructor(tmp, specs, port, env = {}) {
    this.tmp = tmp;
    this.specs = specs;
    this.port = port;
    this.env = env;
    this.logPath = path.join(tmp, `runneld-${port}-${Date.now()}.log`);
    this.config = path.join(tmp, "runneld.json");
    fs.writeFileSync(this.config, JSON.stringify({
      limits: { concurrency: 2, wall_ms: 10000, cpu_ms: 10000, code_bytes: 8192,
                output_bytes: 1048576, idle_client_ms: 60000 },
    }));
  }

  async start() {
    lastServer = this;
    const out = fs.openSync(this.logPath, "w");
    this.proc = spawn(RUNNELD, ["--listen", `127.0.0.1:${this.port}`, "--specs", this.specs,
                                "--config", this.config],
                      { stdio: ["ignore", out, out], env: {
                        ...process.env,
                        // What a server keeps lives in the test's own directory.
                        RUNNEL_STATE_DIR: path.join(path.dirname(this.config), "state"),
                        RUNNEL_ZEPPELIN_NOTEBOOK_DIR: path.join(path.dirname(this.config), "notebook"),
                        ...this.env,
                      } });
    fs.closeSync(out);
    this.exited = new Promise((r) => this.proc.on("exit", (code, sig) => r({ code, sig })));
    const until = Date.now() + 15000;
    while (Date.now() < until) {
      if (this.proc.exitCode !== null) break;
      try {
        const r = await httpGet(this.port, "/healthz", "GET", 1000);
        if (r.status === 200) return await this.versionsKnown();
      } catch (e) { /* not up yet */ }
      await sleep(50);
    }
    throw new Error(`runneld did not come up:\n${this.logTail()}`);
  }

  // Toolchain versions are detected in the background after start.
  async versionsKnown() {
    const until = Date.now() + 60000;
    while (Date.now() < until) {
      try {
        const r = await httpGet(this.port, "/v1/info", "GET", 2000);
        if (r.status !== 200 || !JSON.parse(r.body).versions_pending) return this;
      } catch (e) { return this; }
      await sleep(100);
    }
    return this;
  }

  logTail(n = 40) {
    try {
      return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-n).join("\n");
    } catch (e) {
      return "";
    }
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 6000);
    await this.exited;
    clearTimeout(t);
  }
}

// Record when each piece of output appears (page clock, ms).
const RECORDER = `(() => {
  const out = document.getElementById("output");
  window.__seen = [];
  const t0 = performance.now();
  new MutationObserver(() => {
    window.__seen.push({ t: performance.now() - t0, text: out.textContent });
  }).observe(out, { childList: true, subtree: true, characterData: true });
})()`;

async function statusField(page, field) {
  return page.$eval(`#status [data-field="${field}"]`, (e) => e.textContent).catch(() => null);
}

async function waitStatus(page, field, timeout) {
  await page.waitForSelector(`#status [data-field="${field}"]`, { timeout });
  return statusField(page, field);
}

async function main() {
  assert.ok(fs.existsSync(RUNNELD), `${RUNNELD} does not exist (set RUNNEL_BUILD)`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} does not exist (apt-get install chromium)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-browser-"));
  if (!process.env.RUNNEL_KEEP_TMP) cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  else log(`keeping ${tmp}`);
  const specs = specsSubset(tmp);
  const port = await freePort();
  let server = await new Server(tmp, specs, port).start();
  cleanups.push(() => server.proc && server.proc.kill("SIGKILL"));
  log(`runneld on 127.0.0.1:${port}`);
  const specMap = JSON.parse((await httpGet(port, "/v1/spec")).body);

  await step("GET / serves the embedded page with its headers", async () => {
    for (const p of ["/", "/index.html"]) {
      const r = await httpGet(port, p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.headers["cache-control"], "no-cache");
      assert.match(r.headers.etag || "", /^"[0-9a-f]{64}"$/);
      assert.match(r.headers["content-security-policy"] || "", /connect-src 'self' ws: wss:/);
      assert.match(r.body, /<title>runnel playground<\/title>/);
      assert.doesNotMatch(r.body, /<script[^>]+src=|<link[^>]+stylesheet/, "page must be self-contained");
    }
    const post = await httpGet(port, "/", "POST");
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
  });

  await step("playground: false turns the page off", async () => {
    const p2 = await freePort();
    const off = await new Server(tmp, specs, p2, { RUNNEL_PLAYGROUND: "false" }).start();
    try {
      assert.equal((await httpGet(p2, "/")).status, 404);
      assert.equal((await httpGet(p2, "/healthz")).status, 200);
    } finally {
      await off.stop();
    }
  });

  const profile = fs.mkdtempSync(path.join(tmp, "profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 30000,
  });
  cleanups.push(() => context.close().catch(() => {}));
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("dialog", (d) => d.dismiss().catch(() => {}));
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base);

  await step("language picker: real specs with versions, no aliases", async () => {
    await page.waitForSelector("#conn.up", { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll("#lang option[value]").length >= 2);
    const opts = await page.$$eval("#lang option", (os) => os.map((o) => [o.value, o.textContent]));
    const keys = Object.keys(specMap).filter((k) => !specMap[k].use).sort();
    assert.deepEqual(opts.map((o) => o[0]).sort(), keys);
    assert.ok(!opts.some((o) => o[0] === "py" || o[0] === "python"), "aliases must not be listed");
    const py = opts.find((o) => o[0] === "python3");
    const ver = /\d+\.\d+\.\d+/.exec(specMap.python3.version)[0];
    assert.ok(py[1].includes("Python 3") && py[1].includes(ver), `python3 option: ${py[1]}`);
  });

  await step("each language loads its example", async () => {
    await page.selectOption("#lang", "bash");
    assert.equal(await page.inputValue("#code"), specMap.bash.example);
    await page.selectOption("#lang", "python3");
    assert.equal(await page.inputValue("#code"), specMap.python3.example);
    assert.equal(await page.textContent("#filename"), "main.py");
  });

  await step("three lines stream one by one, status shows exit 0", async () => {
    const program = [
      "import sys, time",
      'print("line one", flush=True)',
      "time.sleep(0.8)",
      'print("warning on stderr", file=sys.stderr, flush=True)',
      'print("line two", flush=True)',
      "time.sleep(0.8)",
      'print("line three", flush=True)',
      "",
    ].join("\n");
    await page.fill("#code", program);
    await page.evaluate(RECORDER);
    await page.click("#run");
    assert.equal(await waitStatus(page, "exitcode", 20000), "0");
    assert.equal(await statusField(page, "reason"), "exited");
    assert.match(await statusField(page, "wall"), /^\d+(\.\d+)? (ms|s)$/);
    assert.match(await statusField(page, "cpu"), /^\d+(\.\d+)? (ms|s)$/);
    assert.match(await statusField(page, "memory"), /^\d+(\.\d+)? (B|KiB|MiB)$/);
    const text = await page.textContent("#output");
    assert.equal(text, "line one\nwarning on stderr\nline two\nline three\n");
    const seen = await page.evaluate(() => window.__seen);
    const first = (s) => {
      const e = seen.find((x) => x.text.includes(s));
      assert.ok(e, `"${s}" never appeared: ${JSON.stringify(seen)}`);
      return e.t;
    };
    const t1 = first("line one"), t2 = first("line two"), t3 = first("line three");
    log(`     lines appeared at ${t1.toFixed(0)}, ${t2.toFixed(0)}, ${t3.toFixed(0)} ms`);
    assert.ok(t2 - t1 >= 600, `line two only ${t2 - t1} ms after line one`);
    assert.ok(t3 - t2 >= 600, `line three only ${t3 - t2} ms after line two`);
    // stderr is visibly different
    const colors = await page.evaluate(() => {
      const out = document.querySelector("#output .out"), err = document.querySelector("#output .err");
      return [getComputedStyle(out).color, err && getComputedStyle(err).color, err && err.textContent];
    });
    assert.equal(colors[2], "warning on stderr\n");
    assert.notEqual(colors[0], colors[1], "stderr must look different from stdout");
    assert.equal(await page.isEnabled("#run"), true);
    assert.equal(await page.isEnabled("#stop"), false);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "playground.png") });
    log(`     screenshot: ${path.join(ARTIFACTS, "playground.png")}`);
  });

  await step("Stop kills an endless loop: reason killed", async () => {
    await page.fill("#code", 'import time\nwhile True:\n    print("tick", flush=True)\n    time.sleep(0.1)\n');
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("output").textContent.includes("tick"),
                               null, { timeout: 10000 });
    assert.equal(await page.isEnabled("#stop"), true);
    const t0 = Date.now();
    await page.click("#stop");
    assert.equal(await waitStatus(page, "reason", 8000), "killed");
    assert.ok(Date.now() - t0 < 5000, "the kill took too long");
    assert.equal(await page.isEnabled("#run"), true);
  });

  await step("Ctrl+Enter runs; a signal and a non-zero exit show in the status", async () => {
    await page.fill("#code", "import sys\nprint(6 * 7)\nsys.exit(3)\n");
    await page.focus("#code");
    await page.keyboard.press("Control+Enter");
    assert.equal(await waitStatus(page, "exitcode", 15000), "3");
    assert.equal(await page.textContent("#output"), "42\n");
    assert.equal(await page.getAttribute("#status", "class"), "bad");
  });

  await step("stdin box feeds the program", async () => {
    await page.fill("#code", "import sys\nfor l in sys.stdin:\n    print(l.strip().upper())\n");
    await page.fill("#stdin", "abc\ndef\n");
    await page.click("#run");
    assert.equal(await waitStatus(page, "exitcode", 15000), "0");
    assert.equal(await page.textContent("#output"), "ABC\nDEF\n");
    await page.fill("#stdin", "");
  });

  await step("Tab inserts spaces, Shift+Tab removes them", async () => {
    await page.fill("#code", "");
    await page.focus("#code");
    await page.keyboard.press("Tab");
    await page.keyboard.type("x");
    assert.equal(await page.inputValue("#code"), "    x");
    assert.equal(await page.evaluate(() => document.activeElement.id), "code");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await page.inputValue("#code"), "x");
  });

  await step("long output is capped on the page with a note", async () => {
    await page.fill("#code", 'import sys\nfor i in range(3000):\n    sys.stdout.write("%05d " % i + "x" * 94 + "\\n")\n');
    await page.click("#run");
    assert.equal(await waitStatus(page, "exitcode", 20000), "0");
    const r = await page.evaluate(() => {
      const o = document.getElementById("output");
      let shown = 0;
      o.querySelectorAll(".out").forEach((s) => (shown += s.textContent.length));
      const note = o.querySelector(".note");
      return { shown, note: note && note.textContent,
               atBottom: o.scrollHeight - o.scrollTop - o.clientHeight < 40 };
    });
    assert.equal(r.shown, 200000);
    assert.match(r.note || "", /^Output truncated on this page after 200,000 characters/);
    assert.ok(r.atBottom, "output did not auto-scroll");
  });

  await step("server errors read as sentences", async () => {
    await page.fill("#code", "# " + "x".repeat(9000) + "\nprint(1)\n");
    await page.click("#run");
    await page.waitForSelector("#output .fail", { timeout: 10000 });
    const msg = await page.textContent("#output .fail");
    assert.match(msg, /^The server refused the run: request too large: code is limited to 8192 bytes/);
    assert.equal(await page.isEnabled("#run"), true);
  });

  await step("shareable link restores language and code", async () => {
    const program = 'print("shared ü €")\n';
    await page.selectOption("#lang", "bash");
    await page.selectOption("#lang", "python3");
    await page.fill("#code", program);
    await page.click("#share");
    const url = page.url();
    assert.match(url, /#lang=python3&code=[A-Za-z0-9_-]+$/);
    const p2 = await context.newPage();
    await p2.goto(url);
    await p2.waitForFunction(() => document.getElementById("code").value.length > 0);
    assert.equal(await p2.inputValue("#lang"), "python3");
    assert.equal(await p2.inputValue("#code"), program);
    await p2.waitForSelector("#conn.up");
    await p2.click("#run");
    assert.equal(await waitStatus(p2, "exitcode", 15000), "0");
    assert.equal(await p2.textContent("#output"), "shared ü €\n");
    await p2.close();
  });

  await step("a dropped connection ends the run readably and reconnects", async () => {
    await page.fill("#code", "import time\ntime.sleep(30)\n");
    await page.click("#run");
    await page.waitForFunction(() => document.getElementById("stop").disabled === false);
    await sleep(300);
    await server.stop();
    await page.waitForSelector("#conn.down", { timeout: 8000 });
    const fail = await page.textContent("#output .fail");
    assert.match(fail, /connection to the server dropped/);
    assert.equal(await page.isEnabled("#run"), false);
    server = await new Server(tmp, specs, port).start();
    await page.waitForSelector("#conn.up", { timeout: 15000 });
    await page.fill("#code", 'print("back")\n');
    await page.click("#run");
    assert.equal(await waitStatus(page, "exitcode", 15000), "0");
    assert.equal(await page.textContent("#output"), "back\n");
  });

  await step("no JavaScript errors on the page", async () => {
    assert.deepEqual(pageErrors, []);
  });

  await context.close();
  await server.stop();
  if (failures) log(`----- runneld log -----\n${server.logTail()}`);
  lastServer = null;
}

main()
  .catch((e) => {
    failures++;
    log(`FAIL: ${e && e.stack ? e.stack : e}`);
    if (lastServer) log(`----- runneld log -----\n${lastServer.logTail()}`);
  })
  .finally(() => {
    clearTimeout(overall);
    for (const c of cleanups.reverse()) {
      try { c(false); } catch (e) { /* best effort */ }
    }
    log(failures ? `${failures} check(s) failed` : "all browser checks passed");
    process.exit(failures ? 1 : 0);
  });
