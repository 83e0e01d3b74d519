// A scripted `fetch` for unit tests: responses are queued per "METHOD /path" and every call
// is recorded with its URL and init, so tests assert exact request shapes.
import { vi } from 'vitest';
import type { ServerAuthResponse, ServerUser } from '../../src/index.js';

export const BASE = 'https://api.example.com/auth';

export interface Call {
  method: string;
  url: string;
  path: string;
  init: RequestInit;
  /** Parsed JSON body, if any. */
  body: unknown;
}

type Responder = Response | (() => Response | Promise<Response>) | Error;

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  if (status === 204) return new Response(null, { status, headers });
  return new Response(body === undefined ? '' : JSON.stringify(body), {
    status,
    statusText: { 200: 'OK', 201: 'Created', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway' }[status] ?? '',
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function errorBody(error: string, message = 'msg'): unknown {
  return { detail: { error, message } };
}

export function serverUser(overrides: Partial<ServerUser> = {}): ServerUser {
  return {
    id: '6f1c2e1a-1111-4a4a-8b8b-000000000001',
    email: 'alice@example.com',
    name: null,
    email_verified: false,
    avatar_url: null,
    phone: null,
    banned: false,
    roles: [],
    created_at: '2026-11-24T20:37:17.302552Z',
    session_id: '6f1c2e1a-2222-4a4a-8b8b-000000000002',
    mfa_enabled: false,
    ...overrides,
  };
}

export function authResponse(n = 1, user: Partial<ServerUser> = {}, expiresIn = 900): ServerAuthResponse {
  return {
    user: serverUser(user),
    tokens: { access_token: `access-${n}`, refresh_token: `refresh-${n}`, expires_in: expiresIn },
  };
}

/** A fake server: `on('POST /login', json(200, …))`; unknown routes answer 404. */
export function fakeServer() {
  const routes = new Map<string, Responder[]>();
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = String(input);
    const method = (init.method ?? 'GET').toUpperCase();
    const path = url.startsWith(BASE) ? url.slice(BASE.length) : url;
    let body: unknown;
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    calls.push({ method, url, path, init, body });
    const queue = routes.get(`${method} ${path}`);
    if (!queue || queue.length === 0) return json(404, { detail: 'Not Found' });
    const next = queue.length > 1 ? queue.shift()! : queue[0]!;
    if (next instanceof Error) throw next;
    if (typeof next === 'function') return next();
    return next.clone();
  });
  return {
    fetch,
    calls,
    on(route: string, ...responders: Responder[]) {
      routes.set(route, responders);
      return this;
    },
    paths: () => calls.map((c) => `${c.method} ${c.path}`),
  };
}

export function memoryStore(initial: string | null = null) {
  let value = initial;
  return {
    get: vi.fn(async () => value),
    set: vi.fn(async (t: string) => {
      value = t;
    }),
    clear: vi.fn(async () => {
      value = null;
    }),
    peek: () => value,
  };
}

export function headersOf(call: Call): Headers {
  return new Headers(call.init.headers);
}
