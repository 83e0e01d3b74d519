// Bearer mode: token storage, Authorization header, refresh dedup, proactive refresh timer.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuthClient, memoryStorage } from '../../src/index.js';
import { BASE, authResponse, errorBody, fakeServer, headersOf, json, memoryStore, serverUser } from './helpers.js';

function setup(stored: string | null = null, refreshBuffer?: number) {
  const server = fakeServer();
  const storage = memoryStore(stored);
  const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch, refreshBuffer });
  return { server, storage, auth };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('bearer mode configuration', () => {
  it('throws missing_token_storage without tokenStorage', () => {
    expect(() => createAuthClient({ baseUrl: BASE, tokenMode: 'bearer' })).toThrow(
      expect.objectContaining({ code: 'missing_token_storage', statusCode: 0 }),
    );
  });

  it('memoryStorage() is a working synchronous TokenStorage', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse(1)));
    server.on('POST /logout', json(204));
    const storage = memoryStorage();
    const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch });
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(storage.get()).toBe('refresh-1');
    await auth.signOut();
    expect(storage.get()).toBeNull();
  });
});

describe('bearer mode initialize', () => {
  it('refreshes with exactly {"refresh_token": stored} and no credentials/Authorization', async () => {
    const { server, auth, storage } = setup('refresh-0');
    server.on('POST /refresh', json(200, authResponse(1)));
    await auth.initialize();
    expect(server.calls[0]!.init).toEqual({
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"refresh_token":"refresh-0"}',
    });
    expect(auth.state).toBe('authenticated');
    expect(await auth.getToken()).toBe('access-1');
    expect(storage.peek()).toBe('refresh-1');
    expect(server.calls).toHaveLength(1);
  });

  it('empty storage → unauthenticated without any request; never calls /me', async () => {
    const { server, auth } = setup(null);
    await auth.initialize();
    expect(server.calls).toHaveLength(0);
    expect(auth.state).toBe('unauthenticated');
  });

  it('refresh 401 → storage cleared, unauthenticated', async () => {
    const { server, auth, storage } = setup('refresh-0');
    server.on('POST /refresh', json(401, errorBody('refresh_token_invalid')));
    await auth.initialize();
    expect(storage.clear).toHaveBeenCalled();
    expect(storage.peek()).toBeNull();
    expect(auth.state).toBe('unauthenticated');
  });

  it('network error → unauthenticated, stored refresh token kept for a later retry', async () => {
    const { server, auth, storage } = setup('refresh-0');
    server.on('POST /refresh', new TypeError('offline'), json(200, authResponse(1)));
    await auth.initialize();
    expect(auth.state).toBe('unauthenticated');
    expect(storage.peek()).toBe('refresh-0');
    expect(await auth.getToken()).toBe('access-1');
    expect(auth.state).toBe('authenticated');
  });
});

describe('bearer mode requests', () => {
  it('signIn/signUp/verifyMagicLink store the refresh token; the access token stays in memory', async () => {
    const { server, auth, storage } = setup();
    server.on('POST /signup', json(201, authResponse(1)));
    server.on('POST /login', json(200, authResponse(2)));
    server.on('POST /magic-link/verify', json(200, authResponse(3)));
    await auth.signUp({ email: 'a@example.com', password: 'p' });
    expect(storage.peek()).toBe('refresh-1');
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(storage.peek()).toBe('refresh-2');
    await auth.verifyMagicLink('tok');
    expect(storage.peek()).toBe('refresh-3');
    expect(await auth.getToken()).toBe('access-3');
    // Anonymous auth calls keep credentials:'include' even in bearer mode (reference behaviour).
    expect(server.calls.every((c) => c.init.credentials === 'include')).toBe(true);
  });

  it('fetch sends Authorization: Bearer and no credentials', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse(123)));
    server.on('GET https://api.example.com/data', json(200, {}));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.fetch('https://api.example.com/data', { headers: { Accept: 'application/json' } });
    const call = server.calls[1]!;
    expect(headersOf(call).get('Authorization')).toBe('Bearer access-123');
    expect(headersOf(call).get('Accept')).toBe('application/json');
    expect(call.init.credentials).toBeUndefined();
  });

  it('401 → drop the access token, refresh, retry with the new token', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse(1)));
    server.on('GET https://api.example.com/data', json(401, errorBody('token_expired')), json(200, {}));
    server.on('POST /refresh', json(200, authResponse(2)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    const r = await auth.fetch('https://api.example.com/data');
    expect(r.status).toBe(200);
    expect(server.calls[2]!.body).toEqual({ refresh_token: 'refresh-1' });
    expect(headersOf(server.calls[1]!).get('Authorization')).toBe('Bearer access-1');
    expect(headersOf(server.calls[3]!).get('Authorization')).toBe('Bearer access-2');
  });

  it('N concurrent 401s share one refresh', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse(1)));
    for (const p of ['a', 'b', 'c', 'd']) {
      server.on(`GET https://api.example.com/${p}`, json(401, errorBody('token_expired')), json(200, {}));
    }
    server.on('POST /refresh', json(200, authResponse(2)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    const rs = await Promise.all(['a', 'b', 'c', 'd'].map((p) => auth.fetch(`https://api.example.com/${p}`)));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(server.paths().filter((p) => p === 'POST /refresh')).toHaveLength(1);
    expect(server.calls).toHaveLength(1 + 4 + 1 + 4);
  });

  it('refresh 401 during fetch → storage cleared, unauthenticated, 401 returned', async () => {
    const { server, auth, storage } = setup();
    server.on('POST /login', json(200, authResponse(1)));
    server.on('GET https://api.example.com/x', json(401, errorBody('token_version_mismatch')));
    server.on('POST /refresh', json(401, errorBody('refresh_token_revoked')));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect((await auth.fetch('https://api.example.com/x')).status).toBe(401);
    expect(storage.peek()).toBeNull();
    expect(auth.state).toBe('unauthenticated');
  });

  it('signOut sends {"refresh_token": stored} without credentials and clears storage', async () => {
    const { server, auth, storage } = setup();
    server.on('POST /login', json(200, authResponse(123)));
    server.on('POST /logout', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.signOut();
    const logout = server.calls[1]!;
    expect(logout.init).toEqual({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"refresh_token":"refresh-123"}' });
    expect(storage.peek()).toBeNull();
    expect(await auth.getToken()).toBeNull();
  });

  it('signOut with nothing stored sends {}', async () => {
    const { server, auth } = setup();
    server.on('POST /logout', json(204));
    await auth.signOut();
    expect(server.calls[0]!.init.body).toBe('{}');
  });

  it('getUser goes through fetch (Bearer) to /me', async () => {
    const { server, auth } = setup('r0');
    server.on('POST /refresh', json(200, authResponse(5)));
    server.on('GET /me', json(200, serverUser({ name: 'Al' })));
    const user = await auth.getUser();
    expect(server.paths()).toEqual(['POST /refresh', 'GET /me']);
    expect(headersOf(server.calls[1]!).get('Authorization')).toBe('Bearer access-5');
    expect(user.name).toBe('Al');
  });
});

