/**
 * Svelte bindings: stores that follow the Svelte store contract (`$store` syntax works in
 * Svelte 4 and 5). Implemented without importing `svelte`, so nothing is bundled.
 *
 *     import { createAuthStore } from 'authfort-client/svelte';
 *     export const auth = createAuthStore(client);
 *     {#if $isAuthenticated} Hello {$user.email} {/if}
 */

import type { AuthClient, AuthState, AuthUser } from './types.js';

/** The Svelte readable-store contract. */
export interface Readable<T> {
  subscribe(run: (value: T) => void, invalidate?: () => void): () => void;
}

/** What {@link createAuthStore} returns. */
export interface AuthStore {
  state: Readable<AuthState>;
  user: Readable<AuthUser | null>;
  isAuthenticated: Readable<boolean>;
  isLoading: Readable<boolean>;
  isMfaPending: Readable<boolean>;
  client: AuthClient;
}

/**
 * A store of `select(state, user)`. It listens to the client only while it has subscribers,
 * and calls them only when the selected value changes.
 */
function select<T>(client: AuthClient, pick: (state: AuthState, user: AuthUser | null) => T): Readable<T> {
  return {
    subscribe(run) {
      let first = true;
      let last: T;
      return client.onAuthStateChange((s, u) => {
        const value = pick(s, u);
        if (first || !Object.is(value, last)) {
          first = false;
          last = value;
          run(value);
        }
      });
    },
  };
}

/** Stores tracking the client's state; create once per client and share. */
export function createAuthStore(client: AuthClient): AuthStore {
  return {
    state: select(client, (s) => s),
    user: select(client, (_s, u) => u),
    isAuthenticated: select(client, (s) => s === 'authenticated'),
    isLoading: select(client, (s) => s === 'loading'),
    isMfaPending: select(client, (s) => s === 'mfa_pending'),
    client,
  };
}
