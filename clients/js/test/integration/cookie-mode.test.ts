// The client in cookie mode against the real server (cookie jar fetch wrapper, like a browser).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, type AuthClient, type AuthState } from '../../src/index.js';
import { ACCESS_TTL, CookieJar, sleep, startServer, tokenOf, uniqueEmail, type RunningServer } from './harness.js';

const PASSWORD = 'correct horse battery';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

function cookieClient(jar = new CookieJar()): { auth: AuthClient; jar: CookieJar; states: AuthState[] } {
  const auth = createAuthClient({ baseUrl: server.authBase, tokenMode: 'cookie', fetch: jar.fetch });
  const states: AuthState[] = [];
  auth.onAuthStateChange((s) => states.push(s));
  return { auth, jar, states };
}

describe('cookie mode against authfort', () => {
  it('initialize without cookies → unauthenticated (GET /me 401, POST /refresh 401)', async () => {
    const { auth, jar, states } = cookieClient();
    await auth.initialize();
    expect(jar.requests).toEqual(['GET /auth/me', 'POST /auth/refresh']);
    expect(states).toEqual(['unauthenticated', 'loading', 'unauthenticated']);
  });

  it('signUp → cookies set → getUser; duplicate → user_exists 409; bad input → 400 codes', async () => {
    const email = uniqueEmail('signup');
    const { auth, jar } = cookieClient();
    const user = await auth.signUp({ email, password: PASSWORD, name: 'Sig Nup', phone: '+1 555 0100' });
    expect(user).toMatchObject({ email, name: 'Sig Nup', phone: '+1 555 0100', emailVerified: false, roles: [], mfaEnabled: false });
    expect(jar.has('access_token') && jar.has('refresh_token')).toBe(true);
    expect(await auth.getUser()).toMatchObject({ id: user.id, email });
    await expect(cookieClient().auth.signUp({ email, password: PASSWORD })).rejects.toMatchObject({ code: 'user_exists', statusCode: 409 });
    await expect(cookieClient().auth.signUp({ email: uniqueEmail('short'), password: 'short' })).rejects.toMatchObject({
      code: 'password_too_short',
      statusCode: 400,
    });
    await expect(cookieClient().auth.signUp({ email: 'not-an-email', password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_email' });
  });

  it('signIn: wrong password → invalid_credentials; right → authenticated; signOut clears cookies and state', async () => {
    const email = uniqueEmail('signin');
    await cookieClient().auth.signUp({ email, password: PASSWORD });
    const { auth, jar, states } = cookieClient();
    await expect(auth.signIn({ email, password: 'wrong password!' })).rejects.toMatchObject({
      code: 'invalid_credentials',
      statusCode: 401,
      message: 'Invalid email or password',
    });
    const result = await auth.signIn({ email, password: PASSWORD });
    expect(result.status).toBe('authenticated');
    expect(result.status === 'authenticated' && result.user.email).toBe(email);
    expect(jar.has('refresh_token')).toBe(true);
    await auth.signOut();
    expect(jar.has('access_token') || jar.has('refresh_token')).toBe(false);
    expect(states).toEqual(['unauthenticated', 'authenticated', 'unauthenticated']);
    const me = await auth.fetch(`${server.authBase}/me`);
    expect(me.status).toBe(401);
  });

  it('magic link → verify → fetch /me → access expiry → transparent refresh → sign-out', async () => {
    const email = uniqueEmail('magic');
    await cookieClient().auth.signUp({ email, password: PASSWORD });
    const { auth, jar, states } = cookieClient();

    const seen = server.sink.count(email);
    await auth.requestMagicLink(email);
    const mail = await server.sink.next(email, seen);
    expect(mail.text).toContain('http://app.example.com/verify?token=');
    const token = tokenOf(mail);
    const user = await auth.verifyMagicLink(token);
    expect(user).toMatchObject({ email, emailVerified: true });
    expect(auth.state).toBe('authenticated');

    const me = await auth.fetch(`${server.authBase}/me`);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe(email);
    expect(jar.count('POST /auth/refresh')).toBe(0);

    await sleep((ACCESS_TTL + 1) * 1000 + 200);
    const after = await auth.fetch(`${server.authBase}/me`);
    expect(after.status).toBe(200);
    expect(jar.count('POST /auth/refresh')).toBe(1);
    expect(auth.state).toBe('authenticated');

    // The link was single-use.
    await expect(cookieClient().auth.verifyMagicLink(token)).rejects.toMatchObject({ code: 'invalid_magic_link', statusCode: 400 });

    await auth.signOut();
    expect(auth.state).toBe('unauthenticated');
    expect((await auth.fetch(`${server.authBase}/me`)).status).toBe(401);
    expect(states).toEqual(['unauthenticated', 'authenticated', 'unauthenticated']);
  });

  it('N concurrent 401s after expiry share one real /refresh', async () => {
    const email = uniqueEmail('concurrent');
    const { auth, jar } = cookieClient();
    await auth.signUp({ email, password: PASSWORD });
    await sleep((ACCESS_TTL + 1) * 1000 + 200);
    const responses = await Promise.all(Array.from({ length: 4 }, () => auth.fetch(`${server.authBase}/me`)));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(jar.count('POST /auth/refresh')).toBe(1);
    expect(jar.count('GET /auth/me')).toBe(8);
  });

  it('a "reload" (new client, same cookies) restores the session via initialize; after expiry via /refresh', async () => {
    const email = uniqueEmail('reload');
    const first = cookieClient();
    await first.auth.signUp({ email, password: PASSWORD });
    const second = cookieClient(first.jar);
    await second.auth.initialize();
    expect(second.auth.state).toBe('authenticated');
    expect(second.auth.user?.email).toBe(email);

    await sleep((ACCESS_TTL + 1) * 1000 + 200);
    const third = cookieClient(first.jar);
    const before = first.jar.count('POST /auth/refresh');
    await third.auth.initialize();
    expect(third.auth.state).toBe('authenticated');
    expect(first.jar.count('POST /auth/refresh')).toBe(before + 1);
  });

  it('requestMagicLink is enumeration-safe and maps invalid_email', async () => {
    const { auth } = cookieClient();
    await expect(auth.requestMagicLink(uniqueEmail('nobody'))).resolves.toBeUndefined();
    await expect(auth.requestMagicLink('not an email')).rejects.toMatchObject({ code: 'invalid_email', statusCode: 400 });
  });

  it('sessions: list, revoke another, revoke all', async () => {
    const email = uniqueEmail('sessions');
    const a = cookieClient();
    await a.auth.signUp({ email, password: PASSWORD });
    const b = cookieClient();
    await b.auth.signIn({ email, password: PASSWORD });

    const sessions = await a.auth.listSessions();
    expect(sessions).toHaveLength(2);
    const mine = sessions.find((s) => s.current)!;
    const other = sessions.find((s) => !s.current)!;
    expect(mine.id).toBe(a.auth.user?.sessionId);
    expect(other.id).toBe(b.auth.user?.sessionId);
    expect(typeof mine.createdAt).toBe('string');
    expect(typeof mine.expiresAt).toBe('string');

    await a.auth.revokeSession(other.id);
    expect(a.auth.state).toBe('authenticated');
    expect((await a.auth.listSessions()).map((s) => s.id)).toEqual([mine.id]);

    await expect(a.auth.revokeSession('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ statusCode: 404 });

    await a.auth.revokeAllSessions({ keepCurrent: false });
    expect(a.auth.state).toBe('unauthenticated');
    expect(a.jar.has('refresh_token')).toBe(false);
  });

});
