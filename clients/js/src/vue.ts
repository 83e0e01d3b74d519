/**
 * Vue 3 bindings.
 *
 *     import { provideAuth, useAuth } from 'authfort-client/vue';
 *     provideAuth(auth);                       // root component's setup (or app.provide via authPlugin)
 *     const { user, isAuthenticated, client } = useAuth();
 */

import {
  computed,
  getCurrentScope,
  inject,
  onScopeDispose,
  provide,
  readonly,
  shallowRef,
  type App,
  type ComputedRef,
  type InjectionKey,
  type Ref,
} from 'vue';
import type { AuthClient, AuthState, AuthUser } from './types.js';

/** The injection key under which the client is provided. */
export const AUTH_KEY: InjectionKey<AuthClient> = Symbol('authfort');

/** Provide the client to all descendants; call in a component's `setup`. */
export function provideAuth(client: AuthClient): void {
  provide(AUTH_KEY, client);
}

/** App-level alternative to {@link provideAuth}: `app.use(authPlugin(client))`. */
export function authPlugin(client: AuthClient) {
  return {
    install(app: App) {
      app.provide(AUTH_KEY, client);
    },
  };
}

/** What {@link useAuth} returns. */
export interface UseAuthReturn {
  state: Readonly<Ref<AuthState>>;
  user: Readonly<Ref<AuthUser | null>>;
  isAuthenticated: ComputedRef<boolean>;
  isLoading: ComputedRef<boolean>;
  isMfaPending: ComputedRef<boolean>;
  client: AuthClient;
}

/** Reactive auth state; needs {@link provideAuth} (or {@link authPlugin}) above. */
export function useAuth(): UseAuthReturn {
  const client = inject(AUTH_KEY, null);
  if (!client) throw new Error('useAuth() requires provideAuth() in a parent component');
  const state = shallowRef<AuthState>(client.state);
  const user = shallowRef<AuthUser | null>(client.user);
  const unsubscribe = client.onAuthStateChange((s, u) => {
    state.value = s;
    user.value = u;
  });
  if (getCurrentScope()) onScopeDispose(unsubscribe);
  return {
    state: readonly(state) as Readonly<Ref<AuthState>>,
    user: readonly(user) as Readonly<Ref<AuthUser | null>>,
    isAuthenticated: computed(() => state.value === 'authenticated'),
    isLoading: computed(() => state.value === 'loading'),
    isMfaPending: computed(() => state.value === 'mfa_pending'),
    client,
  };
}
