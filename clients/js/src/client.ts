/**
 * The AuthFort client: state machine, request shapes (wire.md §10.2), cookie and bearer modes.
 */

import { AuthClientError, errorCodeOf, parseErrorResponse } from './errors.js';
import { TokenManager, type RefreshOutcome } from './token-manager.js';
import type {
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
  ServerSession,
  ServerUser,
  SignInResult,
  SignUpData,
  TokenStorage,
} from './types.js';

const JSON_HEADERS = { 'Content-Type': 'application/json' } as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isAuthResponse(v: unknown): v is ServerAuthResponse {
  return isObject(v) && isObject(v.user) && isObject(v.tokens);
}

/** UserResponse → AuthUser (null → undefined, missing `mfa_enabled` → false). */
export function mapUser(u: ServerUser): AuthUser {
  const user: AuthUser = {
    id: u.id,
    email: u.email,
    name: u.name ?? undefined,
    phone: u.phone ?? undefined,
    roles: u.roles ?? [],
    emailVerified: u.email_verified,
    avatarUrl: u.avatar_url ?? undefined,
    createdAt: u.created_at,
    mfaEnabled: u.mfa_enabled ?? false,
  };
  if (typeof u.session_id === 'string') user.sessionId = u.session_id;
  return user;
}

function mapSession(s: ServerSession): AuthSession {
  return {
    id: s.id,
    userAgent: s.user_agent ?? undefined,
    ipAddress: s.ip_address ?? undefined,
    createdAt: s.created_at,
    expiresAt: s.expires_at,
    current: s.current === true,
  };
}

function sameUser(a: AuthUser | null, b: AuthUser | null): boolean {
  return a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b);
}

