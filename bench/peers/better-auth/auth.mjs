// Better Auth instance for the load benchmark, configured from env.
//   BA_DB     SQLite file path
//   BA_SECRET secret, >= 32 chars
//   BA_URL    base URL, e.g. http://127.0.0.1:3000
// Shared by server.mjs and mint.mjs so both use exactly the same config.
process.env.BETTER_AUTH_TELEMETRY ??= "0";

import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { magicLink } from "better-auth/plugins/magic-link";

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`missing env ${name}`);
    process.exit(2);
  }
  return v;
}

const dbPath = env("BA_DB");
const secret = env("BA_SECRET");
const baseURL = env("BA_URL").replace(/\/+$/, "");
if (secret.length < 32) {
  console.error("BA_SECRET must be at least 32 characters");
  process.exit(2);
}

export const db = new Database(dbPath);
db.pragma("journal_mode = WAL");
db.pragma("busy_timeout = 5000");

// Optional hook: mint.mjs installs one to capture the raw magic-link token
// (called as fn({ email, token, metadata })).
// The server installs none, so sendMagicLink does nothing there.
let magicLinkCapture = null;
export function setMagicLinkCapture(fn) {
  magicLinkCapture = fn;
}

export const auth = betterAuth({
  baseURL,
  basePath: "/api/auth",
  secret,
  database: db,
  trustedOrigins: [new URL(baseURL).origin],
  emailAndPassword: {
    enabled: true,
    requireEmailVerification: false,
    autoSignIn: true,
  },
  session: {
    cookieCache: { enabled: false },
  },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [
    magicLink({
      expiresIn: 600, // seconds
      disableSignUp: false, // unknown email => user created on first verify
      sendMagicLink: async ({ email, token, metadata }) => {
        if (magicLinkCapture) magicLinkCapture({ email, token, metadata });
      },
    }),
  ],
});
