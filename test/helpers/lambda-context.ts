import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

// The account and region every unit test's fixtures already use, so ARNs in logs and events agree.
const region = 'eu-west-1';
const accountId = '123456789012';

/** What a Lambda under API Gateway has left by default: the WebSocket API's 29 s integration timeout. */
const defaultRemainingTimeInMillis = 29_000;

/**
 * The Lambda `Context` an invocation of `functionName` would receive: its ARN, log group and log stream are derived
 * from the name, and each call gets a fresh `awsRequestId`, as each real invocation does. Pass `overrides` for a
 * field a test asserts on (a request id, a remaining time it controls) so the assertion names its own value.
 *
 * @example
 * const context = lambdaContextFor('ws-send');
 * await handler(event, context); // logs carry function_name "ws-send" and context.awsRequestId
 *
 * const nearTimeout = lambdaContextFor('direct-send', { getRemainingTimeInMillis: () => 500 });
 */
export function lambdaContextFor(functionName: string, overrides: Partial<Context> = {}): Context {
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => defaultRemainingTimeInMillis,
    // The callback-style completion methods are deprecated and never called by middy handlers.
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
    ...overrides,
  };
}
