// Svelte binding: the stores satisfy the Svelte store contract (svelte/store `get`, `derived`).
import { derived, get } from 'svelte/store';
import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../../src/index.js';
import { createAuthStore } from '../../src/svelte.js';
import { BASE, authResponse, fakeServer, json } from './helpers.js';

describe('authfort-client/svelte', () => {
  it('stores follow the client, notify only on change, and unsubscribe', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse()));
    server.on('POST /logout', json(204));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    const store = createAuthStore(client);
    expect(store.client).toBe(client);
    expect(get(store.state)).toBe('unauthenticated');
    expect(get(store.isAuthenticated)).toBe(false);

    const seen: boolean[] = [];
    const off = store.isAuthenticated.subscribe((v) => seen.push(v));
    const emails: Array<string | null> = [];
    const offUser = store.user.subscribe((u) => emails.push(u?.email ?? null));
    await client.signIn({ email: 'a@example.com', password: 'p' });
    expect(get(store.state)).toBe('authenticated');
    expect(get(store.isLoading)).toBe(false);
    expect(get(store.isMfaPending)).toBe(false);
    off();
    await client.signOut();
    offUser();
    expect(seen).toEqual([false, true]);
    expect(emails).toEqual([null, 'alice@example.com', null]);
  });

  it('composes with svelte/store derived', async () => {
    const server = fakeServer();
    server.on('POST /login', json(200, authResponse()));
    const client = createAuthClient({ baseUrl: BASE, fetch: server.fetch });
    const store = createAuthStore(client);
    const greeting = derived(store.user, (u) => (u ? `Hello ${u.email}` : 'Hello stranger'));
    expect(get(greeting)).toBe('Hello stranger');
    await client.signIn({ email: 'a@example.com', password: 'p' });
    expect(get(greeting)).toBe('Hello alice@example.com');
  });
});
