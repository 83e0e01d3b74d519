// Cookie mode: request shapes, state machine, 401 → one shared refresh → one retry.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthClientError, createAuthClient, type AuthState } from '../../src/index.js';
import { BASE, authResponse, errorBody, fakeServer, headersOf, json, serverUser } from './helpers.js';

function setup() {
  const server = fakeServer();
  const auth = createAuthClient({ baseUrl: `${BASE}//`, fetch: server.fetch });
  const states: AuthState[] = [];
  auth.onAuthStateChange((s) => states.push(s));
  return { server, auth, states };
}

afterEach(() => vi.restoreAllMocks());

describe('cookie mode requests', () => {
  it('signUp posts JSON with credentials and maps the 201 AuthResponse', async () => {
    const { server, auth, states } = setup();
    server.on('POST /signup', json(201, authResponse(1, { name: 'Alice', mfa_enabled: true })));
    const user = await auth.signUp({ email: 'alice@example.com', password: 'pw-12345678', name: 'Alice', avatarUrl: 'https://x.example/a.png' });
    const [call] = server.calls;
    expect(call!.url).toBe(`${BASE}/signup`);
    expect(call!.init.method).toBe('POST');
    expect(call!.init.credentials).toBe('include');
    expect(headersOf(call!).get('Content-Type')).toBe('application/json');
    expect(call!.body).toEqual({ email: 'alice@example.com', password: 'pw-12345678', name: 'Alice', avatar_url: 'https://x.example/a.png' });
    expect(user).toEqual({
      id: serverUser().id,
      email: 'alice@example.com',
      name: 'Alice',
      phone: undefined,
      roles: [],
      emailVerified: false,
      avatarUrl: undefined,
      createdAt: '2026-11-24T20:37:17.302552Z',
      mfaEnabled: true,
      sessionId: serverUser().session_id,
    });
    expect(states).toEqual(['unauthenticated', 'authenticated']);
    expect(auth.state).toBe('authenticated');
    expect(auth.user).toBe(user);
  });

  it('signUp omits undefined optional keys and sends phone when given', async () => {
    const { server, auth } = setup();
    server.on('POST /signup', json(201, authResponse()));
    await auth.signUp({ email: 'a@example.com', password: 'p', phone: '+1 555' });
    expect(server.calls[0]!.init.body).toBe('{"email":"a@example.com","password":"p","phone":"+1 555"}');
  });

  it('signIn sends exactly {email,password} and returns SignInResult', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse()));
    const result = await auth.signIn({ email: 'alice@example.com', password: 'secret-pw', extra: 1 } as never);
    expect(server.calls[0]!.init.body).toBe('{"email":"alice@example.com","password":"secret-pw"}');
    expect(server.calls[0]!.init.credentials).toBe('include');
    expect(result).toEqual({ status: 'authenticated', user: expect.objectContaining({ email: 'alice@example.com' }) });
  });

  it('maps error envelopes to AuthClientError(code, statusCode)', async () => {
    const { server, auth, states } = setup();
    server.on('POST /signup', json(409, errorBody('user_exists', 'Email already registered')));
    const err = await auth.signUp({ email: 'a@example.com', password: 'p' }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthClientError);
    expect(err).toMatchObject({ code: 'user_exists', statusCode: 409, message: 'Email already registered' });
    expect(states).toEqual(['unauthenticated']);
  });

  it('signOut posts {} with credentials, ignores the status and always clears state', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /logout', json(500, 'boom'));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.signOut();
    const logout = server.calls[1]!;
    expect(logout.url).toBe(`${BASE}/logout`);
    expect(logout.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{}' });
    expect(auth.state).toBe('unauthenticated');
    expect(auth.user).toBeNull();
  });

  it('signOut propagates network errors but still clears state', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /logout', new TypeError('offline'));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await expect(auth.signOut()).rejects.toThrow('offline');
    expect(auth.state).toBe('unauthenticated');
  });

  it('getUser GETs /me with credentials and drives the state to authenticated', async () => {
    const { server, auth, states } = setup();
    server.on('GET /me', json(200, serverUser({ roles: ['admin'] })));
    const user = await auth.getUser();
    expect(server.calls[0]!.init.credentials).toBe('include');
    expect(user.roles).toEqual(['admin']);
    expect(states).toEqual(['unauthenticated', 'authenticated']);
  });

  it('getUser throws the parsed error (403 user_banned) without refreshing', async () => {
    const { server, auth } = setup();
    server.on('GET /me', json(403, errorBody('user_banned')));
    await expect(auth.getUser()).rejects.toMatchObject({ code: 'user_banned', statusCode: 403 });
    expect(server.paths()).toEqual(['GET /me']);
  });

  it('getToken is null in cookie mode', async () => {
    const { server, auth } = setup();
    expect(await auth.getToken()).toBeNull();
    expect(server.calls).toHaveLength(0);
  });
});

