// Token / user minting for the benchmark (same env as server.mjs: BA_DB, BA_SECRET, BA_URL).
//   node mint.mjs <emails-file> <out-file>      one magic-link token per email, same order
//   node mint.mjs --signup <email> <password>   create an email+password user
// Safe to run while the server is running on the same SQLite file (WAL + busy_timeout).
process.env.NODE_ENV = "production";
process.env.BETTER_AUTH_TELEMETRY ??= "0";

import { readFileSync, writeFileSync } from "node:fs";

const { auth, db, setMagicLinkCapture } = await import("./auth.mjs");
const { getMigrations } = await import("better-auth/db/migration");

const CHUNK = 50;

async function migrateIfNeeded() {
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(auth.options);
  if (toBeCreated.length || toBeAdded.length) await runMigrations();
}

function usage() {
  console.error("usage: node mint.mjs <emails-file> <out-file>\n       node mint.mjs --signup <email> <password>");
  process.exit(2);
}

const args = process.argv.slice(2);
await migrateIfNeeded();

if (args[0] === "--signup") {
  if (args.length !== 3) usage();
  const [, email, password] = args;
  try {
    const res = await auth.api.signUpEmail({
      body: { email, password, name: email.split("@")[0] },
      headers: new Headers(),
    });
    console.log(`created user ${res.user.id} ${res.user.email}`);
  } catch (err) {
    const code = err?.body?.code ?? "ERROR";
    console.error(`signup failed: ${code}: ${err?.body?.message ?? err?.message ?? err}`);
    db.close();
    process.exit(1);
  }
} else {
  if (args.length !== 2) usage();
  const [emailsFile, outFile] = args;
  const emails = readFileSync(emailsFile, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

  const tokens = new Array(emails.length);
  // Correlate by index (passed through the plugin's `metadata`), so duplicate
  // emails in the input still map one-to-one.
  setMagicLinkCapture(({ token, metadata }) => {
    tokens[metadata.i] = token;
  });

  const t0 = Date.now();
  for (let start = 0; start < emails.length; start += CHUNK) {
    const batch = emails.slice(start, start + CHUNK);
    await Promise.all(
      batch.map((email, j) =>
        auth.api.signInMagicLink({
          body: { email, metadata: { i: start + j } },
          headers: new Headers(),
        }),
      ),
    );
  }
  const missing = tokens.findIndex((t) => !t);
  if (tokens.length !== emails.length || missing !== -1) {
    console.error(`token capture failed (first missing index ${missing})`);
    process.exit(1);
  }
  writeFileSync(outFile, tokens.join("\n") + "\n");
  console.error(`minted ${tokens.length} tokens in ${Date.now() - t0} ms -> ${outFile}`);
}

db.close();
