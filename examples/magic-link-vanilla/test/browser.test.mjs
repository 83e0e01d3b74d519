// The example app in a real browser (Debian Chromium, headless) against the real `authfort`
// binary: enter an e-mail, open the mailed link (the app's /verify route calls
// verifyMagicLink), see the signed-in state, reload (cookie session restored by initialize,
// also after the access token expired), sign out.
//
// Same-origin setup: serve.mjs serves dist/ and proxies /auth/* to authfort, so the HttpOnly
// cookies are first-party; mail is captured through the webhook transport.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startAppServer } from '../serve.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = process.env.AUTHFORT_BIN ?? resolve(ROOT, '../../target/debug/authfort');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ACCESS_TTL = 3;

let authfort, app, sink, browser, dir;
let output = '';
const mails = [];

function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  assert.ok(existsSync(BIN), `authfort binary missing at ${BIN} (cargo build -p authfort-server, or set AUTHFORT_BIN)`);
  assert.ok(existsSync(join(ROOT, 'dist/index.html')), 'build the app first: npm run build');
  assert.ok(existsSync(CHROMIUM), `chromium missing at ${CHROMIUM} (apt-get install chromium)`);
  dir = mkdtempSync(join(tmpdir(), 'authfort-example-'));

  sink = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      mails.push(JSON.parse(raw));
      res.writeHead(200).end();
    });
  });
  await new Promise((ok) => sink.listen(0, '127.0.0.1', ok));

  const authPort = await freePort();
  const appPort = await freePort();
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTHFORT_')));
  authfort = spawn(BIN, ['serve'], {
    cwd: dir,
    env: {
      ...env,
      AUTHFORT_BIND: `127.0.0.1:${authPort}`,
      AUTHFORT_DATABASE_URL: `sqlite://${join(dir, 'authfort.db')}`,
      AUTHFORT_LOG: 'warn',
      AUTHFORT_PUBLIC_URL: appOrigin,
      AUTHFORT_ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL),
      AUTHFORT_ALLOW_PASSWORDLESS_SIGNUP: 'true',
      AUTHFORT_COOKIE__ENABLED: 'true',
      AUTHFORT_COOKIE__SECURE: 'false',
      AUTHFORT_LINKS__MAGIC_LINK_URL: `${appOrigin}/verify?token={token}`,
      AUTHFORT_EMAIL__TRANSPORT: 'webhook',
      AUTHFORT_EMAIL__WEBHOOK_URL: `http://127.0.0.1:${sink.address().port}/mail`,
      AUTHFORT_EMAIL__WEBHOOK_SECRET: 'browser-test-webhook-secret',
      AUTHFORT_EMAIL__POLL_INTERVAL_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  authfort.stdout.on('data', (d) => (output += d));
  authfort.stderr.on('data', (d) => (output += d));
  await until('authfort', async () => (await fetch(`http://127.0.0.1:${authPort}/healthz`)).ok);

  app = await startAppServer({ distDir: join(ROOT, 'dist'), authOrigin: `http://127.0.0.1:${authPort}`, port: appPort });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // launch() always uses a fresh temporary profile (--user-data-dir is managed by Playwright).
  });
});

after(async () => {
  await browser?.close();
  authfort?.kill('SIGTERM');
  app?.close();
  sink?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('magic-link sign-in, reload keeps the session, sign-out', async () => {
  const origin = `http://127.0.0.1:${app.address().port}`;
  const email = 'browser-user@example.com';
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(origin);
  await page.getByText('Signed out.').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send magic link' }).click();
  await page.getByText('Check your inbox for the sign-in link.').waitFor();

  const mail = await until('the magic-link mail', () => mails.find((m) => m.to.includes(email)));
  const link = /(http:\/\/127\.0\.0\.1:\d+\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  assert.ok(link, `no app link in the mail:\n${mail.text}`);

  await page.goto(link);
  await page.getByText(`You are signed in as ${email}.`).waitFor();
  assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/', 'token removed from the address bar');
  const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
  assert.ok(cookies.access_token?.httpOnly, 'access cookie set, HttpOnly');
  assert.ok(cookies.refresh_token?.httpOnly, 'refresh cookie set, HttpOnly');
  assert.equal(await page.evaluate(() => document.cookie), '', 'tokens are invisible to JavaScript');

  // Reload: initialize() → GET /auth/me with the access cookie.
  await page.reload();
  await page.getByText(`You are signed in as ${email}.`).waitFor();

  // After the access token expired: initialize() → /me 401 → POST /auth/refresh (refresh cookie).
  await new Promise((r) => setTimeout(r, (ACCESS_TTL + 1) * 1000 + 200));
  const requests = [];
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.reload();
  await page.getByText(`You are signed in as ${email}.`).waitFor();
  assert.ok(requests.includes('POST /auth/refresh'), `expected a refresh, saw ${requests.join(', ')}`);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Signed out.').waitFor();
  assert.deepEqual((await context.cookies()).map((c) => c.name), [], 'cookies cleared');
  await page.reload();
  await page.getByText('Signed out.').waitFor();
  await page.getByLabel('Email').waitFor();

  assert.deepEqual(errors, []);
  await context.close();
});

test('a used link shows the error and leaves the visitor signed out', async () => {
  const origin = `http://127.0.0.1:${app.address().port}`;
  const email = 'second-user@example.com';
  const r = await fetch(`${origin}/auth/magic-link`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  assert.equal(r.status, 200);
  const mail = await until('the mail', () => mails.find((m) => m.to.includes(email)));
  const link = /(http:\/\/127\.0\.0\.1:\d+\/verify\?token=[A-Za-z0-9_-]+)/.exec(mail.text)[1];

  const first = await browser.newContext();
  const p1 = await first.newPage();
  await p1.goto(link);
  await p1.getByText(`You are signed in as ${email}.`).waitFor();
  await first.close();

  const second = await browser.newContext();
  const p2 = await second.newPage();
  await p2.goto(link);
  await p2.getByText('Invalid or expired magic link (invalid_magic_link)').waitFor();
  await p2.getByText('Signed out.').waitFor();
  assert.deepEqual(await second.cookies(), []);
  await second.close();
});
