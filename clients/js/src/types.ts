/**
 * Public types of the client. Names, shapes and semantics follow `authfort-client` 0.0.31
 * (wire.md §10) so code written against AuthFort's docs compiles and behaves the same; the
 * extras for endpoints the Rust server adds are marked "(AuthFort for Rust)".
 */

/**
 * Where the refresh token lives in bearer mode. Every method may be sync or async.
 *
 * Examples: `localStorage`, `expo-secure-store`, `react-native-keychain`, or
 * {@link memoryStorage} (lost on reload).
 */
export interface TokenStorage {
  /** The stored refresh token, or null. */
  get(): Promise<string | null> | string | null;
  /** Persist a refresh token (replaces the previous one). */
  set(token: string): Promise<void> | void;
  /** Remove the stored refresh token. */
  clear(): Promise<void> | void;
}

/** The `fetch` the client uses for every request. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Configuration of {@link createAuthClient}. */
export interface AuthClientConfig {
  /**
   * The auth prefix of the server, e.g. `"/auth"` or `"https://api.example.com/auth"`.
   * Trailing slashes are ignored; the client appends `/login`, `/me`, ….
   */
  baseUrl: string;
  /**
   * `'cookie'` (default): the server sets HttpOnly cookies; JavaScript never sees a token.
   * `'bearer'`: the access token is kept in memory and sent as `Authorization: Bearer`,
   * the refresh token lives in `tokenStorage`.
   */
  tokenMode?: 'cookie' | 'bearer';
  /** Bearer mode: refresh this many seconds before the access token expires (default 30). */
  refreshBuffer?: number;
  /** Bearer mode (required there): where the refresh token is kept. */
  tokenStorage?: TokenStorage;
  /**
   * (AuthFort for Rust) The `fetch` implementation for every request the client makes,
   * default `globalThis.fetch` (looked up at call time). Use it to add a cookie jar on
   * Node, instrumentation, or a test double.
   */
  fetch?: FetchLike;
}

/**
 * The client's authentication state. `mfa_pending`: a password (or OAuth) step succeeded
 * and the account needs a second factor; call `verifyMFA(code)`.
 */
export type AuthState = 'unauthenticated' | 'loading' | 'authenticated' | 'mfa_pending';

/** Known OAuth provider names; any configured provider name is accepted. */
export type OAuthProvider = 'google' | 'github' | (string & {});

/** Options of `signInWithProvider`. */
export interface OAuthSignInOptions {
  /** `'redirect'` (default): navigate away. `'popup'`: open a window; resolves when done. */
  mode?: 'redirect' | 'popup';
  /** Relative path (starting with `/`) to land on after signing in. */
  redirectTo?: string;
}

/** The signed-in user (camelCase view of the server's UserResponse). */
export interface AuthUser {
  id: string;
  email: string;
  name?: string;
  phone?: string;
  roles: string[];
  emailVerified: boolean;
  avatarUrl?: string;
  createdAt: string;
  mfaEnabled: boolean;
  /** (AuthFort for Rust) The session this client holds (`session_id`), when the server said. */
  sessionId?: string;
}

/** Result of a password (or popup OAuth) sign-in. */
export type SignInResult =
  | { status: 'authenticated'; user: AuthUser }
  | { status: 'mfa_required' };

/** Sign-up data; optional keys are sent only when defined. */
export interface SignUpData {
  email: string;
  password: string;
  name?: string;
  avatarUrl?: string;
  phone?: string;
}

/** (AuthFort for Rust) Options of `requestMagicLink`. */
export interface MagicLinkOptions {
  /** Where the server's confirm page goes after signing in (must be allow-listed there). */
  redirectTo?: string;
}

/** (AuthFort for Rust) One of the caller's sessions (`GET /auth/sessions`). */
export interface AuthSession {
  id: string;
  userAgent?: string;
  ipAddress?: string;
  createdAt: string;
  expiresAt: string;
  /** The session this client is using. */
  current: boolean;
}

/** Listener of {@link AuthClient.onAuthStateChange}. */
export type AuthStateListener = (state: AuthState, user: AuthUser | null) => void;

/** The client. */
export interface AuthClient {
  /** Current state (synchronous; what listeners were last told). */
  readonly state: AuthState;
  /** Current user, or null (synchronous). */
  readonly user: AuthUser | null;

