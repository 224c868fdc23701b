import middy from '@middy/core';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import type { AuthorizerContext } from '../core/authorizer-context';
import {
  type AuthorizerTelemetry,
  createAuthorizerTelemetry,
  metricsDisabledIn,
  readAuthorizerLogLevel,
} from '../core/authorizer-telemetry';
import {
  authorizerContextOf,
  sharedTokenVerifier,
  TokenRejectedError,
  type TokenRejectionReason,
  type TokenVerifier,
} from '../core/jwt';
import { bearerTokenOf } from '../core/token-carriers';

/**
 * HTTP API Lambda authorizer (payload 2.0, simple responses). Only `Authorization: Bearer <jwt>` is accepted:
 * HTTP clients can always set a header, so the weaker carriers of the WebSocket handshake are not offered.
 * No Origin check: on the HTTP API browsers are governed by CORS.
 *
 * A valid token gives `{ isAuthorized: true, context }` (routes read it under `requestContext.authorizer.lambda`);
 * a missing or refused token throws `Unauthorized`, which API Gateway answers with 401. Result caching is keyed on
 * the `Authorization` header (the identity source), so a cached answer never crosses tokens.
 */

export type HttpAuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

export type HttpAuthorizationDecision =
  | { outcome: 'allow'; context: AuthorizerContext }
  | { outcome: 'unauthorized'; reason: TokenRejectionReason | 'no_token'; message: string };

/**
 * Decides an HTTP request from its `Authorization` header.
 *
 * @example
 * const decision = await decideHttpRequest({ authorization: `Bearer ${jwt}` }, verifier);
 * // { outcome: 'allow', context: { userId: 'user123', permissions: 'ws:admin', tokenExpiresAt: 1767225600 } }
 */
export async function decideHttpRequest(
  headers: APIGatewayRequestAuthorizerEventV2['headers'],
  verifier: TokenVerifier,
): Promise<HttpAuthorizationDecision> {
  const token = bearerTokenOf(headers);
  if (!token) {
    return { outcome: 'unauthorized', reason: 'no_token', message: 'No "Authorization: Bearer <token>" header' };
  }
  try {
    return { outcome: 'allow', context: authorizerContextOf(await verifier.verify(token)) };
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      return { outcome: 'unauthorized', reason: error.reason, message: error.message };
    }
    throw error;
  }
}

/**
 * Builds the authorizer over its dependencies; each refusal is logged (never the token) and counted as
 * `AuthRefused` with the reason as a dimension.
 *
 * @example
 * const authorize = createHttpAuthorizer({ verifier, telemetry });
 * await authorize(event); // { isAuthorized: true, context } or throws 'Unauthorized'
 */
export function createHttpAuthorizer(deps: {
  verifier: TokenVerifier;
  telemetry: AuthorizerTelemetry;
}): (event: APIGatewayRequestAuthorizerEventV2) => Promise<HttpAuthorizerResult> {
  return async (event) => {
    let decision: HttpAuthorizationDecision;
    try {
      decision = await decideHttpRequest(event.headers, deps.verifier);
    } catch (error) {
      // The verification key could not be obtained: the server's trouble, so a 500, not a misleading 401.
      deps.telemetry.error('Token verification could not run', { error });
      throw error;
    }
    if (decision.outcome === 'allow') return { isAuthorized: true, context: decision.context };

    deps.telemetry.warn('HTTP request refused', {
      reason: decision.reason,
      detail: decision.message,
      routeKey: event.routeKey,
      sourceIp: event.requestContext?.http?.sourceIp,
    });
    deps.telemetry.countRefusal({ authorizer: 'http', reason: decision.reason });
    // This exact message is what makes API Gateway answer 401 instead of 500.
    throw new Error('Unauthorized');
  };
}

// Read once per cold start: a missing or bad setting fails here, naming the setting.
const verifier = sharedTokenVerifier();
const telemetry = createAuthorizerTelemetry({
  level: readAuthorizerLogLevel(process.env),
  metricsDisabled: metricsDisabledIn(process.env),
});

export const handler = middy(createHttpAuthorizer({ verifier, telemetry })).use(telemetry.middleware());
