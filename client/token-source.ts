/** A token, or a function returning one (called before every connect and reconnect, so it can refresh it). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

/** socket.io-client's `auth` option: an object, or a function that passes one to a callback or returns it. */
export type AuthOption =
  | { token?: TokenSource }
  | ((callback: (auth: { token?: string }) => void) => undefined | { token?: string } | Promise<{ token?: string }>);

/**
 * Obtains the token for one connect or reconnect: from `auth` (an object whose `token` may be a function, or
 * socket.io's callback-style function), else from an `Authorization: Bearer <jwt>` in `extraHeaders`. Called before
 * every attempt, so a token function can hand out a fresh token each time.
 *
 * @example
 * await resolveToken({ token: () => getFreshToken() }, {}); // 'eyJ…'
 * await resolveToken(undefined, { Authorization: 'Bearer eyJ…' }); // 'eyJ…'
 */
export async function resolveToken(
  auth: AuthOption | undefined,
  extraHeaders: Record<string, string>,
): Promise<string | undefined> {
  let token: string | undefined;
  if (typeof auth === 'function') {
    const fromAuth = await new Promise<{ token?: string } | undefined>((resolve, reject) => {
      try {
        const returned = auth((value) => resolve(value));
        if (returned !== undefined) Promise.resolve(returned).then(resolve, reject);
      } catch (error) {
        reject(error);
      }
    });
    token = fromAuth?.token;
  } else if (auth?.token !== undefined) {
    token = typeof auth.token === 'function' ? await auth.token() : auth.token;
  }
  if (token === undefined) {
    const header = Object.entries(extraHeaders).find(([name]) => name.toLowerCase() === 'authorization');
    const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header[1]) : null;
    token = bearer?.[1];
  }
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw new TypeError('the token must be a non-empty string');
  }
  return token;
}

/**
 * The handshake headers less `Authorization`: the token is resolved separately (auth first, then this header) and
 * sent by the chosen carrier.
 *
 * @example
 * withoutAuthorization({ Authorization: 'Bearer eyJ…', 'X-Trace': '1' }); // { 'X-Trace': '1' }
 */
export function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}
