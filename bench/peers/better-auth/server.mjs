// node server.mjs  — Better Auth on a plain Node http server.
// Env: BA_DB, BA_SECRET, BA_URL, BA_PORT (127.0.0.1 only).
process.env.NODE_ENV = "production";
process.env.BETTER_AUTH_TELEMETRY ??= "0";

import http from "node:http";

// Dynamic imports so NODE_ENV is set before Better Auth reads it.
const { auth } = await import("./auth.mjs");
const { toNodeHandler } = await import("better-auth/node");
const { getMigrations } = await import("better-auth/db/migration");

const port = Number(process.env.BA_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("missing/invalid env BA_PORT");
  process.exit(2);
}

const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(auth.options);
if (toBeCreated.length || toBeAdded.length) {
  await runMigrations();
  console.error(
    `migrated: created [${toBeCreated.map((t) => t.table).join(", ")}], ` +
      `altered [${toBeAdded.map((t) => t.table).join(", ")}]`,
  );
}

const authHandler = toNodeHandler(auth);

const server = http.createServer((req, res) => {
  if (req.url.startsWith("/api/auth/") || req.url === "/api/auth") {
    authHandler(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
    return;
  }
  if (req.method === "GET" && req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
});
server.keepAliveTimeout = 65_000;

server.listen(port, "127.0.0.1", () => {
  process.stdout.write("ready\n");
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
