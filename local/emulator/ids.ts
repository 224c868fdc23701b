import { randomBytes } from 'node:crypto';

/**
 * A connection id shaped like API Gateway's (`L0SM9cOFvHcCIhw=`): 11 random bytes in base64, so ids may
 * contain `+` and `/` and callers must URL-encode them, as on AWS.
 *
 * @example
 * newConnectionId(); // 'Jq3x+9bQ2mN/wA4='
 */
export function newConnectionId(): string {
  return randomBytes(11).toString('base64');
}

/**
 * Whether `id` has the shape of an API Gateway connection id: 16 characters, 15 of the base64 alphabet then one
 * `=` (11 bytes in base64), like `R1kmxc2VNjMCFIA=` and `TWegAcC4EowCHnA=` in the events captured in aws/aws-lambda-go
 * `events/testdata/apigw-websocket-request-disconnect.json` and `apigw-websocket-request.json`. Any other string can never
 * name a connection: `@connections` answers it 400 `BadRequestException`, not 410.
 *
 * @example
 * isWellFormedConnectionId('L0SM9cOFvHcCIhw='); // true
 * isWellFormedConnectionId('user123'); // false
 */
export function isWellFormedConnectionId(id: string): boolean {
  return /^[A-Za-z0-9+/]{15}=$/.test(id);
}

/**
 * API Gateway's request id: on WebSocket and HTTP APIs it is the same base64 string as `extendedRequestId`
 * (`Tq7vKHc1joEFa2w=`).
 *
 * @example
 * newRequestId(); // 'Tq7vKHc1joEFa2w='
 */
export function newRequestId(): string {
  return randomBytes(11).toString('base64');
}

/**
 * The `X-Amzn-Trace-Id` API Gateway adds to the requests it forwards: `Root=1-{epoch seconds, hex}-{96 random bits}`.
 *
 * @example
 * newTraceId(); // 'Root=1-6926d0a0-3b1f2c4d5e6f708192a3b4c5'
 */
export function newTraceId(now = Date.now()): string {
  return `Root=1-${Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0')}-${randomBytes(12).toString('hex')}`;
}

/** A WebSocket message id (`messageId` in MESSAGE events). */
export function newMessageId(): string {
  return randomBytes(11).toString('base64');
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * API Gateway's `requestTime` format, `26/Nov/2026:10:00:00 +0000`.
 *
 * @example
 * formatRequestTime(new Date(0)); // '01/Jan/1970:00:00:00 +0000'
 */
export function formatRequestTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
