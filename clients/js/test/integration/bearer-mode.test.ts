// The client in bearer mode against a bearer-only server (cookies off).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, memoryStorage, type AuthClient, type TokenStorage } from '../../src/index.js';
import { ACCESS_TTL, CookieJar, postJson, sleep, startServer, tokenOf, uniqueEmail, type RunningServer } from './harness.js';

const PASSWORD = 'correct horse battery';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ AUTHFORT_COOKIE__ENABLED: 'false' });
});
afterAll(async () => {
  await server?.stop();
});

function bearerClient(storage: TokenStorage = memoryStorage(), refreshBuffer = 0) {
  const jar = new CookieJar(); // only to count requests; the server sets no cookies here
  const auth: AuthClient = createAuthClient({ baseUrl: server.authBase, tokenMode: 'bearer', tokenStorage: storage, refreshBuffer, fetch: jar.fetch });
  return { auth, storage, jar };
}

describe('bearer mode against authfort', () => {
  it('signUp → token in memory, refresh token in storage; fetch sends Bearer; no cookies', async () => {
    const email = uniqueEmail('bearer');
    const { auth, storage, jar } = bearerClient();
    await auth.signUp({ email, password: PASSWORD });
    const access = await auth.getToken();
    expect(access).toMatch(/^ey/);
    expect(await storage.get()).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(jar.cookies.size).toBe(0);
    const me = await auth.fetch(`${server.authBase}/me`);
    expect(me.status).toBe(200);
    expect(await auth.getUser()).toMatchObject({ email });
  });

  it('magic link → verify → /me → expiry → transparent refresh → sign-out revokes the session', async () => {
    const email = uniqueEmail('bearer-magic');
    await bearerClient().auth.signUp({ email, password: PASSWORD });
    const { auth, storage, jar } = bearerClient();
    const seen = server.sink.count(email);
    await auth.requestMagicLink(email);
    const user = await auth.verifyMagicLink(tokenOf(await server.sink.next(email, seen)));
    expect(user.emailVerified).toBe(true);
    expect((await auth.fetch(`${server.authBase}/me`)).status).toBe(200);

    const firstRefreshToken = await storage.get();
    await sleep((ACCESS_TTL + 1) * 1000 + 200);
    const me = await auth.fetch(`${server.authBase}/me`);
    expect(me.status).toBe(200);
    expect(jar.count('POST /auth/refresh')).toBe(1);
    const rotated = await storage.get();
    expect(rotated).not.toBe(firstRefreshToken);

    await auth.signOut();
    expect(auth.state).toBe('unauthenticated');
    expect(await storage.get()).toBeNull();
    // The server revoked that refresh token.
    expect((await postJson(`${server.authBase}/refresh`, { refresh_token: rotated })).status).toBe(401);
  });

  it('proactive refresh fires before expiry (refreshBuffer)', async () => {
    const email = uniqueEmail('proactive');
    const { auth, storage, jar } = bearerClient(memoryStorage(), ACCESS_TTL - 1);
    await auth.signUp({ email, password: PASSWORD });
    const before = await storage.get();
    await sleep(1500);
    expect(jar.count('POST /auth/refresh')).toBeGreaterThanOrEqual(1);
    expect(await storage.get()).not.toBe(before);
    expect(auth.state).toBe('authenticated');
    await auth.signOut();
  });

  it('a new client with the stored refresh token restores the session (initialize)', async () => {
    const email = uniqueEmail('restore');
    const storage = memoryStorage();
    const first = bearerClient(storage);
    await first.auth.signUp({ email, password: PASSWORD });
    const second = bearerClient(storage);
    await second.auth.initialize();
    expect(second.auth.state).toBe('authenticated');
    expect(second.auth.user?.email).toBe(email);
    expect(second.jar.requests).toEqual(['POST /auth/refresh']);
  });

  it('a revoked refresh token → initialize ends unauthenticated and clears storage', async () => {
    const storage = memoryStorage();
    storage.set('x'.repeat(86));
    const { auth } = bearerClient(storage);
    await auth.initialize();
    expect(auth.state).toBe('unauthenticated');
    expect(storage.get()).toBeNull();
  });

  it('sessions in bearer mode; revoking the current one signs out', async () => {
    const email = uniqueEmail('bearer-sessions');
    const { auth } = bearerClient();
    await auth.signUp({ email, password: PASSWORD });
    const sessions = await auth.listSessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ current: true, id: auth.user?.sessionId });
    await auth.revokeSession(sessions[0]!.id);
    expect(auth.state).toBe('unauthenticated');
  });

  it('login errors map to codes', async () => {
    const { auth } = bearerClient();
    await expect(auth.signIn({ email: uniqueEmail('ghost'), password: PASSWORD })).rejects.toMatchObject({
      code: 'invalid_credentials',
      statusCode: 401,
    });
  });
});
