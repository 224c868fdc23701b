/**
 * Reading a JWT's `exp` on the client, only to schedule the renewal of a connection before its token expires.
 *
 * The token is NOT verified here, and must not be: the client holds no key, and the server verifies every token
 * on `$connect`. A forged or unreadable `exp` can only make the adapter renew early or not at all; it never grants
 * anything.
 */

/**
 * The token's `exp` as epoch milliseconds, or undefined when the token is not a JWT with a numeric `exp`
 * (an opaque token, a malformed one): the adapter then schedules no renewal from it.
 *
 * @example
 * readTokenExpiry('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyMTIzIiwiZXhwIjoxNzk1NjkwODAwfQ.sig'); // 1795690800000
 * readTokenExpiry('opaque-token'); // undefined
 */
export function readTokenExpiry(token: string | undefined): number | undefined {
  const segments = token?.split('.');
  if (segments?.length !== 3) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(decodeBase64Url(segments[1]));
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object') return undefined;
  const { exp } = payload as { exp?: unknown };
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/** base64url to UTF-8 text with `atob`, which browsers and Node (16+) both have: no Buffer in the browser bundle. */
function decodeBase64Url(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
