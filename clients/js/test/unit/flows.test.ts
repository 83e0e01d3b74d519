// Passwordless, e-mail verification, password and session endpoints: exact request shapes.
import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../../src/index.js';
import { BASE, authResponse, errorBody, fakeServer, headersOf, json, memoryStore } from './helpers.js';

function cookieClient() {
  const server = fakeServer();
  return { server, auth: createAuthClient({ baseUrl: BASE, fetch: server.fetch }) };
}

function expectPublicPost(call: { url: string; init: RequestInit }, path: string, body: string) {
  expect(call.url).toBe(`${BASE}${path}`);
  expect(call.init.method).toBe('POST');
  expect(call.init.credentials).toBe('include');
  expect(new Headers(call.init.headers).get('Content-Type')).toBe('application/json');
  expect(call.init.body).toBe(body);
}

describe('passwordless', () => {
  it('requestMagicLink posts {email}; the body is ignored', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /magic-link', json(200, { message: 'If an account exists, a magic link has been sent.' }));
    await expect(auth.requestMagicLink('alice@example.com')).resolves.toBeUndefined();
    expectPublicPost(server.calls[0]!, '/magic-link', '{"email":"alice@example.com"}');
    expect(auth.state).toBe('unauthenticated');
  });

  it('requestMagicLink passes redirect_to when asked (server extension)', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /magic-link', json(200, {}));
    await auth.requestMagicLink('a@example.com', { redirectTo: '/dashboard' });
    expect(server.calls[0]!.body).toEqual({ email: 'a@example.com', redirect_to: '/dashboard' });
  });

  it('requestMagicLink throws invalid_email on 400', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /magic-link', json(400, errorBody('invalid_email', 'Invalid email address')));
    await expect(auth.requestMagicLink('nope')).rejects.toMatchObject({ code: 'invalid_email', statusCode: 400 });
  });

  it('verifyMagicLink posts {token} and signs in', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /magic-link/verify', json(200, { ...authResponse(1, { email_verified: true }), redirect_to: null }));
    const user = await auth.verifyMagicLink('tok-123');
    expectPublicPost(server.calls[0]!, '/magic-link/verify', '{"token":"tok-123"}');
    expect(user.emailVerified).toBe(true);
    expect(auth.state).toBe('authenticated');
  });

  it('verifyMagicLink 400 invalid_magic_link throws and stays signed out', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /magic-link/verify', json(400, errorBody('invalid_magic_link', 'Invalid or expired magic link')));
    await expect(auth.verifyMagicLink('used')).rejects.toMatchObject({ code: 'invalid_magic_link', message: 'Invalid or expired magic link' });
    expect(auth.state).toBe('unauthenticated');
  });

  it('requestOTP posts {email}; verifyOTP posts {email,code} and signs in', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /otp', json(200, { message: 'If an account exists, a verification code has been sent.' }));
    server.on('POST /otp/verify', json(200, authResponse(1)));
    await auth.requestOTP('alice@example.com');
    expectPublicPost(server.calls[0]!, '/otp', '{"email":"alice@example.com"}');
    const user = await auth.verifyOTP('alice@example.com', '012345');
    expectPublicPost(server.calls[1]!, '/otp/verify', '{"email":"alice@example.com","code":"012345"}');
    expect(user.email).toBe('alice@example.com');
  });

  it('verifyOTP 400 invalid_otp throws', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /otp/verify', json(400, errorBody('invalid_otp')));
    await expect(auth.verifyOTP('a@example.com', '000000')).rejects.toMatchObject({ code: 'invalid_otp' });
  });

  it('verifyEmail posts {token} and marks a loaded user verified', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /verify-email', json(200, { message: 'Email verified successfully.' }));
    await auth.verifyEmail('anon-token');
    expect(auth.user).toBeNull();
    server.on('POST /login', json(200, authResponse()));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    expect(auth.user?.emailVerified).toBe(false);
    await auth.verifyEmail('v-token');
    expectPublicPost(server.calls[2]!, '/verify-email', '{"token":"v-token"}');
    expect(auth.user?.emailVerified).toBe(true);
    expect(auth.state).toBe('authenticated');
  });

  it('verifyEmail 400 invalid_verification_token throws', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /verify-email', json(400, errorBody('invalid_verification_token')));
    await expect(auth.verifyEmail('x')).rejects.toMatchObject({ code: 'invalid_verification_token' });
  });
});

