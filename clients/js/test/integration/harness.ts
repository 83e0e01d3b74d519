// Starts the real `authfort` binary for integration tests: temp dir + SQLite database, a free
// port, and mail captured by the webhook transport into a local HTTP sink. Also provides a
// cookie-jar `fetch` (Node's fetch has no cookie jar) for cookie-mode clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FetchLike } from '../../src/index.js';

/** `AUTHFORT_BIN`, default `../../target/debug/authfort` relative to clients/js. */
export const BIN = process.env.AUTHFORT_BIN ?? resolve(import.meta.dirname, '../../../../target/debug/authfort');

export interface Mail {
  id: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  created_at: string;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A local HTTP endpoint receiving the webhook transport's POSTs. */
export class MailSink {
  readonly mails: Mail[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => {
        try {
          this.mails.push(JSON.parse(raw) as Mail);
          res.writeHead(200).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mail`;
  }

  /** The next mail to `to` (after `after` mails to that address have been seen). */
  async next(to: string, after = this.count(to)): Promise<Mail> {
    return until(`a mail to ${to}`, () => this.mails.filter((m) => m.to.includes(to))[after]);
  }

  count(to: string): number {
    return this.mails.filter((m) => m.to.includes(to)).length;
  }

  async stop(): Promise<void> {
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}

/** The `token=` value of the first link in a mail. */
export function tokenOf(mail: Mail): string {
  const m = /[?#&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m) throw new Error(`no token in mail:\n${mail.text}`);
  return m[1]!;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `{origin}/auth`, the client's baseUrl. */
  authBase: string;
  sink: MailSink;
  output: () => string;
  stop(): Promise<void>;
  /** Runs the binary's CLI against the same configuration (e.g. `user show`). */
  cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

export const ACCESS_TTL = 3;

/** Starts `authfort serve`; `env` adds or overrides AUTHFORT_* settings. */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  if (!existsSync(BIN)) {
    throw new Error(`authfort binary not found at ${BIN}: build it (cargo build -p authfort-server) or set AUTHFORT_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'authfort-client-it-'));
  const sink = new MailSink();
  await sink.start();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTHFORT_')));
  const serverEnv: Record<string, string> = {
    ...(inherited as Record<string, string>),
    AUTHFORT_BIND: `127.0.0.1:${port}`,
    AUTHFORT_DATABASE_URL: `sqlite://${join(dir, 'authfort.db')}`,
    AUTHFORT_LOG: 'warn',
    AUTHFORT_ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL),
    AUTHFORT_COOKIE__ENABLED: 'true',
    AUTHFORT_COOKIE__SECURE: 'false',
    AUTHFORT_EMAIL__TRANSPORT: 'webhook',
    AUTHFORT_EMAIL__WEBHOOK_URL: sink.url,
    AUTHFORT_EMAIL__WEBHOOK_SECRET: 'integration-test-webhook-secret',
    AUTHFORT_EMAIL__POLL_INTERVAL_MS: '100',
    AUTHFORT_LINKS__MAGIC_LINK_URL: 'http://app.example.com/verify?token={token}',
    AUTHFORT_PASSWORD_HASHING__MEMORY_KIB: '1024',
    AUTHFORT_PASSWORD_HASHING__ITERATIONS: '1',
    AUTHFORT_PASSWORD_HASHING__PARALLELISM: '1',
    ...env,
  };
  let output = '';
  const child: ChildProcess = spawn(BIN, ['serve'], { cwd: dir, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    await until('the server to answer /healthz', async () => {
      if (exited) throw new Error('exited');
      return (await fetch(`${origin}/healthz`)).ok;
    });
  } catch (e) {
    child.kill('SIGTERM');
    throw new Error(`authfort did not start (${String(e)}):\n${output}`);
  }
  return {
    origin,
    authBase: `${origin}/auth`,
    sink,
    output: () => output,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await until('the server to exit', () => exited, 10_000).catch(() => child.kill('SIGKILL'));
      }
      await sink.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    cli(args, stdin) {
      return new Promise((ok) => {
        const p = spawn(BIN, args, { cwd: dir, env: serverEnv, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('exit', (code) => ok({ code: code ?? -1, stdout, stderr }));
        p.stdin.end(stdin ?? '');
      });
    },
  };
}

interface StoredCookie {
  value: string;
  expiresAt: number;
}

/**
 * A minimal cookie jar for one origin (what a browser does for the client in cookie mode):
 * stores `Set-Cookie` name/value with Max-Age/Expires, deletes on Max-Age=0, sends `Cookie`.
 * Attributes other than expiry are not enforced (a single http://127.0.0.1 origin).
 */
export class CookieJar {
  readonly cookies = new Map<string, StoredCookie>();
  /** Every request made through {@link fetch}: "METHOD /path". */
  readonly requests: string[] = [];

  readonly fetch: FetchLike = async (input, init = {}) => {
    const url = new URL(String(input));
    const headers = new Headers(init.headers);
    const now = Date.now();
    const pairs: string[] = [];
    for (const [name, c] of this.cookies) {
      if (c.expiresAt <= now) this.cookies.delete(name);
      else pairs.push(`${name}=${c.value}`);
    }
    if (pairs.length) headers.set('Cookie', pairs.join('; '));
    this.requests.push(`${(init.method ?? 'GET').toUpperCase()} ${url.pathname}`);
    const response = await fetch(url, { ...init, headers });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  };

  private store(line: string): void {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    let expiresAt = Number.POSITIVE_INFINITY;
    for (const attr of attrs) {
      const [k, v = ''] = attr.split('=');
      const key = k!.trim().toLowerCase();
      if (key === 'max-age') expiresAt = Date.now() + Number(v.trim()) * 1000;
      else if (key === 'expires' && expiresAt === Number.POSITIVE_INFINITY) expiresAt = Date.parse(v.trim());
    }
    if (expiresAt <= Date.now() || value === '""' || value === '') this.cookies.delete(name);
    else this.cookies.set(name, { value, expiresAt });
  }

  has(name: string): boolean {
    const c = this.cookies.get(name);
    return !!c && c.expiresAt > Date.now();
  }

  count(request: string): number {
    return this.requests.filter((r) => r === request).length;
  }
}

/** A plain JSON POST (no client), for checks from "outside". */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

let counter = 0;
/** A unique address per test (the server's validator rejects special-use domains like .test). */
export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${++counter}@example.com`;
}
