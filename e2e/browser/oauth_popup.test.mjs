// OAuth sign-in in popup mode in a real browser (Debian Chromium, headless): the TypeScript
// client's `signInWithProvider(…, { mode: 'popup' })` on a page of the configured frontend
// origin, against the real `authfort` binary and a real OpenID Connect provider
// (`oidc-provider`). The popup goes through the provider's sign-in page, the callback page
// posts the result to the opener and closes, and the opener holds the user and tokens. A page
// on another origin running the same code gets nothing: no message, the popup just closes.
//
// Runs on SQLite, and on PostgreSQL (a fresh schema of AUTHFORT_TEST_POSTGRES_URL, default
// postgres://postgres@127.0.0.1:5432/test; psql creates and drops it). Needs the client's
// build in clients/js/dist (built here when missing; ./scripts/test builds it first).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { createServer } from "node:http";
import { extname, resolve } from "node:path";
import { freePort, start } from "./harness.mjs";
import { CLIENT_ID, CLIENT_SECRET, startProvider } from "./oidc.mjs";

const CLIENT_DIR = resolve(import.meta.dirname, "../../clients/js");
const DIST = resolve(CLIENT_DIR, "dist");
const PG_URL = process.env.AUTHFORT_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

// The opener: the client in bearer mode (tokens in memory); every message it receives is
// recorded, whatever its origin, so the test sees what arrived and from where.
const OPENER = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>App</title></head><body>
<button id="go">Sign in with Acme</button>
<script type="module">
import { createAuthClient, memoryStorage } from '/dist/index.js';
const auth = new URLSearchParams(location.search).get('auth');
const client = createAuthClient({ baseUrl: auth + '/auth', tokenMode: 'bearer', tokenStorage: memoryStorage() });
window.messages = [];
window.addEventListener('message', (e) => window.messages.push({ origin: e.origin, data: e.data }));
document.getElementById('go').addEventListener('click', () => {
  window.result = client.signInWithProvider('acme', { mode: 'popup' }).then(
    async (r) => ({ ok: true, status: r.status, user: r.user, token: await client.getToken(), state: client.state }),
    (e) => ({ ok: false, code: e.code, message: e.message }),
  );
});
</script></body></html>`;

const TYPES = { ".js": "text/javascript; charset=utf-8", ".map": "application/json", ".cjs": "text/javascript" };

/** A static site on its own origin: the opener at `/`, the client build under `/dist/`. */
async function site() {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(OPENER);
    }
    const file = resolve(DIST, "." + path.replace(/^\/dist/, ""));
    if (!path.startsWith("/dist/") || !file.startsWith(DIST + "/") || !existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

function buildClientIfMissing() {
  if (existsSync(resolve(DIST, "index.js"))) return;
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: CLIENT_DIR, stdio: "inherit" });
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
  run("npx", ["tsup", "--silent"]);
}

const psql = (sql) => execFileSync("psql", ["-q", "-v", "ON_ERROR_STOP=1", PG_URL, "-c", sql], { stdio: "pipe" });

/** Everything one backend's run needs: provider, server, the two sites. */
async function setUp(backend) {
  buildClientIfMissing();
  const front = await site();
  const foreign = await site();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = await startProvider([`${base}/auth/oauth/acme/callback`]);
  const env = {
    AUTHFORT_PUBLIC_URL: base,
    AUTHFORT_FRONTEND_URL: front.origin,
    AUTHFORT_CORS__ALLOWED_ORIGINS: front.origin,
    AUTHFORT_COOKIE__SECURE: "false",
    AUTHFORT_OAUTH__PROVIDERS__ACME__DISCOVERY_URL: provider.discoveryUrl,
    AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_ID: CLIENT_ID,
    AUTHFORT_OAUTH__PROVIDERS__ACME__CLIENT_SECRET: CLIENT_SECRET,
  };
  let schema;
  if (backend === "postgres") {
    schema = `browser_oauth_${process.pid}_${Date.now()}`;
    psql(`CREATE SCHEMA ${schema}`);
    env.AUTHFORT_DATABASE_URL = `${PG_URL}?options=-c%20search_path%3D${schema}`;
    // Required with PostgreSQL (it keys the email codes); a fixed test value.
    env.AUTHFORT_SECRET_KEY = "browser-test-secret-key-0123456789abcdef";
  }
  let app;
  const tearDown = async () => {
    await app?.stop();
    provider.stop();
    front.close();
    foreign.close();
    if (schema) psql(`DROP SCHEMA ${schema} CASCADE`);
  };
  try {
    app = await start(env, { port });
  } catch (e) {
    await tearDown();
    throw e;
  }
  return { app, front, foreign, tearDown };
}

/**
 * Opens `opener` (with the auth server's address) in a fresh context, presses the sign-in
 * button, signs in at the provider in the popup as `sub` / `email`, and waits for the popup to
 * close. Returns the opener's outcome, the messages it received and the popup's CSP complaints.
 */
async function popupSignIn(env, opener, sub, email) {
  const context = await env.app.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${opener}/?auth=${encodeURIComponent(env.app.base)}`);
  await page.waitForFunction(() => Array.isArray(window.messages));
  const opened = page.waitForEvent("popup");
  await page.getByRole("button", { name: "Sign in with Acme" }).click();
  const popup = await opened;
  const violations = [];
  popup.on("console", (m) => /Content Security Policy|Refused to/.test(m.text()) && violations.push(m.text()));
  const closed = popup.waitForEvent("close", { timeout: 30_000 });
  // The provider's own sign-in page, reached through authorize → provider → interaction.
  await popup.getByLabel("Subject").fill(sub);
  await popup.getByLabel("Email").fill(email);
  await popup.getByRole("button", { name: "Continue" }).click();
  await closed;
  // The client's promise (set on click) settles once the popup has reported or closed.
  const result = await page.evaluate(() => window.result);
  const messages = await page.evaluate(() => window.messages);
  const cookies = await context.cookies(env.app.base);
  await context.close();
  return { result, messages, violations, cookies };
}