describe('passwords (AuthFort for Rust)', () => {
  it('requestPasswordReset posts {email} to /password/forgot', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /password/forgot', json(200, { message: 'x' }));
    await auth.requestPasswordReset('alice@example.com');
    expectPublicPost(server.calls[0]!, '/password/forgot', '{"email":"alice@example.com"}');
  });

  it('resetPassword posts {token,new_password} and does not sign in', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /password/reset', json(200, { message: 'Password reset.' }));
    await auth.resetPassword('reset-tok', 'new password 123');
    expectPublicPost(server.calls[0]!, '/password/reset', '{"token":"reset-tok","new_password":"new password 123"}');
    expect(auth.state).toBe('unauthenticated');
  });

  it('resetPassword errors carry the server code', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /password/reset', json(400, errorBody('invalid_reset_token')));
    await expect(auth.resetPassword('bad', 'new password 123')).rejects.toMatchObject({ code: 'invalid_reset_token', statusCode: 400 });
  });

  it('changePassword posts {old_password,new_password} authenticated (cookie), then signs out locally', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /password/change', json(200, { message: 'Password changed.' }));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.changePassword('old pw', 'new pw 12345');
    const call = server.calls[1]!;
    expect(call.url).toBe(`${BASE}/password/change`);
    expect(call.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{"old_password":"old pw","new_password":"new pw 12345"}' });
    expect(headersOf(call).get('Content-Type')).toBe('application/json');
    expect(auth.state).toBe('unauthenticated');
  });

  it('changePassword adopts new tokens when the server returns an AuthResponse (bearer)', async () => {
    const server = fakeServer();
    const storage = memoryStore();
    const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch });
    server.on('POST /login', json(200, authResponse(1)));
    server.on('POST /password/change', json(200, authResponse(2)));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.changePassword('old', 'new password 1');
    expect(headersOf(server.calls[1]!).get('Authorization')).toBe('Bearer access-1');
    expect(headersOf(server.calls[1]!).get('Content-Type')).toBe('application/json');
    expect(storage.peek()).toBe('refresh-2');
    expect(auth.state).toBe('authenticated');
  });

  it('changePassword wrong old password throws and keeps the session', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /password/change', json(400, errorBody('invalid_password', 'Invalid password')));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await expect(auth.changePassword('wrong', 'new password 1')).rejects.toMatchObject({ code: 'invalid_password' });
    expect(auth.state).toBe('authenticated');
  });

  it('setPassword posts {password} to /set-password; the old session is gone afterwards', async () => {
    const server = fakeServer();
    const storage = memoryStore();
    const auth = createAuthClient({ baseUrl: BASE, tokenMode: 'bearer', tokenStorage: storage, fetch: server.fetch });
    server.on('POST /magic-link/verify', json(200, authResponse(1)));
    server.on('POST /set-password', json(200, { message: 'Password set successfully.' }));
    await auth.verifyMagicLink('t');
    await auth.setPassword('a brand new password');
    const call = server.calls[1]!;
    expect(call.url).toBe(`${BASE}/set-password`);
    expect(call.body).toEqual({ password: 'a brand new password' });
    expect(headersOf(call).get('Authorization')).toBe('Bearer access-1');
    expect(storage.peek()).toBeNull();
    expect(auth.state).toBe('unauthenticated');
  });

  it('setPassword password_already_set throws', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /set-password', json(400, errorBody('password_already_set')));
    await expect(auth.setPassword('x'.repeat(10))).rejects.toMatchObject({ code: 'password_already_set' });
  });
});

describe('sessions (AuthFort for Rust)', () => {
  const sessions = {
    sessions: [
      { id: 's-1', user_agent: 'UA', ip_address: '127.0.0.1', created_at: 'c1', expires_at: 'e1', current: true },
      { id: 's-2', user_agent: null, ip_address: null, created_at: 'c2', expires_at: 'e2', current: false },
    ],
  };

  it('listSessions GETs /sessions and maps to camelCase', async () => {
    const { server, auth } = cookieClient();
    server.on('GET /sessions', json(200, sessions));
    expect(await auth.listSessions()).toEqual([
      { id: 's-1', userAgent: 'UA', ipAddress: '127.0.0.1', createdAt: 'c1', expiresAt: 'e1', current: true },
      { id: 's-2', userAgent: undefined, ipAddress: undefined, createdAt: 'c2', expiresAt: 'e2', current: false },
    ]);
    expect(server.calls[0]!.init).toEqual({ credentials: 'include' });
  });

  it('revokeSession DELETEs /sessions/{id}; another session keeps us signed in', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /login', json(200, authResponse(1, { session_id: 's-1' })));
    server.on('DELETE /sessions/s-2', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.revokeSession('s-2');
    expect(server.calls[1]!.init).toMatchObject({ method: 'DELETE', credentials: 'include' });
    expect(auth.state).toBe('authenticated');
  });

  it('revoking the current session signs out locally', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /login', json(200, authResponse(1, { session_id: 's-1' })));
    server.on('DELETE /sessions/s-1', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.revokeSession('s-1');
    expect(auth.state).toBe('unauthenticated');
  });

  it('revokeSession 404 throws session_not_found', async () => {
    const { server, auth } = cookieClient();
    server.on('DELETE /sessions/nope', json(404, errorBody('session_not_found')));
    await expect(auth.revokeSession('nope')).rejects.toMatchObject({ code: 'session_not_found', statusCode: 404 });
  });

  it('revokeAllSessions posts {keep_current}; keepCurrent:false signs out locally', async () => {
    const { server, auth } = cookieClient();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /sessions/revoke-all', json(204));
    await auth.signIn({ email: 'a@example.com', password: 'p' });
    await auth.revokeAllSessions();
    expect(server.calls[1]!.init).toMatchObject({ method: 'POST', credentials: 'include', body: '{"keep_current":true}' });
    expect(auth.state).toBe('authenticated');
    await auth.revokeAllSessions({ keepCurrent: false });
    expect(server.calls[2]!.body).toEqual({ keep_current: false });
    expect(auth.state).toBe('unauthenticated');
  });
});
