import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../subprotocol';
import type { AuthorizerContext } from './authorizer-context';
import { speaksSocketIo } from './connection-protocol';
import {
  authorizerContextOf,
  TokenRejectedError,
  type TokenRejectionReason,
  type TokenVerifier,
  type VerifiedIdentity,
} from './jwt';
import { isOriginAllowed, type OriginPolicy } from './origin';
import {
  type CarriedToken,
  extractToken,
  headerValue,
  offersNoEchoableSubprotocol,
  type TokenCarrier,
} from './token-carriers';

/**
 * The `$connect` decision, apart from how API Gateway wants it answered (the WebSocket authorizer turns it into
 * an IAM policy or an `Unauthorized` throw): the Origin allow-list, then the token from the strongest carrier.
 */

/** The outcome of a `$connect` authorization, before it is turned into API Gateway's answer. */
export type ConnectDecision =
  | { outcome: 'allow'; identity: VerifiedIdentity; context: AuthorizerContext; carrier: TokenCarrier }
  | { outcome: 'origin-refused'; origin: string }
  | {
      outcome: 'unauthorized';
      reason: TokenRejectionReason | 'no_token' | 'subprotocol_not_offered';
      message: string;
      carrier?: TokenCarrier;
    };

/** Why a handshake offering only subprotocols the server cannot echo is refused; it never quotes the entries. */
export const SUBPROTOCOL_NOT_OFFERED_MESSAGE =
  `The Sec-WebSocket-Protocol header does not offer "${webSocketSubprotocol}", the only subprotocol the server ` +
  `echoes (never a bearer entry): the client would fail the handshake. Offer ["${webSocketSubprotocol}", ` +
  `"${bearerSubprotocolPrefix}<jwt>"], or send the token in the Authorization header without subprotocols`;

export interface ConnectAuthorizationDependencies {
  verifier: TokenVerifier;
  originPolicy: OriginPolicy;
}

/**
 * Decides a `$connect`: Origin first (a cross-site page is refused before its token is even read), then a
 * subprotocol offer the server could not echo (a lone `bearer.<jwt>`: refused, see {@link offersNoEchoableSubprotocol}),
 * then the token from the strongest carrier present. A failure to obtain the verification key is not the caller's fault: it is
 * thrown, not turned into a refusal.
 *
 * @example
 * const decision = await decideConnect(event, { verifier, originPolicy: readOriginPolicy(process.env) });
 * if (decision.outcome === 'allow') console.log(decision.identity.userId);
 */
export async function decideConnect(
  event: {
    headers?: Record<string, string | undefined> | null;
    queryStringParameters?: Record<string, string | undefined> | null;
  },
  deps: ConnectAuthorizationDependencies,
): Promise<ConnectDecision> {
  const origin = headerValue(event.headers, 'origin');
  if (!isOriginAllowed(deps.originPolicy, origin)) return { outcome: 'origin-refused', origin: origin ?? '' };

  // Before the token: a client that offered no echoable subprotocol fails the handshake whatever we answer, and
  // accepting it would register a connection the client never had (see offersNoEchoableSubprotocol).
  if (offersNoEchoableSubprotocol(event.headers)) {
    return { outcome: 'unauthorized', reason: 'subprotocol_not_offered', message: SUBPROTOCOL_NOT_OFFERED_MESSAGE };
  }

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
    const context = authorizerContextOf(identity);
    // The connection's wire protocol travels with the context, so every later route of the connection reads it
    // without a registry lookup; `$connect` records it in the registry for the send paths.
    if (speaksSocketIo(event.queryStringParameters)) context.protocol = 'socket.io';
    return { outcome: 'allow', identity, context, carrier: carried.carrier };
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      return { outcome: 'unauthorized', reason: error.reason, message: error.message, carrier: carried.carrier };
    }
    throw error;
  }
}