describe('cookie mode initialize', () => {
  it('/me 200 → authenticated; /me is sent with credentials and no headers', async () => {
    const { server, auth, states } = setup();
    server.on('GET /me', json(200, serverUser()));
    await auth.initialize();
    expect(server.calls[0]!.init).toEqual({ credentials: 'include' });
    expect(states).toEqual(['unauthenticated', 'loading', 'authenticated']);
  });

  it('/me 401 → POST /refresh {} → authenticated with the refreshed user', async () => {
    const { server, auth } = setup();
    server.on('GET /me', json(401, errorBody('token_expired')));
    server.on('POST /refresh', json(200, authResponse(2, { email: 'fresh@example.com' })));
    await auth.initialize();
    expect(server.paths()).toEqual(['GET /me', 'POST /refresh']);
    const refresh = server.calls[1]!;
    expect(refresh.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{}' });
    expect(headersOf(refresh).get('Content-Type')).toBe('application/json');
    expect(auth.state).toBe('authenticated');
    expect(auth.user?.email).toBe('fresh@example.com');
  });

  it('/me 401 and refresh 401 → unauthenticated', async () => {
    const { server, auth, states } = setup();
    server.on('GET /me', json(401, errorBody('token_missing')));
    server.on('POST /refresh', json(401, errorBody('refresh_token_missing')));
    await auth.initialize();
    expect(states).toEqual(['unauthenticated', 'loading', 'unauthenticated']);
  });

  it('refresh_token_mismatch prints a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { server, auth } = setup();
    server.on('GET /me', json(401, errorBody('token_expired')));
    server.on('POST /refresh', json(401, errorBody('refresh_token_mismatch')));
    await auth.initialize();
    expect(auth.state).toBe('unauthenticated');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain('refresh_token_mismatch');
  });

  it('/me non-401 errors (500, 403) → unauthenticated without a refresh', async () => {
    for (const status of [500, 403]) {
      const { server, auth } = setup();
      server.on('GET /me', json(status, errorBody('x')));
      await auth.initialize();
      expect(server.paths()).toEqual(['GET /me']);
      expect(auth.state).toBe('unauthenticated');
    }
  });

  it('a network error → unauthenticated, never throws', async () => {
    const { server, auth } = setup();
    server.on('GET /me', new TypeError('fetch failed'));
    await expect(auth.initialize()).resolves.toBeUndefined();
    expect(auth.state).toBe('unauthenticated');
  });

  it('is memoised', async () => {
    const { server, auth } = setup();
    server.on('GET /me', json(200, serverUser()));
    const a = auth.initialize();
    const b = auth.initialize();
    expect(a).toBe(b);
    await a;
    await auth.initialize();
    expect(server.calls).toHaveLength(1);
  });
});

