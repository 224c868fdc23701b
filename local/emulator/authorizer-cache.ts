/**
 * The HTTP API authorizer's result cache, keyed by the identity source (the `Authorization` header's value),
 * with the configured TTL. A TTL of 0 disables it, as on API Gateway.
 *
 * @example
 * const cache = new AuthorizerResultCache<Result>(300_000);
 * cache.set('Bearer abc', result);
 * cache.get('Bearer abc'); // result, until 5 minutes have passed
 */
export class AuthorizerResultCache<TResult> {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { result: TResult; expiresAt: number }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(identity: string): TResult | undefined {
    const entry = this.#entries.get(identity);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(identity);
      return undefined;
    }
    return entry.result;
  }

  set(identity: string, result: TResult): void {
    if (this.#ttlMs <= 0) return;
    this.#entries.set(identity, { result, expiresAt: Date.now() + this.#ttlMs });
  }
}