function warnIfMismatch(code: string | undefined): void {
  if (code === 'refresh_token_mismatch') {
    console.warn(
      '[authfort-client] refresh_token_mismatch: the access and refresh cookies belong to different ' +
        'sessions (several apps or tabs signing in on one domain?). Signed out; sign in again.',
    );
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

class AuthClientImpl implements AuthClient {
  private _state: AuthState = 'unauthenticated';
  private _user: AuthUser | null = null;
  private readonly listeners = new Set<AuthStateListener>();
  private readonly tokens: TokenManager | null = null;
  private initPromise: Promise<void> | null = null;
  private cookieRefreshPromise: Promise<boolean> | null = null;
  private mfaToken: string | null = null;

  private readonly base: string;
  private readonly mode: 'cookie' | 'bearer';
  private readonly customFetch: FetchLike | undefined;

  constructor(config: AuthClientConfig) {
    this.base = config.baseUrl.replace(/\/+$/, '');
    this.mode = config.tokenMode ?? 'cookie';
    this.customFetch = config.fetch;
    if (this.mode === 'bearer') {
      if (!config.tokenStorage) {
        throw new AuthClientError(
          'tokenStorage is required when tokenMode is "bearer". Provide a { get, set, clear } adapter (e.g. memoryStorage()).',
          'missing_token_storage',
          0,
        );
      }
      this.tokens = new TokenManager(
        this.base,
        config.refreshBuffer ?? 30,
        config.tokenStorage,
        () => this.fetchImpl(),
        (response) => this.setState('authenticated', mapUser(response.user)),
        (outcome) => this.onBearerRefreshFailed(outcome),
      );
    }
  }

  get state(): AuthState {
    return this._state;
  }

  get user(): AuthUser | null {
    return this._user;
  }

  // -------------------------------------------------------------------------------------
  // Session restore
  // -------------------------------------------------------------------------------------

  initialize(): Promise<void> {
    this.initPromise ??= this.doInitialize();
    return this.initPromise;
  }

  private async doInitialize(): Promise<void> {
    if (this.takeMfaTokenFromUrl()) return;
    this.setState('loading', null);
    try {
      if (this.tokens) {
        if (!(await this.tokens.getRefreshToken())) {
          this.setState('unauthenticated', null);
          return;
        }
        // Success and failure both reach the state through the TokenManager callbacks.
        const outcome = await this.tokens.refresh();
        if (!outcome.ok) this.setState('unauthenticated', null);
        return;
      }
      const me = await this.send(`${this.base}/me`, { credentials: 'include' });
      if (me.ok) {
        this.setState('authenticated', mapUser((await me.json()) as ServerUser));
      } else if (me.status === 401) {
        const refreshed = await this.cookieRefresh();
        if (!refreshed || this._state === 'loading') this.setState('unauthenticated', null);
      } else {
        this.setState('unauthenticated', null);
      }
    } catch {
      this.setState('unauthenticated', null);
    }
  }

  /** An OAuth MFA redirect lands with `#mfa_token=…` (or legacy `?mfa_token=…`). */
  private takeMfaTokenFromUrl(): boolean {
    if (typeof window === 'undefined' || !window.location) return false;
    const loc = window.location;
    const hashParams = new URLSearchParams(loc.hash.replace(/^#/, ''));
    const searchParams = new URLSearchParams(loc.search);
    let token = hashParams.get('mfa_token');
    let search = loc.search;
    let hash = loc.hash;
    if (token) {
      hashParams.delete('mfa_token');
      const rest = hashParams.toString();
      hash = rest ? `#${rest}` : '';
    } else {
      token = searchParams.get('mfa_token');
      if (!token) return false;
      searchParams.delete('mfa_token');
      const rest = searchParams.toString();
      search = rest ? `?${rest}` : '';
    }
    try {
      window.history?.replaceState(window.history.state, '', `${loc.pathname}${search}${hash}`);
    } catch {
      // Not fatal: the token just stays visible.
    }
    this.mfaToken = token;
    this.setState('mfa_pending', null);
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Tokens and authenticated requests
  // -------------------------------------------------------------------------------------

  async getToken(): Promise<string | null> {
    if (!this.tokens) return null;
    const current = this.tokens.getToken();
    if (current) return current;
    const outcome = await this.tokens.refresh();
    return outcome.ok ? outcome.response.tokens.access_token : null;
  }

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const attempt = async (): Promise<Response> => {
      const options: RequestInit = { ...init };
      if (this.mode === 'cookie') {
        options.credentials = 'include';
      } else {
        const token = await this.getToken();
        if (token) {
          const headers = new Headers(init.headers);
          headers.set('Authorization', `Bearer ${token}`);
          options.headers = headers;
        }
      }
      return this.send(url, options);
    };

    let response = await attempt();
    if (response.status !== 401) return response;

    let refreshed: boolean;
    if (this.tokens) {
      this.tokens.clearAccessToken();
      refreshed = (await this.tokens.refresh()).ok;
    } else {
      refreshed = await this.cookieRefresh();
    }
    if (refreshed) response = await attempt();
    if (response.status === 401) await this.localSignOut();
    return response;
  }

  async getUser(): Promise<AuthUser> {
    const response = await this.fetch(`${this.base}/me`);
    if (!response.ok) throw await parseErrorResponse(response);
    const user = mapUser((await response.json()) as ServerUser);
    this.setState('authenticated', user);
    return user;
  }

  // -------------------------------------------------------------------------------------
  // Sign-in flows
  // -------------------------------------------------------------------------------------

  async signUp(data: SignUpData): Promise<AuthUser> {
    const body: Record<string, string> = { email: data.email, password: data.password };
    if (data.name !== undefined) body.name = data.name;
    if (data.avatarUrl !== undefined) body.avatar_url = data.avatarUrl;
    if (data.phone !== undefined) body.phone = data.phone;
    return this.adopt(await this.postPublic('/signup', body));
  }

  async signIn(data: { email: string; password: string }): Promise<SignInResult> {
    const result = await this.postPublic('/login', { email: data.email, password: data.password });
    if (isObject(result) && 'mfa_required' in result && result.mfa_required) {
      this.mfaToken = typeof result.mfa_token === 'string' ? result.mfa_token : null;
      this.setState('mfa_pending', null);
      return { status: 'mfa_required' };
    }
    return { status: 'authenticated', user: await this.adopt(result) };
  }

  async verifyMFA(code: string): Promise<AuthUser> {
    if (!this.mfaToken) {
      throw new AuthClientError('No MFA challenge is pending; sign in first.', 'no_mfa_challenge', 0);
    }
    return this.adopt(await this.postPublic('/mfa/verify', { mfa_token: this.mfaToken, code }));
  }

  signInWithProvider(provider: OAuthProvider, options?: OAuthSignInOptions & { mode?: 'redirect' }): void;
  signInWithProvider(provider: OAuthProvider, options: OAuthSignInOptions & { mode: 'popup' }): Promise<SignInResult>;
  signInWithProvider(provider: OAuthProvider, options?: OAuthSignInOptions): void | Promise<SignInResult>;
  signInWithProvider(provider: OAuthProvider, options: OAuthSignInOptions = {}): void | Promise<SignInResult> {
    const url = this.providerUrl(provider, options);
    if (options.mode === 'popup') return this.oauthPopup(url);
    window.location.href = url;
  }

  /** `{base}/oauth/{provider}/authorize[?redirect_to=…][&mode=popup]`. */
  private providerUrl(provider: OAuthProvider, options: OAuthSignInOptions): string {
    const params = new URLSearchParams();
    if (options.redirectTo) params.set('redirect_to', options.redirectTo);
    if (options.mode === 'popup') params.set('mode', 'popup');
    const query = params.toString();
    return `${this.base}/oauth/${provider}/authorize${query ? `?${query}` : ''}`;
  }

  private oauthPopup(url: string): Promise<SignInResult> {
    return new Promise<SignInResult>((resolve, reject) => {
      const width = 500;
      const height = 600;
      const left = window.screenX + (window.outerWidth - width) / 2;
      const top = window.screenY + (window.outerHeight - height) / 2;
      const popup = window.open(url, 'authfort-oauth', `width=${width},height=${height},left=${left},top=${top},popup=yes`);
      if (!popup) {
        reject(new AuthClientError('The OAuth popup was blocked by the browser', 'popup_blocked', 0));
        return;
      }
      const finish = () => {
        window.removeEventListener('message', onMessage);
        clearInterval(poll);
        try {
          popup.close();
        } catch {
          // Cross-origin or already closed.
        }
      };
      // The server's popup page posts with target '*' and the reference client accepts any
      // origin; only well-formed AuthFort payloads are acted upon.
      const onMessage = (event: MessageEvent) => {
        const data: unknown = event.data;
        if (!isObject(data)) return;
        if (data.mfa_required === true && typeof data.mfa_token === 'string') {
          finish();
          this.mfaToken = data.mfa_token;
          this.setState('mfa_pending', null);
          resolve({ status: 'mfa_required' });
        } else if (isObject(data.user)) {
          finish();
          this.adopt(data).then((user) => resolve({ status: 'authenticated', user }), reject);
        }
      };
      // The popup posts its result and then closes itself, so its message can still be on
      // the way when `closed` turns true: a closed popup gets one more tick before giving up.
      let closedSeen = false;
      const poll = setInterval(() => {
        if (!popup.closed) return;
        if (!closedSeen) {
          closedSeen = true;
          return;
        }
        finish();
        reject(new AuthClientError('The OAuth popup was closed', 'popup_closed', 0));
      }, 500);
      window.addEventListener('message', onMessage);
    });
  }

  async requestMagicLink(email: string, options: MagicLinkOptions = {}): Promise<void> {
    const body: Record<string, string> = { email };
    if (options.redirectTo !== undefined) body.redirect_to = options.redirectTo;
    await this.postPublic('/magic-link', body);
  }

  async verifyMagicLink(token: string): Promise<AuthUser> {
    return this.adoptOrChallenge(await this.postPublic('/magic-link/verify', { token }));
  }

  async requestOTP(email: string): Promise<void> {
    await this.postPublic('/otp', { email });
  }

  async verifyOTP(email: string, code: string): Promise<AuthUser> {
    return this.adoptOrChallenge(await this.postPublic('/otp/verify', { email, code }));
  }

  async verifyEmail(token: string): Promise<void> {
    await this.postPublic('/verify-email', { token });
    if (this._user) this.setState(this._state, { ...this._user, emailVerified: true });
  }

  async signOut(): Promise<void> {
    try {
      if (this.tokens) {
        const refreshToken = await this.tokens.getRefreshToken();
        this.tokens.cancelTimer();
        await this.send(`${this.base}/logout`, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify(refreshToken ? { refresh_token: refreshToken } : {}),
        });
      } else {
        await this.send(`${this.base}/logout`, {
          method: 'POST',
          credentials: 'include',
          headers: JSON_HEADERS,
          body: JSON.stringify({}),
        });
      }
    } finally {
      await this.localSignOut();
    }
  }

  // -------------------------------------------------------------------------------------
  // Passwords and sessions (AuthFort for Rust)
  // -------------------------------------------------------------------------------------

  async requestPasswordReset(email: string): Promise<void> {
    await this.postPublic('/password/forgot', { email });
  }

  async resetPassword(token: string, newPassword: string): Promise<void> {
    const result = await this.postPublic('/password/reset', { token, new_password: newPassword });
    if (isAuthResponse(result)) await this.adopt(result);
  }

  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    const result = await this.postAuthenticated('/password/change', {
      old_password: oldPassword,
      new_password: newPassword,
    });
    await this.afterCredentialChange(result);
  }

  async setPassword(password: string): Promise<void> {
    await this.afterCredentialChange(await this.postAuthenticated('/set-password', { password }));
  }

  async listSessions(): Promise<AuthSession[]> {
    const response = await this.fetch(`${this.base}/sessions`);
    if (!response.ok) throw await parseErrorResponse(response);
    const body = (await response.json()) as { sessions?: ServerSession[] };
    return (body.sessions ?? []).map(mapSession);
  }

  async revokeSession(id: string): Promise<void> {
    const response = await this.fetch(`${this.base}/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!response.ok) throw await parseErrorResponse(response);
    if (this._user?.sessionId === id) await this.localSignOut();
  }

  async revokeAllSessions(options: { keepCurrent?: boolean } = {}): Promise<void> {
    const keepCurrent = options.keepCurrent ?? true;
    await this.postAuthenticated('/sessions/revoke-all', { keep_current: keepCurrent });
    if (!keepCurrent) await this.localSignOut();
  }

  /**
   * A password set/change ends the caller's tokens (token_version bump and refresh
   * revocation, wire.md §9) unless the server hands out new ones in the response.
   */
  private async afterCredentialChange(result: unknown): Promise<void> {
    if (isAuthResponse(result)) {
      await this.adopt(result);
    } else {
      await this.localSignOut();
    }
  }

  // -------------------------------------------------------------------------------------
  // State
  // -------------------------------------------------------------------------------------

  onAuthStateChange(callback: AuthStateListener): () => void {
    this.listeners.add(callback);
    callback(this._state, this._user);
    return () => {
      this.listeners.delete(callback);
    };
  }

  private setState(state: AuthState, user: AuthUser | null): void {
    // An unchanged user (e.g. after a token refresh) keeps its identity: no notification.
    if (this._state === state && (this._user === user || sameUser(this._user, user))) return;
    this._state = state;
    this._user = user;
    for (const listener of [...this.listeners]) {
      try {
        listener(state, user);
      } catch (e) {
        console.error('[authfort-client] auth state listener threw', e);
      }
    }
  }

  private async localSignOut(): Promise<void> {
    this.mfaToken = null;
    if (this.tokens) await this.tokens.clear();
    this.setState('unauthenticated', null);
  }

  private onBearerRefreshFailed(outcome: RefreshOutcome & { ok: false }): void {
    warnIfMismatch(outcome.code);
    // A network blip keeps a still-valid access token (and the stored refresh token).
    if (outcome.reason === 'network' && this.tokens?.getToken()) return;
    if (outcome.reason === 'network' && this._state !== 'authenticated') return;
    this.setState('unauthenticated', null);
  }

  /** Store the tokens of an AuthResponse (bearer) and mark the client authenticated. */
  /**
   * Like `adopt`, but for the passwordless verifies, which (unlike AuthFort's server) answer
   * an MFA user with the login challenge: enter `mfa_pending` and throw `mfa_required`, so
   * the caller continues with `verifyMFA(code)`.
   */
  private async adoptOrChallenge(result: unknown): Promise<AuthUser> {
    if (isObject(result) && result.mfa_required === true && typeof result.mfa_token === 'string') {
      this.mfaToken = result.mfa_token;
      this.setState('mfa_pending', null);
      throw new AuthClientError('Multi-factor authentication required; call verifyMFA(code).', 'mfa_required', 200);
    }
    return this.adopt(result);
  }

  private async adopt(result: unknown): Promise<AuthUser> {
    const data = result as ServerAuthResponse;
    const user = mapUser(data.user);
    if (this.tokens) {
      await this.tokens.setTokens(data.tokens.access_token, data.tokens.refresh_token, data.tokens.expires_in);
    }
    this.mfaToken = null;
    this.setState('authenticated', user);
    return user;
  }

  // -------------------------------------------------------------------------------------
  // HTTP
  // -------------------------------------------------------------------------------------

  private fetchImpl(): FetchLike {
    return this.customFetch ?? globalThis.fetch;
  }

  private send(url: string | URL, init: RequestInit): Promise<Response> {
    const f = this.fetchImpl();
    return f(url, init);
  }

  /**
   * The anonymous auth calls: JSON POST with `credentials: 'include'` in both modes (as the
   * reference does, so cookie-setting responses work cross-origin). Returns the parsed body.
   */
  private async postPublic(path: string, body: Record<string, unknown>): Promise<unknown> {
    const response = await this.send(`${this.base}${path}`, {
      method: 'POST',
      credentials: 'include',
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await parseErrorResponse(response);
    return readJson(response);
  }

  /** An authenticated JSON POST through {@link fetch} (refresh and retry on 401). */
  private async postAuthenticated(path: string, body: Record<string, unknown>): Promise<unknown> {
    const response = await this.fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await parseErrorResponse(response);
    return readJson(response);
  }

  /** Cookie mode: one shared `POST /refresh {}` for all concurrent callers. */
  private cookieRefresh(): Promise<boolean> {
    this.cookieRefreshPromise ??= this.doCookieRefresh().finally(() => {
      this.cookieRefreshPromise = null;
    });
    return this.cookieRefreshPromise;
  }

  private async doCookieRefresh(): Promise<boolean> {
    let response: Response;
    try {
      response = await this.send(`${this.base}/refresh`, {
        method: 'POST',
        credentials: 'include',
        headers: JSON_HEADERS,
        body: JSON.stringify({}),
      });
    } catch {
      return false;
    }
    const body = await readJson(response);
    if (!response.ok) {
      warnIfMismatch(errorCodeOf(body));
      return false;
    }
    if (isAuthResponse(body)) this.setState('authenticated', mapUser(body.user));
    return true;
  }
}

/** Create an AuthFort client. Throws `missing_token_storage` for bearer mode without storage. */
export function createAuthClient(config: AuthClientConfig): AuthClient {
  return new AuthClientImpl(config);
}

/** An in-memory {@link TokenStorage} (bearer mode; the session ends with the page/process). */
export function memoryStorage(): TokenStorage {
  let token: string | null = null;
  return {
    get: () => token,
    set: (t: string) => {
      token = t;
    },
    clear: () => {
      token = null;
    },
  };
}
