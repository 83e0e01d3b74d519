/**
 * authfort-client: the TypeScript SDK for AuthFort for Rust, API-compatible with
 * `authfort-client` 0.0.31. Framework bindings: `authfort-client/react`, `/vue`, `/svelte`.
 */

export { createAuthClient, memoryStorage, mapUser } from './client.js';
export { AuthClientError, parseErrorResponse } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export type {
  AuthClient,
  AuthClientConfig,
  AuthSession,
  AuthState,
  AuthStateListener,
  AuthUser,
  FetchLike,
  MagicLinkOptions,
  OAuthProvider,
  OAuthSignInOptions,
  ServerAuthResponse,
  ServerMfaChallenge,
  ServerSession,
  ServerTokens,
  ServerUser,
  SignInResult,
  SignUpData,
  TokenStorage,
} from './types.js';
