// @vitest-environment happy-dom
// MFA pending state (login challenge, OAuth `#mfa_token=` redirect) and OAuth URL building/popup.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthClient, type AuthState } from '../../src/index.js';
import { BASE, authResponse, errorBody, fakeServer, json, memoryStore } from './helpers.js';

const challenge = { mfa_required: true, mfa_token: 'mfa-jwt', expires_in: 300 };

function setup() {
  const server = fakeServer();
  const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
  const states: AuthState[] = [];
  auth.onAuthStateChange((s) => states.push(s));
  return { server, auth, states };
}

beforeEach(() => window.history.replaceState(null, '', '/'));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('MFA pending', () => {
  it('signIn with an MFA challenge → mfa_pending, {status:"mfa_required"}', async () => {
    const { server, auth, states } = setup();
    server.on('POST /login', json(200, challenge));
    expect(await auth.signIn({ email: 'a@example.com', password: 'p' })).toEqual({ status: 'mfa_required' });
    expect(states).toEqual(['unauthenticated', 'mfa_pending']);
    expect(auth.user).toBeNull();
  });

  for (const [name, path, call] of [
    ['verifyMagicLink', 'POST /magic-link/verify', (a: ReturnType<typeof setup>['auth']) => a.verifyMagicLink('t')],
    ['verifyOTP', 'POST /otp/verify', (a: ReturnType<typeof setup>['auth']) => a.verifyOTP('a@example.com', '123456')],
  ] as const) {
    it(`${name} answered with the challenge → mfa_pending, throws mfa_required, verifyMFA completes`, async () => {
      const { server, auth, states } = setup();
      server.on(path, json(200, challenge));
      server.on('POST /mfa/verify', json(200, authResponse(1, { mfa_enabled: true })));
      await expect(call(auth)).rejects.toMatchObject({ code: 'mfa_required', statusCode: 200 });
      expect(states).toEqual(['unauthenticated', 'mfa_pending']);
      const user = await auth.verifyMFA('654321');
      expect(server.calls[1]!.init).toMatchObject({ body: '{"mfa_token":"mfa-jwt","code":"654321"}' });
      expect(user.mfaEnabled).toBe(true);
      expect(auth.state).toBe('authenticated');
    });
  }

  it('verifyMFA posts {mfa_token, code} with credentials and signs in', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, challenge));
    server.on('POST /mfa/verify', json(200, authResponse(1, { mfa_enabled: true })));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    const user = await auth.verifyMFA('123456');
    const call = server.calls[1]!;
    expect(call.url).toBe(`${BASE}/mfa/verify`);
    expect(call.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{"mfa_token":"mfa-jwt","code":"123456"}' });
    expect(user.mfaEnabled).toBe(true);
    expect(auth.state).toBe('authenticated');
    // The challenge is spent locally.
    await expect(auth.verifyMFA('123456')).rejects.toMatchObject({ code: 'no_mfa_challenge' });
  });

  it('a wrong code throws invalid_mfa_code and stays mfa_pending (retry allowed)', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, challenge));
    server.on('POST /mfa/verify', json(401, errorBody('invalid_mfa_code')), json(200, authResponse()));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await expect(auth.verifyMFA('000000')).rejects.toMatchObject({ code: 'invalid_mfa_code', statusCode: 401 });
    expect(auth.state).toBe('mfa_pending');
    await auth.verifyMFA('123456');
    expect(server.calls[2]!.body).toEqual({ mfa_token: 'mfa-jwt', code: '123456' });
  });

  it('verifyMFA without a challenge → no_mfa_challenge, no request', async () => {
    const { server, auth } = setup();
    await expect(auth.verifyMFA('123456')).rejects.toMatchObject({ code: 'no_mfa_challenge', statusCode: 0 });
    expect(server.calls).toHaveLength(0);
  });

  it('bearer mode: the challenge stores no tokens; verifyMFA does', async () => {
    const server = fakeServer();
    const storage = memoryStore();
    const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch });
    server.on('POST /login', json(200, challenge));
    server.on('POST /mfa/verify', json(200, authResponse(7)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(storage.set).not.toHaveBeenCalled();
    await auth.verifyMFA('123456');
    expect(storage.peek()).toBe('refresh-7');
    expect(await auth.getToken()).toBe('access-7');
  });

  it('signOut from mfa_pending forgets the challenge', async () => {
    const { server, auth } = setup();
    server.on('POST /login', json(200, challenge));
    server.on('POST /logout', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.signOut();
    await expect(auth.verifyMFA('1')).rejects.toMatchObject({ code: 'no_mfa_challenge' });
  });
});