  /**
   * Restore a session at start-up: picks up an OAuth `mfa_token` from the URL, else asks the
   * server (cookie mode: `/me`, then `/refresh`; bearer mode: `/refresh` with the stored
   * token). Never throws; memoised.
   */
  initialize(): Promise<void>;
  /** A valid access token (refreshing if needed); always null in cookie mode. */
  getToken(): Promise<string | null>;
  /**
   * `fetch` with credentials (cookie mode) or `Authorization` (bearer mode). On a 401 it
   * refreshes once (shared by concurrent callers) and retries once; returns the final Response.
   */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** `GET /me`; marks the client authenticated. Throws {@link AuthClientError}. */
  getUser(): Promise<AuthUser>;

  signUp(data: SignUpData): Promise<AuthUser>;
  signIn(data: { email: string; password: string }): Promise<SignInResult>;
  /** Complete a pending MFA challenge with a TOTP or backup code. */
  verifyMFA(code: string): Promise<AuthUser>;
  /** Redirect mode: navigates away. */
  signInWithProvider(provider: OAuthProvider, options?: OAuthSignInOptions & { mode?: 'redirect' }): void;
  /** Popup mode: resolves when the popup reports back. */
  signInWithProvider(provider: OAuthProvider, options: OAuthSignInOptions & { mode: 'popup' }): Promise<SignInResult>;
  signInWithProvider(provider: OAuthProvider, options?: OAuthSignInOptions): void | Promise<SignInResult>;

  requestMagicLink(email: string, options?: MagicLinkOptions): Promise<void>;
  verifyMagicLink(token: string): Promise<AuthUser>;
  requestOTP(email: string): Promise<void>;
  verifyOTP(email: string, code: string): Promise<AuthUser>;
  verifyEmail(token: string): Promise<void>;
  /** Ends the session on the server (best effort) and always clears local state. */
  signOut(): Promise<void>;

  /** (AuthFort for Rust) `POST /password/forgot`: mails a reset link if the account exists. */
  requestPasswordReset(email: string): Promise<void>;
  /** (AuthFort for Rust) `POST /password/reset` with the mailed token. Does not sign in. */
  resetPassword(token: string, newPassword: string): Promise<void>;
  /**
   * (AuthFort for Rust) `POST /password/change` (authenticated). The server ends sessions
   * on a password change; the client then re-checks its own session (see README).
   */
  changePassword(oldPassword: string, newPassword: string): Promise<void>;
  /** `POST /set-password` (authenticated): first password of a passwordless account. */
  setPassword(password: string): Promise<void>;
  /** (AuthFort for Rust) `GET /sessions`: the caller's active sessions, newest first. */
  listSessions(): Promise<AuthSession[]>;
  /** (AuthFort for Rust) `DELETE /sessions/{id}`; revoking the current one signs out locally. */
  revokeSession(id: string): Promise<void>;
  /** (AuthFort for Rust) `POST /sessions/revoke-all`; `keepCurrent` defaults to true. */
  revokeAllSessions(options?: { keepCurrent?: boolean }): Promise<void>;

  /** Subscribe to state changes; called at once with the current state. Returns unsubscribe. */
  onAuthStateChange(callback: AuthStateListener): () => void;
}

// ---------------------------------------------------------------------------------------
// Wire shapes (snake_case), wire.md §2
// ---------------------------------------------------------------------------------------

/** `tokens` of an AuthResponse. */
export interface ServerTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** UserResponse. */
export interface ServerUser {
  id: string;
  email: string;
  name: string | null;
  phone?: string | null;
  email_verified: boolean;
  avatar_url?: string | null;
  roles: string[];
  created_at: string;
  mfa_enabled?: boolean;
  session_id?: string | null;
  banned?: boolean;
}

/** AuthResponse: signup, login, refresh, magic-link/otp/mfa verify. */
export interface ServerAuthResponse {
  user: ServerUser;
  tokens: ServerTokens;
}

/** MFAChallenge: login (or OAuth) when the account has MFA. */
export interface ServerMfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

/** One entry of `GET /sessions`. */
export interface ServerSession {
  id: string;
  user_agent: string | null;
  ip_address: string | null;
  created_at: string;
  expires_at: string;
  current: boolean;
}