describe('cookie mode fetch', () => {
  it('adds credentials and keeps the caller’s options', async () => {
    const { server, auth } = setup();
    server.on('POST https://api.example.com/data', json(200, { ok: true }));
    const r = await auth.fetch('https://api.example.com/data', { method: 'POST', headers: { 'X-A': '1' }, body: 'x' });
    expect(r.status).toBe(200);
    expect(server.calls[0]!.init).toEqual({ method: 'POST', headers: { 'X-A': '1' }, body: 'x', credentials: 'include' });
  });

  it('401 → refresh → retry once', async () => {
    const { server, auth } = setup();
    server.on('GET https://api.example.com/data', json(401, errorBody('token_expired')), json(200, { ok: 1 }));
    server.on('POST /refresh', json(200, authResponse(2)));
    const r = await auth.fetch('https://api.example.com/data');
    expect(r.status).toBe(200);
    expect(server.paths()).toEqual(['GET https://api.example.com/data', 'POST /refresh', 'GET https://api.example.com/data']);
    expect(auth.state).toBe('authenticated');
  });

  it('three concurrent 401s share exactly one /refresh (7 calls)', async () => {
    const { server, auth } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.on('GET https://api.example.com/a', json(401, errorBody('token_expired')), json(200, {}));
    server.on('GET https://api.example.com/b', json(401, errorBody('token_expired')), json(200, {}));
    server.on('GET https://api.example.com/c', json(401, errorBody('token_expired')), json(200, {}));
    server.on('POST /refresh', async () => {
      await gate;
      return json(200, authResponse(2));
    });
    const all = Promise.all(['a', 'b', 'c'].map((p) => auth.fetch(`https://api.example.com/${p}`)));
    await vi.waitFor(() => expect(server.paths().filter((p) => p === 'POST /refresh')).toHaveLength(1));
    release();
    const responses = await all;
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(server.calls).toHaveLength(7);
    expect(server.paths().filter((p) => p === 'POST /refresh')).toHaveLength(1);
  });

  it('refresh failure → returns the 401 and goes unauthenticated', async () => {
    const { server, auth } = setup();
    server.on('GET /me', json(200, serverUser()));
    await auth.initialize();
    server.on('GET https://api.example.com/x', json(401, errorBody('token_expired')));
    server.on('POST /refresh', json(401, errorBody('refresh_token_revoked')));
    const r = await auth.fetch('https://api.example.com/x');
    expect(r.status).toBe(401);
    expect(server.paths().slice(1)).toEqual(['GET https://api.example.com/x', 'POST /refresh']);
    expect(auth.state).toBe('unauthenticated');
  });

  it('retry still 401 → unauthenticated, no second refresh', async () => {
    const { server, auth } = setup();
    server.on('GET https://api.example.com/x', json(401, errorBody('token_version_mismatch')));
    server.on('POST /refresh', json(200, authResponse(2)));
    const r = await auth.fetch('https://api.example.com/x');
    expect(r.status).toBe(401);
    expect(server.paths()).toEqual(['GET https://api.example.com/x', 'POST /refresh', 'GET https://api.example.com/x']);
    expect(auth.state).toBe('unauthenticated');
  });

  it('403 is returned as is (no refresh)', async () => {
    const { server, auth } = setup();
    server.on('GET https://api.example.com/x', json(403, errorBody('insufficient_role')));
    expect((await auth.fetch('https://api.example.com/x')).status).toBe(403);
    expect(server.calls).toHaveLength(1);
  });
});

describe('state subscription', () => {
  it('calls back at once, on every change, and stops after unsubscribe', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /logout', json(204));
    const seen: Array<[AuthState, string | undefined]> = [];
    const off = auth.onAuthStateChange((s, u) => seen.push([s, u?.email]));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    off();
    await auth.signOut();
    expect(seen).toEqual([
      ['unauthenticated', undefined],
      ['authenticated', 'alice@example.com'],
    ]);
  });

  it('a throwing listener does not break the others', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { server, auth } = setup();
    server.on('POST /login', json(200, authResponse()));
    const good = vi.fn();
    auth.onAuthStateChange((s) => {
      if (s === 'authenticated') throw new Error('listener bug');
    });
    auth.onAuthStateChange(good);
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(good).toHaveBeenLastCalledWith('authenticated', expect.anything());
    expect(err).toHaveBeenCalled();
  });
});

describe('custom fetch', () => {
  it('defaults to globalThis.fetch, looked up at call time', async () => {
    const server = fakeServer();
    server.on('GET /me', json(200, serverUser()));
    const auth = createAuthClient({ baseUrl: BASE });
    vi.stubGlobal('fetch', server.fetch);
    try {
      await auth.getUser();
      expect(server.calls).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('refresh without changes', () => {
  it('does not notify listeners when a refresh returns the same user', async () => {
    const { server, auth, states } = setup();
    server.on('POST /login', json(200, authResponse(1)));
    server.on('GET https://api.example.com/x', json(401, errorBody('token_expired')), json(200, {}));
    server.on('POST /refresh', json(200, authResponse(2)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    const before = auth.user;
    await auth.fetch('https://api.example.com/x');
    expect(states).toEqual(['unauthenticated', 'authenticated']);
    expect(auth.user).toBe(before);
  });
});
