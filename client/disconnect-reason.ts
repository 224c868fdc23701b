import type { TransportClose } from './transport';

/** Why a connection ended, with socket.io-client's names where one exists. */
export type DisconnectReason =
  | 'io client disconnect'
  | 'io server disconnect'
  | 'transport close'
  | 'transport error'
  | 'ping timeout';

/**
 * Names the end of an authenticated connection the socket did not close itself. API Gateway closes with 1000 when
 * the backend deletes the connection (a deliberate disconnect, like socket.io's server-side disconnect) and with
 * 1001 at the idle and 2-hour limits.
 *
 * @example
 * lostConnectionReason({ code: 1000, reason: '' }); // 'io server disconnect': do not reconnect
 * lostConnectionReason({ code: 1006, reason: '' }); // 'transport error': reconnect
 */
export function lostConnectionReason(close: Pick<TransportClose, 'code' | 'reason'>): DisconnectReason {
  if (close.reason === 'ping timeout') return 'ping timeout';
  if (close.code === 1000) return 'io server disconnect';
  if (close.code === 1001 || close.code === 1005) return 'transport close';
  return 'transport error';
}
