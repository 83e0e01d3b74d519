// The magic-link confirm page in a real browser (Debian Chromium, headless) against the real
// `authfort` binary: opening the link consumes nothing, Continue signs in and sets the cookies.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { start } from "./harness.mjs";

const LINK = /(http:\/\/127\.0\.0\.1:\d+\/auth\/magic-link\/confirm#token=[A-Za-z0-9_-]+)/g;

let app, base, dir, browser;

/** Requests a link and returns it as printed by the `log` transport. */
async function requestLink(email) {
  return app.nextLink(LINK, async () => {
    const r = await app.post("/auth/magic-link", { email });
    assert.equal(r.status, 200);
  });
}

const post = (path, body) => app.post(path, body);

before(async () => {
  app = await start();
  ({ base, dir, browser } = app);
  await app.signup("browser@example.com", "correct horse battery");
});

after(async () => {
  await app?.stop();
});

test("GET of the link, with the token in the fragment or the query, consumes nothing", async () => {
  const link = await requestLink("browser@example.com");
  const token = link.split("#token=")[1];
  for (const url of [link, link.replace("#token=", "?token=")]) {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("set-cookie"), null);
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    const head = await fetch(url, { method: "HEAD" });
    assert.equal(head.status, 200);
  }
  for (const method of ["GET", "HEAD"]) {
    const r = await fetch(`${base}/auth/magic-link/verify?token=${token}`, { method });
    assert.equal(r.status, 405);
  }
  // Still valid: a POST redeems it.
  const r = await post("/auth/magic-link/verify", { token });
  assert.equal(r.status, 200);
});

test("Continue signs in and sets both cookies; the token leaves the address bar", async () => {
  const link = await requestLink("browser@example.com");
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(`${r.method()} ${r.url()}`));
  await page.goto(link);
  assert.equal(page.url(), `${base}/auth/magic-link/confirm`, "token removed from the address bar");
  assert.deepEqual(await context.cookies(), [], "loading the page signs nobody in");
  assert.ok(!requests.some((r) => r.startsWith("POST")), "the page does not submit by itself");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("You are signed in as browser@example.com.").waitFor();
  const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
  assert.ok(cookies.access_token?.httpOnly, "access cookie set, HttpOnly");
  assert.ok(cookies.refresh_token?.httpOnly, "refresh cookie set, HttpOnly");
  assert.equal(cookies.access_token.sameSite, "Lax");
  const me = await page.evaluate(async () => {
    const r = await fetch("/auth/me", { credentials: "same-origin" });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(me.status, 200);
  assert.equal(me.body.email, "browser@example.com");
  assert.equal(me.body.email_verified, true);
  await page.screenshot({ path: join(dir, "signed-in.png") });
  await context.close();
});

test("a used link shows an error and signs nobody in", async () => {
  const link = await requestLink("browser@example.com");
  const first = await browser.newContext();
  const p1 = await first.newPage();
  await p1.goto(link);
  await p1.getByRole("button", { name: "Continue" }).click();
  await p1.getByText("You are signed in").waitFor();
  await first.close();

  const second = await browser.newContext();
  const p2 = await second.newPage();
  await p2.goto(link);
  await p2.getByRole("button", { name: "Continue" }).click();
  await p2.getByText("Invalid or expired magic link").waitFor();
  assert.deepEqual(await second.cookies(), []);
  await second.close();
});

test("the page runs under its strict CSP without violations", async () => {
  const link = await requestLink("browser@example.com");
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
  });
  await page.goto(link);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("You are signed in").waitFor();
  assert.deepEqual(violations, []);
  await context.close();
});
