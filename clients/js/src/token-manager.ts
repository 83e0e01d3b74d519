/**
 * Bearer-mode token lifecycle: the access token in memory, the refresh token in the app's
 * {@link TokenStorage}, one shared `/refresh` at a time, and a proactive refresh
 * `expires_in - refreshBuffer` seconds after each token was received.
 */

import { errorCodeOf } from './errors.js';
import type { FetchLike, ServerAuthResponse, TokenStorage } from './types.js';

/** What a refresh attempt ended with. */
export type RefreshOutcome =
  | { ok: true; response: ServerAuthResponse }
  /** `rejected`: the server refused the token (it is gone); `network`: no answer; `none`: nothing stored. */
  | { ok: false; reason: 'rejected' | 'network' | 'none'; code?: string };

export class TokenManager {
  private accessToken: string | null = null;
  private expiresAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<RefreshOutcome> | null = null;
  /** Bumped by clear(): a refresh that started before a sign-out must not revive the session. */
  private generation = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly refreshBuffer: number,
    private readonly storage: TokenStorage,
    private readonly fetchImpl: () => FetchLike,
    private readonly onRefreshed: (response: ServerAuthResponse) => void,
    private readonly onRefreshFailed: (outcome: RefreshOutcome & { ok: false }) => void,
  ) {}

  /** The in-memory access token while it is unexpired, else null. */
  getToken(): string | null {
    if (this.accessToken && Date.now() < this.expiresAt) return this.accessToken;
    return null;
  }

  async getRefreshToken(): Promise<string | null> {
    return (await this.storage.get()) ?? null;
  }

  /** Adopt the tokens of an AuthResponse and schedule the proactive refresh. */
  async setTokens(accessToken: string, refreshToken: string, expiresIn: number): Promise<void> {
    this.accessToken = accessToken;
    this.expiresAt = Date.now() + expiresIn * 1000;
    await this.storage.set(refreshToken);
    this.schedule(expiresIn);
  }

  /** Forget the access token only (after a 401), keeping the refresh token. */
  clearAccessToken(): void {
    this.accessToken = null;
    this.expiresAt = 0;
  }

  /** Forget everything, including the stored refresh token. */
  async clear(): Promise<void> {
    this.generation++;
    this.cancelTimer();
    this.clearAccessToken();
    await this.storage.clear();
  }

  /** Stop the proactive-refresh timer (the tokens are kept). */
  cancelTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * `POST {base}/refresh` with the stored refresh token; concurrent callers share one request.
   * Success replaces both tokens; a refusal clears them; a network error keeps the stored
   * token so a later attempt can succeed.
   */
  refresh(): Promise<RefreshOutcome> {
    if (!this.inFlight) {
      this.inFlight = this.doRefresh().finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  private async doRefresh(): Promise<RefreshOutcome> {
    const generation = this.generation;
    const stored = await this.getRefreshToken();
    if (!stored) {
      const outcome = { ok: false, reason: 'none' } as const;
      this.onRefreshFailed(outcome);
      return outcome;
    }
    let response: Response;
    try {
      response = await this.fetchImpl()(`${this.baseUrl}/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: stored }),
      });
    } catch {
      // Keep both tokens: the access token may still be valid, the refresh token still good.
      const outcome = { ok: false, reason: 'network' } as const;
      this.onRefreshFailed(outcome);
      return outcome;
    }
    if (!response.ok) {
      let code: string | undefined;
      try {
        code = errorCodeOf(await response.json());
      } catch {
        code = undefined;
      }
      const outcome = { ok: false as const, reason: 'rejected' as const, code };
      await this.clear();
      this.onRefreshFailed(outcome);
      return outcome;
    }
    let data: ServerAuthResponse;
    try {
      data = (await response.json()) as ServerAuthResponse;
    } catch {
      const outcome = { ok: false, reason: 'network' } as const;
      this.onRefreshFailed(outcome);
      return outcome;
    }
    if (generation !== this.generation) {
      // Signed out while the request was in flight: end the rotated session too.
      void this.fetchImpl()(`${this.baseUrl}/logout`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: data.tokens.refresh_token }),
      }).catch(() => undefined);
      return { ok: false, reason: 'none' };
    }
    await this.setTokens(data.tokens.access_token, data.tokens.refresh_token, data.tokens.expires_in);
    this.onRefreshed(data);
    return { ok: true, response: data };
  }

  private schedule(expiresIn: number): void {
    this.cancelTimer();
    const delay = (expiresIn - this.refreshBuffer) * 1000;
    if (!(delay > 0)) return;
    const timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
    // Node: do not keep the process alive just for the refresh timer.
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }
}
