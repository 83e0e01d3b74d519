// E-mail OTP, e-mail verification and password endpoints against the real server
// (/auth/otp, /auth/otp/verify, /auth/verify-email, /auth/password/*, /auth/set-password).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, memoryStorage, type AuthClient } from '../../src/index.js';
import { CookieJar, startServer, tokenOf, uniqueEmail, type Mail, type RunningServer } from './harness.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a different horse battery';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ AUTHFORT_ALLOW_PASSWORDLESS_SIGNUP: 'true' });
});
afterAll(async () => {
  await server?.stop();
});

const modes = ['cookie', 'bearer'] as const;

function client(mode: (typeof modes)[number]): AuthClient {
  const jar = new CookieJar();
  return mode === 'cookie'
    ? createAuthClient({ baseUrl: server.authBase, fetch: jar.fetch })
    : createAuthClient({ baseUrl: server.authBase, tokenMode: 'bearer', tokenStorage: memoryStorage(), fetch: jar.fetch });
}

async function mailAfter(email: string, action: () => Promise<unknown>): Promise<Mail> {
  const seen = server.sink.count(email);
  await action();
  return server.sink.next(email, seen);
}

function codeOf(mail: Mail): string {
  const m = /\b(\d{6})\b/.exec(mail.text);
  if (!m) throw new Error(`no 6-digit code in mail:\n${mail.text}`);
  return m[1]!;
}

describe.each(modes)('%s mode: e-mail flows', (mode) => {
  it('requestOTP → mailed code → verifyOTP signs in; a wrong code → invalid_otp', async () => {
    const email = uniqueEmail(`otp-${mode}`);
    await client(mode).signUp({ email, password: PASSWORD });
    const auth = client(mode);
    const mail = await mailAfter(email, () => auth.requestOTP(email));
    const code = codeOf(mail);
    const wrong = code === '000000' ? '000001' : '000000';
    await expect(auth.verifyOTP(email, wrong)).rejects.toMatchObject({ code: 'invalid_otp', statusCode: 400 });
    const user = await auth.verifyOTP(email, code);
    expect(user).toMatchObject({ email, emailVerified: true });
    expect(auth.state).toBe('authenticated');
    expect((await auth.fetch(`${server.authBase}/me`)).status).toBe(200);
    // Single use.
    await expect(client(mode).verifyOTP(email, code)).rejects.toMatchObject({ code: 'invalid_otp' });
  });

  it('requestOTP is enumeration-safe and validates the address', async () => {
    const auth = client(mode);
    await expect(auth.requestOTP(uniqueEmail('otp-nobody'))).resolves.toBeUndefined();
    await expect(auth.requestOTP('not an email')).rejects.toMatchObject({ code: 'invalid_email', statusCode: 400 });
  });

  it('verifyEmail with the mailed token marks the signed-in user verified', async () => {
    const email = uniqueEmail(`verify-${mode}`);
    const auth = client(mode);
    await auth.signUp({ email, password: PASSWORD });
    expect(auth.user?.emailVerified).toBe(false);
    // The verification mail is sent by the CLI (`authfort user send-verification EMAIL`).
    const mail = await mailAfter(email, async () => {
      const r = await server.cli(['user', 'send-verification', email]);
      if (r.code !== 0) throw new Error(`send-verification failed: ${r.stderr}`);
    });
    await auth.verifyEmail(tokenOf(mail));
    expect(auth.user?.emailVerified).toBe(true);
    expect((await auth.getUser()).emailVerified).toBe(true);
    await expect(client(mode).verifyEmail(tokenOf(mail))).rejects.toMatchObject({ code: 'invalid_verification_token', statusCode: 400 });
  });

  it('forgot → mailed reset token → resetPassword; the new password works, the old one and the token do not', async () => {
    const email = uniqueEmail(`reset-${mode}`);
    await client(mode).signUp({ email, password: PASSWORD });
    const auth = client(mode);
    const mail = await mailAfter(email, () => auth.requestPasswordReset(email));
    const token = tokenOf(mail);
    await auth.resetPassword(token, NEW_PASSWORD);
    expect(auth.state).toBe('unauthenticated');
    await expect(client(mode).signIn({ email, password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect((await client(mode).signIn({ email, password: NEW_PASSWORD })).status).toBe('authenticated');
    await expect(client(mode).resetPassword(token, 'yet another password')).rejects.toMatchObject({ code: 'invalid_reset_token', statusCode: 400 });
  });

  it('requestPasswordReset answers the same for unknown addresses', async () => {
    await expect(client(mode).requestPasswordReset(uniqueEmail('reset-nobody'))).resolves.toBeUndefined();
  });

  it('changePassword: a wrong old password is refused (session kept); the right one ends the old session', async () => {
    const email = uniqueEmail(`change-${mode}`);
    const auth = client(mode);
    await auth.signUp({ email, password: PASSWORD });
    await expect(auth.changePassword('not my password', NEW_PASSWORD)).rejects.toMatchObject({ code: 'invalid_password' });
    expect(auth.state).toBe('authenticated');
    await auth.changePassword(PASSWORD, NEW_PASSWORD);
    expect(await client(mode).signIn({ email, password: NEW_PASSWORD })).toMatchObject({ status: 'authenticated' });
    await expect(client(mode).signIn({ email, password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_credentials' });
  });

  it('setPassword gives a passwordless account a password; a second call → password_already_set', async () => {
    const email = uniqueEmail(`setpw-${mode}`);
    const auth = client(mode);
    const mail = await mailAfter(email, () => auth.requestMagicLink(email));
    await auth.verifyMagicLink(tokenOf(mail));
    await auth.setPassword(PASSWORD);
    // The server ends every session on a password set (wire.md §5.6); the client follows.
    expect(auth.state).toBe('unauthenticated');
    const again = client(mode);
    expect(await again.signIn({ email, password: PASSWORD })).toMatchObject({ status: 'authenticated' });
    await expect(again.setPassword(NEW_PASSWORD)).rejects.toMatchObject({ code: 'password_already_set', statusCode: 400 });
  });
});
