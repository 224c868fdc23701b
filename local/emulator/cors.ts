import type { IncomingMessage } from 'node:http';

/** The HTTP API's CORS configuration, built from the allowed-origins setting. */
export interface CorsPolicy {
  /** Allowed origins; `*` allows any, `null` is a page opened from a file. */
  allowOrigins: readonly string[];
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  maxAgeSeconds: number;
}

/**
 * The CORS headers API Gateway adds for a request from `origin` (none when the origin is not allowed).
 *
 * @example
 * corsHeaders(policy, 'http://localhost:8091'); // { 'access-control-allow-origin': 'http://localhost:8091', ... }
 */
export function corsHeaders(policy: CorsPolicy, origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  const allowed = policy.allowOrigins.includes('*') || policy.allowOrigins.includes(origin);
  if (!allowed) return {};
  return {
    'access-control-allow-origin': policy.allowOrigins.includes('*') ? '*' : origin,
    vary: 'origin',
  };
}

/** Whether a request is a CORS preflight, which API Gateway answers itself, without the authorizer. */
export function isPreflight(request: IncomingMessage): boolean {
  return (
    request.method === 'OPTIONS' &&
    request.headers.origin !== undefined &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/** The headers of a preflight answer (204); none beyond the basics when the origin is not allowed. */
export function preflightHeaders(policy: CorsPolicy, origin: string | undefined): Record<string, string> {
  const base = corsHeaders(policy, origin);
  if (Object.keys(base).length === 0) return {};
  return {
    ...base,
    'access-control-allow-methods': policy.allowMethods.join(','),
    'access-control-allow-headers': policy.allowHeaders.join(','),
    'access-control-max-age': String(policy.maxAgeSeconds),
  };
}
