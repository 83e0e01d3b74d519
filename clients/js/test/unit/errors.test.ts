// Error parsing: the AuthFort envelope, flat bodies, FastAPI shapes, non-JSON bodies.
import { describe, expect, it } from 'vitest';
import { AuthClientError, createAuthClient, parseErrorResponse } from '../../src/index.js';
import { BASE, fakeServer, json } from './helpers.js';

describe('parseErrorResponse', () => {
  it('reads detail.error and detail.message', async () => {
    const e = await parseErrorResponse(json(401, { detail: { error: 'invalid_credentials', message: 'Invalid email or password' } }));
    expect(e).toBeInstanceOf(AuthClientError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'AuthClientError', code: 'invalid_credentials', statusCode: 401, message: 'Invalid email or password' });
  });

  it('keeps extra detail keys (oauth_account providers)', async () => {
    const e = await parseErrorResponse(json(400, { detail: { error: 'oauth_account', message: 'social', providers: ['google'] } }));
    expect(e.detail?.providers).toEqual(['google']);
  });

  it('accepts a flat {error,message} body', async () => {
    const e = await parseErrorResponse(json(400, { error: 'custom', message: 'Flat' }));
    expect(e).toMatchObject({ code: 'custom', message: 'Flat' });
  });

  it('falls back to statusText without a message', async () => {
    const e = await parseErrorResponse(json(422, { detail: { error: 'custom_error' } }));
    expect(e).toMatchObject({ code: 'custom_error', message: 'Unprocessable Entity', statusCode: 422 });
  });

  it('FastAPI 422 list and 404 string details → unknown_error', async () => {
    const a = await parseErrorResponse(json(422, { detail: [{ type: 'missing', loc: ['body', 'password'], msg: 'Field required' }] }));
    expect(a).toMatchObject({ code: 'unknown_error', statusCode: 422 });
    const b = await parseErrorResponse(json(404, { detail: 'Not Found' }));
    expect(b).toMatchObject({ code: 'unknown_error', statusCode: 404 });
  });

  it('non-JSON body → unknown_error with statusText', async () => {
    const e = await parseErrorResponse(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e).toMatchObject({ code: 'unknown_error', message: 'Bad Gateway', statusCode: 502 });
  });

  it('reads Retry-After on 429 rate_limit_exceeded', async () => {
    const e = await parseErrorResponse(
      json(429, { detail: { error: 'rate_limit_exceeded', message: 'Too many requests. Please try again later.' } }, { 'Retry-After': '60' }),
    );
    expect(e).toMatchObject({ code: 'rate_limit_exceeded', statusCode: 429, retryAfter: 60 });
  });

  it('the client throws these from its methods (login 401 invalid_credentials)', async () => {
    const server = fakeServer();
    server.on('POST /login', json(401, { detail: { error: 'invalid_credentials', message: 'Invalid email or password' } }));
    const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    await expect(auth.signIn({ email: 'a@example.com', password: 'x' })).rejects.toMatchObject({ code: 'invalid_credentials', statusCode: 401 });
    expect(auth.state).toBe('unauthenticated');
  });
});
