/** Names socket.io-client itself refuses to emit; any other name is an action sent to the server. */
const reservedEmitNames = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/**
 * API Gateway's frame limit. Messages may reach 128 KB only when split into frames of 32 KB, and neither browsers
 * nor `ws` ever split one: a bigger emit would go as one frame and close the connection (1009), losing the emit.
 */
const maxFrameBytes = 32 * 1024;

/**
 * Turns `emit(action, payload)` into the frame API Gateway routes by its `action`, refusing what socket.io-client
 * refuses (reserved names), adding the acknowledgement's `ackId` when the emit has a callback, and what API Gateway would close the connection over (a frame
 * over 32 KB). An object payload is spread beside `action`; any other payload goes as `data`.
 *
 * @example
 * encodeEmit('send', [{ userId: 'user456', type: 'chat', data: { message: 'hi' } }]);
 * // '{"userId":"user456","type":"chat","data":{"message":"hi"},"action":"send"}'
 * encodeEmit('ping', []); // '{"action":"ping"}'
 * encodeEmit('ping', [], 3); // '{"action":"ping","ackId":3}'
 */
export function encodeEmit(action: string, args: unknown[], ackId?: number): string {
  if (typeof action !== 'string' || action.length === 0) throw new TypeError('emit(): the action must be a string');
  if (reservedEmitNames.has(action)) throw new Error(`emit(): "${action}" is a reserved event name`);
  if (args.some((arg) => typeof arg === 'function')) {
    throw new TypeError('emit(): the acknowledgement callback must be the last argument');
  }
  if (args.length > 1) throw new TypeError('emit(): pass at most one payload (an object) after the action');
  const payload = args[0];
  const body =
    payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? { ...(payload as Record<string, unknown>), action }
      : payload === undefined
        ? { action }
        : { action, data: payload };
  if (ackId !== undefined) {
    if ('ackId' in body) throw new TypeError('emit(): "ackId" is reserved for acknowledgements; rename the field');
    (body as Record<string, unknown>).ackId = ackId;
  }
  const text = JSON.stringify(body);
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > maxFrameBytes) {
    throw new RangeError(
      `emit(): the frame is ${bytes} bytes; API Gateway accepts at most ${maxFrameBytes} in one frame ` +
        '(a larger one closes the connection with 1009)',
    );
  }
  return text;
}
