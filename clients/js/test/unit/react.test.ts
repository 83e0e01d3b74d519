// @vitest-environment happy-dom
// React binding: AuthProvider + useAuth re-render on state changes; SSR renders the current state.
import { act, createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthClient } from '../../src/index.js';
import { AuthProvider, useAuth } from '../../src/react.js';
import { BASE, authResponse, fakeServer, json } from './helpers.js';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function Status() {
  const { state, user, isAuthenticated, isLoading, isMfaPending } = useAuth();
  return createElement('p', null, `${state}|${user?.email ?? '-'}|${isAuthenticated}|${isLoading}|${isMfaPending}`);
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('authfort-client/react', () => {
  it('follows sign-in, MFA and sign-out', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, { mfa_required: true, mfa_token: 't', expires_in: 300 }));
    server.on('POST /mfa/verify', json(200, authResponse()));
    server.on('POST /logout', json(204));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    const el = document.createElement('div');
    document.body.append(el);
    const root = createRoot(el);
    await act(async () => root.render(createElement(AuthProvider, { client }, createElement(Status))));
    expect(el.textContent).toBe('unauthenticated|-|false|false|false');
    await act(() => client.signIn({ email: 'a@example.com', password: 'p' }));
    expect(el.textContent).toBe('mfa_pending|-|false|false|true');
    await act(() => client.verifyMFA('123456'));
    expect(el.textContent).toBe('authenticated|alice@example.com|true|false|false');
    await act(() => client.signOut());
    expect(el.textContent).toBe('unauthenticated|-|false|false|false');
    act(() => root.unmount());
  });

  it('server-renders the current state', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse()));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    await client.signIn({ email: 'a@example.com', password: 'p' });
    const html = renderToString(createElement(AuthProvider, { client }, createElement(Status)));
    expect(html).toContain('authenticated|alice@example.com|true');
  });

  it('useAuth outside the provider throws', () => {
    expect(() => renderToString(createElement(Status))).toThrow('useAuth() must be used inside <AuthProvider>');
  });
});
