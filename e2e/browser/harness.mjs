// Shared set-up of the browser tests: the real `authfort` binary on a free port (links
// printed by the `log` transport are read from its stderr) and headless Debian Chromium.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.AUTHFORT_BIN ?? resolve(import.meta.dirname, "../../target/debug/authfort");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A free loopback TCP port. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Polls `fn` until it returns something truthy (30 s by default). */
export async function until(what, fn, ms = 30_000, log = () => "") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts `authfort serve` (cookie mode, cheap hashing) and Chromium. Call `stop()` after.
 * `options.port` picks the server's port (for configuration that must know it in advance).
 */
export async function start(extraEnv = {}, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), "authfort-browser-"));
  const port = options.port ?? (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AUTHFORT_")));
  let stderr = "";
  const server = spawn(BIN, ["serve"], {
    cwd: dir,
    env: {
      ...env,
      AUTHFORT_BIND: `127.0.0.1:${port}`,
      AUTHFORT_COOKIE__ENABLED: "true",
      AUTHFORT_EMAIL__POLL_INTERVAL_MS: "100",
      AUTHFORT_PASSWORD_HASHING__MEMORY_KIB: "1024",
      AUTHFORT_PASSWORD_HASHING__ITERATIONS: "1",
      AUTHFORT_PASSWORD_HASHING__PARALLELISM: "1",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  server.stderr.on("data", (d) => (stderr += d));
  const log = () => stderr;
  let browser;
  try {
    await until("the server", async () => (await fetch(base + "/healthz")).ok, 30_000, log);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  } catch (e) {
    // A server that never answered (or a browser that did not start) must not outlive us.
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const post = (path, body, headers = {}) =>
    fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  return {
    base,
    dir,
    browser,
    post,
    log,
    /** Runs `trigger` and returns the next link matching `pattern` printed after it. */
    async nextLink(pattern, trigger) {
      const seen = (stderr.match(pattern) ?? []).length;
      await trigger();
      return until("the mailed link", async () => (stderr.match(pattern) ?? [])[seen], 30_000, log);
    },
    async signup(email, password) {
      const r = await post("/auth/signup", { email, password });
      assert.equal(r.status, 201);
      return r.json();
    },
    async stop() {
      await browser?.close();
      server.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
