// The email-verification and password-reset landing pages in a real browser (Debian
// Chromium, headless) against the real `authfort` binary: opening a link consumes nothing,
// the button finishes the flow, a refused password leaves the link usable, a used link fails,
// and both pages run under their strict CSP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start } from "./harness.mjs";

const VERIFY = /(http:\/\/127\.0\.0\.1:\d+\/auth\/verify-email\/confirm#token=[A-Za-z0-9_-]+)/g;
const RESET = /(http:\/\/127\.0\.0\.1:\d+\/auth\/password\/reset\/confirm#token=[A-Za-z0-9_-]+)/g;
const PASSWORD = "correct horse battery";
const NEW_PASSWORD = "a much newer horse battery";

let app;

/** Opens `link` in a fresh context, collecting CSP violations and POSTs. */
async function open(link) {
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const violations = [];
  const posts = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
  });
  page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
  await page.goto(link);
  return { context, page, violations, posts };
}

async function me(accessToken) {
  const r = await fetch(app.base + "/auth/me", { headers: { Authorization: `Bearer ${accessToken}` } });
  assert.equal(r.status, 200);
  return r.json();
}

const login = (email, password) => app.post("/auth/login", { email, password });

before(async () => {
  app = await start();
});

after(async () => {
  await app?.stop();
});

test("the verification page confirms the address only when its button is pressed", async () => {
  const { tokens } = await app.signup("verify@example.com", PASSWORD);
  const resend = () =>
    app.post("/auth/verify-email/resend", {}, { Authorization: `Bearer ${tokens.access_token}` });
  const link = await app.nextLink(VERIFY, async () => assert.equal((await resend()).status, 200));

  const { context, page, violations, posts } = await open(link);
  assert.equal(page.url(), `${app.base}/auth/verify-email/confirm`, "token removed from the address bar");
  assert.deepEqual(posts, [], "the page does not submit by itself");
  assert.equal((await me(tokens.access_token)).email_verified, false, "opening the link confirms nothing");
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByText("Your email address is confirmed.").waitFor();
  assert.equal((await me(tokens.access_token)).email_verified, true);
  assert.deepEqual(violations, []);
  await context.close();

  const again = await open(link);
  await again.page.getByRole("button", { name: "Confirm" }).click();
  await again.page.getByText("Invalid or expired verification token").waitFor();
  await again.context.close();
});

test("the reset page keeps the link through a refused password and then sets the new one", async () => {
  await app.signup("reset@example.com", PASSWORD);
  const link = await app.nextLink(RESET, async () => {
    const r = await app.post("/auth/password/forgot", { email: "reset@example.com" });
    assert.equal(r.status, 200);
  });

  const { context, page, violations, posts } = await open(link);
  assert.equal(page.url(), `${app.base}/auth/password/reset/confirm`, "token removed from the address bar");
  assert.deepEqual(posts, []);
  const save = page.getByRole("button", { name: "Save password" });
  await page.getByLabel("New password").fill("short");
  await save.click();
  await page.getByText("Password must be at least", { exact: false }).waitFor();
  assert.equal(await save.isEnabled(), true, "a refused password leaves the link usable");
  assert.equal((await login("reset@example.com", PASSWORD)).status, 200, "nothing changed yet");

  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await save.click();
  await page.getByText("Your password has been changed.", { exact: false }).waitFor();
  assert.equal((await login("reset@example.com", NEW_PASSWORD)).status, 200);
  assert.equal((await login("reset@example.com", PASSWORD)).status, 401);
  assert.deepEqual(await context.cookies(), [], "a reset does not sign the browser in");
  assert.deepEqual(violations, []);
  await context.close();

  const again = await open(link);
  await again.page.getByLabel("New password").fill("yet another horse battery");
  await again.page.getByRole("button", { name: "Save password" }).click();
  await again.page.getByText("invalid", { exact: false }).waitFor();
  assert.equal((await login("reset@example.com", NEW_PASSWORD)).status, 200, "a used link changes nothing");
  await again.context.close();
});
