import middy from '@middy/core';
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
  type VerifiedIdentity,
} from '../core/jwt';
import { isOriginAllowed, type OriginPolicy, readOriginPolicy } from '../core/origin';
import { type CarriedToken, extractToken, headerValue, type TokenCarrier } from '../core/token-carriers';

/**
 * WebSocket `$connect` REQUEST authorizer. API Gateway calls it before the handshake completes:
 * - an Origin outside `ALLOWED_ORIGINS` gets a Deny policy, which API Gateway answers with 403;
 * - no token, or a refused one, throws `Unauthorized`, which API Gateway answers with 401;
 * - a valid token gets an Allow policy on this `$connect` and the {@link AuthorizerContext} that every later
 *   route of the connection receives.
 *
 * It has no table access: nothing is recorded here, `$connect` registers the connection once it is accepted.
 */

/** The WebSocket REQUEST authorizer event (`@types/aws-lambda` only models the REST API one). */
export interface WebSocketAuthorizerEvent {
  type: 'REQUEST';
  /** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect` */
  methodArn: string;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  stageVariables?: Record<string, string | undefined> | null;
  requestContext: {
    routeKey: string;
    eventType: string;
    connectionId: string;
    domainName: string;
    stage: string;
    apiId: string;
    requestId: string;
    identity?: { sourceIp?: string; userAgent?: string | null };
  };
}

export interface WebSocketAuthorizerResult {
  principalId: string;
  policyDocument: {
    Version: '2012-10-17';
    Statement: { Action: 'execute-api:Invoke'; Effect: 'Allow' | 'Deny'; Resource: string }[];
  };
  context?: AuthorizerContext;
}

/** The outcome of a `$connect` authorization, before it is turned into API Gateway's answer. */
export type ConnectDecision =
  | { outcome: 'allow'; identity: VerifiedIdentity; context: AuthorizerContext; carrier: TokenCarrier }
  | { outcome: 'origin-refused'; origin: string }
  | { outcome: 'unauthorized'; reason: TokenRejectionReason | 'no_token'; message: string; carrier?: TokenCarrier };

export interface ConnectAuthorizationDependencies {
  verifier: TokenVerifier;
  originPolicy: OriginPolicy;
}

/**
 * Decides a `$connect`: Origin first (a cross-site page is refused before its token is even read), then the token
 * from the strongest carrier present. A failure to obtain the verification key is not the caller's fault: it is
 * thrown, not turned into a refusal.
 *
 * @example
 * const decision = await decideConnect(event, { verifier, originPolicy: readOriginPolicy(process.env) });
 * if (decision.outcome === 'allow') console.log(decision.identity.userId);
 */
export async function decideConnect(
  event: Pick<WebSocketAuthorizerEvent, 'headers' | 'queryStringParameters'>,
  deps: ConnectAuthorizationDependencies,
): Promise<ConnectDecision> {
  const origin = headerValue(event.headers, 'origin');
  if (!isOriginAllowed(deps.originPolicy, origin)) return { outcome: 'origin-refused', origin: origin ?? '' };

  const carried: CarriedToken | undefined = extractToken(event);
  if (!carried) {
    return {
      outcome: 'unauthorized',
      reason: 'no_token',
      message: 'No token in the Authorization header, the Sec-WebSocket-Protocol header or the token query parameter',
    };
  }
  try {
    const identity = await deps.verifier.verify(carried.token);
    return { outcome: 'allow', identity, context: authorizerContextOf(identity), carrier: carried.carrier };
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      return { outcome: 'unauthorized', reason: error.reason, message: error.message, carrier: carried.carrier };
    }
    throw error;
  }
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): WebSocketAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
  };
}

/**
 * Builds the authorizer over its dependencies: the decision is logged (never the token) and each refusal is
 * counted as `AuthRefused`, with the reason as a dimension.
 *
 * @example
 * const authorize = createWebSocketAuthorizer({ verifier, originPolicy, telemetry });
 * const result = await authorize(event); // Allow policy with context, Deny policy, or throws 'Unauthorized'
 */
export function createWebSocketAuthorizer(
  deps: ConnectAuthorizationDependencies & { telemetry: AuthorizerTelemetry },
): (event: WebSocketAuthorizerEvent) => Promise<WebSocketAuthorizerResult> {
  const refused = (reason: string, details: Record<string, unknown>): void => {
    deps.telemetry.warn('WebSocket connection refused', { reason, ...details });
    deps.telemetry.countRefusal({ authorizer: 'websocket', reason });
  };

  return async (event) => {
    const sourceIp = event.requestContext?.identity?.sourceIp;
    let decision: ConnectDecision;
    try {
      decision = await decideConnect(event, deps);
    } catch (error) {
      // The key could not be obtained (Secrets Manager or JWKS down, a bad secret): fail loudly, API Gateway
      // answers 500, rather than telling a caller with a good token that it is unauthorized.
      deps.telemetry.error('Token verification could not run', { error });
      throw error;
    }

    switch (decision.outcome) {
      case 'allow':
        deps.telemetry.info('WebSocket connection authorized', {
          userId: decision.identity.userId,
          carrier: decision.carrier,
        });
        return { ...policy(decision.identity.userId, 'Allow', event.methodArn), context: decision.context };
      case 'origin-refused':
        refused('origin_not_allowed', { origin: decision.origin, sourceIp });
        return policy('anonymous', 'Deny', event.methodArn);
      case 'unauthorized':
        refused(decision.reason, { carrier: decision.carrier, detail: decision.message, sourceIp });
        // This exact message is what makes API Gateway answer 401 instead of 500.
        throw new Error('Unauthorized');
    }
  };
}

// Read once per cold start: a missing or bad setting fails here, naming the setting.
const verifier = sharedTokenVerifier();
const originPolicy = readOriginPolicy(process.env);
const telemetry = createAuthorizerTelemetry({
  level: readAuthorizerLogLevel(process.env),
  metricsDisabled: metricsDisabledIn(process.env),
});

export const handler = middy(createWebSocketAuthorizer({ verifier, originPolicy, telemetry })).use(
  telemetry.middleware(),
);
