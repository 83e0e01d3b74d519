/**
 * Errors thrown by the client.
 *
 * `code` is the server's `detail.error` (`invalid_credentials`, `user_exists`, …, wire.md §7),
 * `unknown_error` when the body has none (422 validation, 404, a proxy's HTML page), or one of
 * the client-side codes below with `statusCode` 0.
 */

/**
 * Client-side error codes (`statusCode` 0), and `mfa_required` (`statusCode` 200), thrown by
 * `verifyMagicLink` / `verifyOTP` when the account needs its second factor: the client is
 * then in `mfa_pending` and `verifyMFA(code)` completes the sign-in.
 */
export type ClientErrorCode = 'missing_token_storage' | 'no_mfa_challenge' | 'mfa_required' | 'popup_blocked' | 'popup_closed';

/** An error from the auth server or the client itself. */
export class AuthClientError extends Error {
  /** Machine-readable code, e.g. `invalid_credentials` or `no_mfa_challenge`. */
  readonly code: string;
  /** HTTP status, or 0 for errors raised by the client. */
  readonly statusCode: number;
  /** The server's `detail` object when it had one (e.g. `providers` of `oauth_account`). */
  readonly detail?: Record<string, unknown>;
  /** `Retry-After` in seconds, on a 429 that carried one. */
  readonly retryAfter?: number;

  constructor(
    message: string,
    code: string,
    statusCode: number,
    extra?: { detail?: Record<string, unknown>; retryAfter?: number },
  ) {
    super(message);
    this.name = 'AuthClientError';
    this.code = code;
    this.statusCode = statusCode;
    if (extra?.detail) this.detail = extra.detail;
    if (extra?.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The error code of an error body: `detail.error` (the AuthFort envelope), or a flat
 * `error`; undefined otherwise.
 */
export function errorCodeOf(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const d = isObject(body.detail) ? body.detail : body;
  return typeof d.error === 'string' ? d.error : undefined;
}

/**
 * Turns a non-2xx response into an {@link AuthClientError}: `d = body.detail ?? body`,
 * `code = d.error ?? "unknown_error"`, `message = d.message ?? statusText`. Never throws.
 */
export async function parseErrorResponse(response: Response): Promise<AuthClientError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const retryHeader = response.headers?.get?.('Retry-After');
  const retryAfter = retryHeader && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined;
  const fallback = response.statusText || `HTTP ${response.status}`;
  if (!isObject(body)) {
    return new AuthClientError(fallback, 'unknown_error', response.status, { retryAfter });
  }
  const d = isObject(body.detail) ? body.detail : body;
  const code = typeof d.error === 'string' ? d.error : 'unknown_error';
  const message = typeof d.message === 'string' ? d.message : fallback;
  return new AuthClientError(message, code, response.status, {
    detail: isObject(body.detail) ? body.detail : undefined,
    retryAfter,
  });
}