describe('OAuth MFA redirect', () => {
  it('#mfa_token= in the fragment → mfa_pending, no network, token stripped, rest kept', async () => {
    window.history.replaceState(null, '', '/after?x=1#mfa_token=frag-jwt&tab=2');
    const { server, auth, states } = setup();
    await auth.initialize();
    expect(server.calls).toHaveLength(0);
    expect(states).toEqual(['unauthenticated', 'mfa_pending']);
    expect(window.location.pathname + window.location.search + window.location.hash).toBe('/after?x=1#tab=2');
    server.on('POST /mfa/verify', json(200, authResponse()));
    await auth.verifyMFA('654321');
    expect(server.calls[0]!.body).toEqual({ mfa_token: 'frag-jwt', code: '654321' });
  });

  it('legacy ?mfa_token= in the query works too', async () => {
    window.history.replaceState(null, '', '/cb?mfa_token=q-jwt&keep=yes');
    const { server, auth } = setup();
    await auth.initialize();
    expect(auth.state).toBe('mfa_pending');
    expect(server.calls).toHaveLength(0);
    expect(window.location.search).toBe('?keep=yes');
    expect(window.location.hash).toBe('');
  });

  it('without a token, initialize talks to the server as usual', async () => {
    const { server, auth } = setup();
    server.on('GET /me', json(401, errorBody('token_missing')));
    server.on('POST /refresh', json(401, errorBody('refresh_token_missing')));
    await auth.initialize();
    expect(server.paths()).toEqual(['GET /me', 'POST /refresh']);
  });
});

describe('signInWithProvider', () => {
  it('redirect mode navigates to {base}/oauth/{provider}/authorize', () => {
    const { auth } = setup();
    const assigned: string[] = [];
    const original = window.location;
    Object.defineProperty(window, 'location', {
      configurable: true,
      value: { ...original, set href(v: string) { assigned.push(v); } },
    });
    try {
      expect(auth.signInWithProvider('google')).toBeUndefined();
      auth.signInWithProvider('github', { redirectTo: '/dashboard' });
      auth.signInWithProvider('my-oidc', { mode: 'redirect', redirectTo: '/a b?c=d' });
    } finally {
      Object.defineProperty(window, 'location', { configurable: true, value: original });
    }
    expect(assigned).toEqual([
      `${BASE}/oauth/google/authorize`,
      `${BASE}/oauth/github/authorize?redirect_to=%2Fdashboard`,
      `${BASE}/oauth/my-oidc/authorize?redirect_to=%2Fa+b%3Fc%3Dd`,
    ]);
  });

  function fakePopup() {
    return { closed: false, close: vi.fn(function (this: { closed: boolean }) { this.closed = true; }) };
  }

  it('popup mode opens {…}?redirect_to=…&mode=popup and resolves on a {user,tokens} message', async () => {
    const server = fakeServer();
    const storage = memoryStore();
    const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch });
    const popup = fakePopup();
    const open = vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window);
    const result = auth.signInWithProvider('google', { mode: 'popup', redirectTo: '/x' });
    expect(open).toHaveBeenCalledWith(`${BASE}/oauth/google/authorize?redirect_to=%2Fx&mode=popup`, 'authfort-oauth', expect.stringContaining('width=500'));
    window.dispatchEvent(new MessageEvent('message', { data: 'irrelevant' }));
    window.dispatchEvent(new MessageEvent('message', { data: { type: 'other' } }));
    window.dispatchEvent(new MessageEvent('message', { data: authResponse(9), origin: 'https://api.example.com' }));
    await expect(result).resolves.toEqual({ status: 'authenticated', user: expect.objectContaining({ email: 'alice@example.com' }) });
    expect(popup.close).toHaveBeenCalled();
    expect(storage.peek()).toBe('refresh-9');
    expect(auth.state).toBe('authenticated');
  });

  it('popup MFA payload → mfa_pending and {status:"mfa_required"}', async () => {
    const { auth } = setup();
    vi.spyOn(window, 'open').mockReturnValue(fakePopup() as unknown as Window);
    const result = auth.signInWithProvider('google', { mode: 'popup' });
    window.dispatchEvent(new MessageEvent('message', { data: challenge }));
    await expect(result).resolves.toEqual({ status: 'mfa_required' });
    expect(auth.state).toBe('mfa_pending');
  });

  it('blocked popup → popup_blocked', async () => {
    const { auth } = setup();
    vi.spyOn(window, 'open').mockReturnValue(null);
    await expect(auth.signInWithProvider('google', { mode: 'popup' })).rejects.toMatchObject({ code: 'popup_blocked', statusCode: 0 });
  });

  it('popup closed by the user → popup_closed (polled every 500 ms, one tick of grace)', async () => {
    vi.useFakeTimers();
    const { auth } = setup();
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window);
    const result = auth.signInWithProvider('google', { mode: 'popup' });
    const settled = vi.fn();
    result.catch(settled);
    popup.closed = true;
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).rejects.toMatchObject({ code: 'popup_closed' });
  });

  it('a message arriving just after the popup closed itself still signs in', async () => {
    vi.useFakeTimers();
    const { auth } = setup();
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window);
    const result = auth.signInWithProvider('google', { mode: 'popup' });
    // The popup page posts, then closes; the poll sees it closed before the message lands.
    popup.closed = true;
    await vi.advanceTimersByTimeAsync(500);
    window.dispatchEvent(new MessageEvent('message', { data: challenge }));
    await expect(result).resolves.toEqual({ status: 'mfa_required' });
  });
});
