/**
 * Why a connection is replaced: API Gateway's 2-hour limit ahead (`lifetime`), its token about to expire (`token`),
 * or the server refusing a send because the token has expired (`token_expired`).
 */
export type RenewalReason = 'lifetime' | 'token' | 'token_expired';

/** What decides when a connection is renewed. Times are epoch milliseconds, durations milliseconds. */
export interface RenewalTiming {
  /** `renewConnectionAfter`: 0 disables the 2-hour renewal. */
  renewConnectionAfter: number;
  /** `tokenRenewalMargin`: how long before the token's `exp` to renew. */
  tokenRenewalMargin: number;
  /** When the connection's `authenticated` reply arrived; the 2-hour renewal counts from it. */
  authenticatedAt: number | undefined;
  /** The connection's token `exp`; undefined when unreadable, or when only the 2-hour limit should count. */
  tokenExpiresAtMs: number | undefined;
  now: number;
}

/**
 * When, and why, to renew a connection: the earlier of API Gateway's 2-hour limit ahead (`renewConnectionAfter`
 * from the `authenticated` reply) and the token's `exp` less `tokenRenewalMargin`; undefined when neither applies.
 *
 * @example
 * nextRenewal({ renewConnectionAfter: 6_900_000, tokenRenewalMargin: 60_000, authenticatedAt: now,
 *   tokenExpiresAtMs: now + 600_000, now }); // { delay: 540000, reason: 'token' }
 */
export function nextRenewal(timing: RenewalTiming): { delay: number; reason: 'lifetime' | 'token' } | undefined {
  const { renewConnectionAfter, tokenRenewalMargin, authenticatedAt, tokenExpiresAtMs, now } = timing;
  let next: { delay: number; reason: 'lifetime' | 'token' } | undefined;
  if (renewConnectionAfter > 0) {
    const elapsed = now - (authenticatedAt ?? now);
    next = { delay: Math.max(0, renewConnectionAfter - elapsed), reason: 'lifetime' };
  }
  const tokenLeft = tokenExpiresAtMs !== undefined ? tokenExpiresAtMs - now : 0;
  // A token already expired by this clock (or a clock far ahead of the server's) gets no timer: the server's
  // `token_expired` answer is the authority then. Half the remaining life bounds how often short tokens renew.
  if (tokenLeft > 0) {
    const delay = Math.max(tokenLeft - tokenRenewalMargin, tokenLeft / 2);
    if (!next || delay < next.delay) next = { delay, reason: 'token' };
  }
  return next;
}

/**
 * Whether a token just obtained is worth a new connection in place of the current one's: it is another token, and
 * its `exp` (when both are readable) is later.
 *
 * @example
 * isFresher('new', now + 600_000, { token: 'old', tokenExpiresAtMs: now + 30_000 }); // true
 * isFresher('same', undefined, { token: 'same' }); // false: a static token gains nothing from a new connection
 */
export function isFresher(
  token: string | undefined,
  expiresAtMs: number | undefined,
  current: { token?: string; tokenExpiresAtMs?: number },
): boolean {
  if (token === current.token) return false;
  if (expiresAtMs === undefined || current.tokenExpiresAtMs === undefined) return true;
  return expiresAtMs > current.tokenExpiresAtMs;
}
