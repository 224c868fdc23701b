import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A Lambda handler as a module exports it: middy handlers and plain async functions both fit. */
export type LambdaHandler = (event: unknown, context: Context) => unknown;

/** A function the emulator can invoke: one "container" that keeps its module state between invocations. */
export interface LambdaInvoker {
  readonly name: string;
  invoke(event: unknown): Promise<unknown>;
}

/** The invocation outlived the integration timeout (29 s on WebSocket routes, 30 s on HTTP APIs). */
export class IntegrationTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} did not answer within ${timeoutMs} ms`);
    this.name = 'IntegrationTimeoutError';
  }
}

const ACCOUNT_ID = '123456789012';

/**
 * Wraps a handler function as an invoker with a Lambda-shaped context (request id, remaining time, names) and a
 * timeout, like the Lambda runtime: the caller sees either the handler's result or its error.
 *
 * @example
 * const ping = createLambdaInvoker('ping', async () => ({ statusCode: 200, body: 'pong' }), { timeoutMs: 29000 });
 * await ping.invoke({ requestContext: { routeKey: 'ping' } });
 */
export function createLambdaInvoker(
  name: string,
  handler: LambdaHandler,
  options: { timeoutMs: number; region?: string },
): LambdaInvoker {
  const region = options.region ?? 'us-east-1';
  return {
    name,
    invoke(event) {
      const deadline = Date.now() + options.timeoutMs;
      const context: Context = {
        callbackWaitsForEmptyEventLoop: true,
        functionName: name,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}`,
        memoryLimitInMB: '1024',
        awsRequestId: randomUUID(),
        logGroupName: `/aws/lambda/${name}`,
        logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new IntegrationTimeoutError(name, options.timeoutMs)), options.timeoutMs);
      });
      // A handler may throw synchronously; Promise.resolve().then turns that into a rejection like the runtime does.
      const result = Promise.resolve().then(() => handler(event, context));
      return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Imports a handler module (its `handler` export) with `environment` applied to `process.env` during the import,
 * since handlers read and check their settings at module load, as on a Lambda cold start. The variables stay
 * set afterwards: handlers may also read them lazily.
 *
 * @example
 * const handler = await importHandler('/repo/lambdas/handlers/ws-connect.ts', { TABLE_NAME: 'connections' });
 */
export async function importHandler(modulePath: string, environment: Record<string, string>): Promise<LambdaHandler> {
  Object.assign(process.env, environment);
  const loaded = (await import(modulePath)) as { handler?: unknown; default?: { handler?: unknown } };
  // tsx may surface a CommonJS module's exports under `default`.
  const handler = loaded.handler ?? loaded.default?.handler;
  if (typeof handler !== 'function') throw new Error(`${modulePath} does not export a handler function`);
  return handler as LambdaHandler;
}
