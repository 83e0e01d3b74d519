// verifyMFA and the mfa_pending state against the real server: enrol TOTP through the API,
// then password sign-in and magic-link sign-in both stop at the challenge until the code.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClientError, createAuthClient, memoryStorage, type AuthClient } from '../../src/index.js';
import { postJson, startServer, tokenOf, uniqueEmail, type RunningServer } from './harness.js';

const PASSWORD = 'correct horse battery';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ AUTHFORT_COOKIE__ENABLED: 'false' });
});
afterAll(async () => {
  await server?.stop();
});

function base32Decode(input: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of input.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = bits.match(/.{8}/g) ?? [];
  return Buffer.from(bytes.map((b) => parseInt(b, 2)));
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for the step `offset` steps from now. */
function totp(secret: string, offset = 0): string {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const at = mac.readUInt8(mac.length - 1) & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

function client(): AuthClient {
  return createAuthClient({ baseUrl: server.authBase, tokenMode: 'bearer', tokenStorage: memoryStorage() });
}

/** Signs up `email` and enables TOTP; returns the secret. */
async function enrol(email: string): Promise<string> {
  const auth = client();
  await auth.signUp({ email, password: PASSWORD });
  const bearer = { Authorization: `Bearer ${await auth.getToken()}` };
  const init = await postJson(`${server.authBase}/mfa/init`, {}, bearer);
  expect(init.status).toBe(200);
  const { secret, qr_uri } = (await init.json()) as { secret: string; qr_uri: string };
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(qr_uri).toContain(`secret=${secret}`);
  const confirm = await postJson(`${server.authBase}/mfa/confirm`, { code: totp(secret) }, bearer);
  expect(confirm.status).toBe(200);
  expect(((await confirm.json()) as string[]).length).toBe(10);
  return secret;
}

describe('MFA against authfort', () => {
  it('password sign-in waits in mfa_pending until verifyMFA; a wrong code keeps it pending', async () => {
    const email = uniqueEmail('mfa-password');
    const secret = await enrol(email);
    const auth = client();
    const states: string[] = [];
    auth.onAuthStateChange((state) => states.push(state));

    const result = await auth.signIn({ email, password: PASSWORD });
    expect(result).toMatchObject({ status: 'mfa_required' });
    expect(auth.state).toBe('mfa_pending');
    expect(auth.user).toBeNull();

    await expect(auth.verifyMFA('000000')).rejects.toMatchObject({ code: 'invalid_mfa_code' });
    expect(auth.state).toBe('mfa_pending');
    // The step after the one used at enrolment (a used code is refused as a replay).
    const user = await auth.verifyMFA(totp(secret, 1));
    expect(user.email).toBe(email);
    expect(user.mfaEnabled).toBe(true);
    expect(auth.state).toBe('authenticated');
    expect((await auth.fetch(`${server.authBase}/me`)).status).toBe(200);
    expect(states).toContain('mfa_pending');
  });

  it('a magic link does not skip MFA: verifyMagicLink leads to the challenge', async () => {
    const email = uniqueEmail('mfa-magic');
    const secret = await enrol(email);
    const auth = client();
    const seen = server.sink.count(email);
    await auth.requestMagicLink(email);
    const token = tokenOf(await server.sink.next(email, seen));
    const outcome = await auth.verifyMagicLink(token).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(AuthClientError);
    expect((outcome as AuthClientError).code).toBe('mfa_required');
    expect(auth.state).toBe('mfa_pending');
    expect(auth.user).toBeNull();
    const user = await auth.verifyMFA(totp(secret, 1));
    expect(user.email).toBe(email);
    expect(auth.state).toBe('authenticated');
  });
});