for (const backend of ["sqlite", "postgres"]) {
  describe(backend, () => {
    let env;
    before(async () => {
      env = await setUp(backend);
    });
    after(async () => {
      await env?.tearDown();
    });

    test(`[${backend}] the popup posts the sign-in to the opener on the frontend origin and closes`, async () => {
      const email = `popup-${backend}@example.com`;
      const { result, messages, violations, cookies } = await popupSignIn(env, env.front.origin, `sub-popup-${backend}`, email);

      // The client resolved with the user, holds tokens, and is authenticated.
      assert.equal(result.ok, true, JSON.stringify({ result, messages }));
      assert.equal(result.status, "authenticated");
      assert.equal(result.user.email, email);
      assert.equal(result.user.emailVerified, true);
      assert.equal(result.state, "authenticated");
      assert.match(result.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      // Exactly one message, from the auth server's origin, carrying user and tokens.
      assert.equal(messages.length, 1, JSON.stringify(messages));
      assert.equal(messages[0].origin, env.app.base);
      assert.equal(messages[0].data.user.email, email);
      assert.equal(typeof messages[0].data.tokens.refresh_token, "string");
      assert.deepEqual(violations, [], "the popup page runs under its CSP");
      // Cookie mode: the popup's response also set the auth cookies on the server's origin.
      assert.ok(cookies.some((c) => c.name === "access_token" && c.httpOnly), JSON.stringify(cookies));

      // The token the opener got is a working access token for that user.
      const me = await fetch(`${env.app.base}/auth/me`, { headers: { Authorization: `Bearer ${result.token}` } });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).email, email);
    });

    test(`[${backend}] a page on another origin receives nothing from the popup`, async () => {
      const email = `foreign-${backend}@example.com`;
      const { result, messages } = await popupSignIn(env, env.foreign.origin, `sub-foreign-${backend}`, email);

      // The popup signed in and closed, but its message was addressed to the frontend origin:
      // the foreign opener got no message and its client reports a closed popup.
      assert.deepEqual(messages, []);
      assert.equal(result.ok, false);
      assert.equal(result.code, "popup_closed");
    });
  });
}
