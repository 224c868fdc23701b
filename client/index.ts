/**
 * A Socket.IO-compatible client for realtime-gateway (API Gateway WebSockets), for browsers and Node.
 * See `client/README.md` for the migration from socket.io-client and every option.
 */
import { RealtimeSocket, type RealtimeSocketOptions } from './socket';

export type { Envelope } from '../lambdas/core/envelope';
export type { AckErrorReason } from './acks';
export type { BackoffOptions } from './backoff';
export { ReconnectBackoff } from './backoff';
export type { Listener } from './emitter';
export type { ReplayGap } from './replay';
export type {
  AuthenticatedData,
  AuthOption,
  ConnectErrorReason,
  DeliveryReportData,
  DeliverySummaryData,
  DetailedDeliveryReportData,
  DisconnectReason,
  RealtimeSocketEvents,
  RealtimeSocketOptions,
  ServerErrorData,
  TokenSource,
} from './socket';
export { AckError, ConnectError, RealtimeSocket, ReconnectionEvents } from './socket';
export type { TokenCarrier, WebSocketConstructor, WebSocketLike } from './transport';

/**
 * Opens a socket to a realtime-gateway stage, as socket.io-client's `io()` does.
 *
 * @example
 * // Browser: the token rides in the Sec-WebSocket-Protocol header.
 * const socket = io('wss://abc.execute-api.eu-west-1.amazonaws.com/prod', { auth: { token: jwt } });
 * socket.on('notification', (data) => console.log(data.title));
 *
 * @example
 * // Node: the token goes as the Authorization header, through the `ws` package.
 * const socket = io('ws://localhost:8090/local', { auth: () => ({ token: signToken() }) });
 */
export function io(url: string, options: RealtimeSocketOptions = {}): RealtimeSocket {
  return new RealtimeSocket(url, options);
}

export default io;
