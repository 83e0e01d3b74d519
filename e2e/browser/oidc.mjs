// The real OpenID Connect test provider (`oidc-provider`, crates/authfort-test-support/oidc)
// for the browser tests: installed with `npm ci` when missing, started on a free loopback
// port with the given redirect URIs, stopped with `stop()`. Missing Node or npm fails.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const DIR = resolve(import.meta.dirname, "../../crates/authfort-test-support/oidc");

/** The client registered at the provider (the same as the Rust tests'). */
export const CLIENT_ID = "authfort-test";
export const CLIENT_SECRET = "authfort-test-secret-0123456789";

/** Starts the provider; resolves to `{ issuer, discoveryUrl, stop() }`. */
export async function startProvider(redirectUris) {
  if (!existsSync(resolve(DIR, "node_modules/oidc-provider"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: DIR, stdio: "inherit" });
  }
  const child = spawn(process.execPath, ["provider.mjs"], {
    cwd: DIR,
    env: { ...process.env, CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS: redirectUris.join(",") },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const issuer = await new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      const m = line.match(/^LISTENING (\S+)$/);
      m ? ok(m[1]) : fail(new Error(`the OIDC provider did not start (said ${JSON.stringify(line)})`));
    });
    child.once("exit", (code) => fail(new Error(`the OIDC provider exited (${code})`)));
  });
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    stop() {
      child.stdin.end();
      child.kill("SIGTERM");
    },
  };
}
