import middy from '@middy/core';
import type { AuthorizerContext } from '../core/authorizer-context';
import {
  type AuthorizerTelemetry,
  createAuthorizerTelemetry,
  metricsDisabledIn,
  readAuthorizerLogLevel,
} from '../core/authorizer-telemetry';
import {
  type ConnectAuthorizationDependencies,
  type ConnectDecision,
  decideConnect,
} from '../core/connect-authorization';
import { sharedTokenVerifier } from '../core/jwt';
import { readOriginPolicy } from '../core/origin';

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