describe('access-token lifetime and proactive refresh', () => {
  it('refreshes at expires_in - refreshBuffer (30 s for 60 s tokens)', async () => {
    vi.useFakeTimers();
    const { server, auth, storage } = setup();
    server.on('POST /login', json(200, authResponse(1, {}, 60)));
    server.on('POST /refresh', json(200, authResponse(2, {}, 60)), json(200, authResponse(3, {}, 60)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(server.paths()).toEqual(['POST /login']);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.paths()).toEqual(['POST /login', 'POST /refresh']);
    expect(storage.peek()).toBe('refresh-2');
    expect(await auth.getToken()).toBe('access-2');
    // And again 30 s after the new tokens.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(server.paths().filter((p) => p === 'POST /refresh')).toHaveLength(2);
    expect(server.calls[2]!.body).toEqual({ refresh_token: 'refresh-2' });
  });

  it('honours a custom refreshBuffer and skips scheduling when it is ≥ expires_in', async () => {
    vi.useFakeTimers();
    const a = setup(null, 10);
    a.server.on('POST /login', json(200, authResponse(1, {}, 60)));
    a.server.on('POST /refresh', json(200, authResponse(2, {}, 60)));
    await a.auth.signIn({ email: 'a@example.com', password: 'p' });
    await vi.advanceTimersByTimeAsync(49_999);
    expect(a.server.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(a.server.calls).toHaveLength(2);

    const b = setup(null, 60);
    b.server.on('POST /login', json(200, authResponse(1, {}, 60)));
    await b.auth.signIn({ email: 'a@example.com', password: 'p' });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(b.server.calls).toHaveLength(1);
  });

  it('getToken refreshes once the access token has expired', async () => {
    vi.useFakeTimers();
    const { server, auth } = setup(null, 60);
    server.on('POST /login', json(200, authResponse(1, {}, 5)));
    server.on('POST /refresh', json(200, authResponse(2, {}, 5)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(await auth.getToken()).toBe('access-1');
    vi.advanceTimersByTime(5_000);
    expect(await auth.getToken()).toBe('access-2');
  });

  it('signOut cancels the proactive refresh', async () => {
    vi.useFakeTimers();
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse(1, {}, 60)));
    server.on('POST /logout', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.signOut();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(server.paths()).toEqual(['POST /login', 'POST /logout']);
  });

  it('a proactive refresh that fails with 401 signs out', async () => {
    vi.useFakeTimers();
    const { server, auth, storage } = setup();
    server.on('POST /login', json(200, authResponse(1, {}, 60)));
    server.on('POST /refresh', json(401, errorBody('refresh_token_revoked')));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(auth.state).toBe('unauthenticated');
    expect(storage.peek()).toBeNull();
  });

  it('a proactive refresh that hits a network error keeps the still-valid session', async () => {
    vi.useFakeTimers();
    const { server, auth, storage } = setup();
    server.on('POST /login', json(200, authResponse(1, {}, 60)));
    server.on('POST /refresh', new TypeError('offline'));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(auth.state).toBe('authenticated');
    expect(storage.peek()).toBe('refresh-1');
    expect(await auth.getToken()).toBe('access-1');
  });
});
