/**
 * React bindings.
 *
 *     import { AuthProvider, useAuth } from 'authfort-client/react';
 *     <AuthProvider client={auth}><App /></AuthProvider>
 *     const { user, isAuthenticated, client } = useAuth();
 */

import { createContext, createElement, useCallback, useContext, useSyncExternalStore, type ReactNode } from 'react';
import type { AuthClient, AuthState, AuthUser } from './types.js';

const AuthContext = createContext<AuthClient | null>(null);

/** Props of {@link AuthProvider}. */
export interface AuthProviderProps {
  client: AuthClient;
  children?: ReactNode;
}

/** Makes `client` available to {@link useAuth} below it. */
export function AuthProvider({ client, children }: AuthProviderProps) {
  return createElement(AuthContext.Provider, { value: client }, children);
}

/** What {@link useAuth} returns. */
export interface UseAuthReturn {
  state: AuthState;
  user: AuthUser | null;
  isAuthenticated: boolean;
  isLoading: boolean;
  /** `true` while a password/OAuth sign-in waits for `client.verifyMFA(code)`. */
  isMfaPending: boolean;
  /** The client, for signIn, signOut, fetch, …. */
  client: AuthClient;
}

/** The auth state of the nearest {@link AuthProvider}; re-renders on every change. */
export function useAuth(): UseAuthReturn {
  const client = useContext(AuthContext);
  if (!client) throw new Error('useAuth() must be used inside <AuthProvider>');
  const subscribe = useCallback(
    (onChange: () => void) => {
      // onAuthStateChange calls back at once; React only needs later changes.
      let ready = false;
      const unsubscribe = client.onAuthStateChange(() => {
        if (ready) onChange();
      });
      ready = true;
      return unsubscribe;
    },
    [client],
  );
  const state = useSyncExternalStore(subscribe, () => client.state, () => client.state);
  const user = useSyncExternalStore(subscribe, () => client.user, () => client.user);
  return {
    state,
    user,
    isAuthenticated: state === 'authenticated',
    isLoading: state === 'loading',
    isMfaPending: state === 'mfa_pending',
    client,
  };
}
