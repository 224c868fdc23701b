import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import type { FaultInjector } from './emulator/faults';
import { listenOnLoopback } from './loopback-server';

export interface DynamoFaultProxy {
  /** `http://127.0.0.1:<port>`: what the functions get as `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * The error bodies DynamoDB answers (JSON 1.0 protocol: the SDK reads the error's name from `__type`). A throttled
 * request is 400 `ProvisionedThroughputExceededException`, a failing one 500 `InternalServerError` ("Error handling
 * with DynamoDB", DynamoDB developer guide); the SDK's standard retry strategy retries both.
 */
const faultAnswers = {
  throttle: {
    status: 400,
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded (injected fault)',
    },
  },
  fail: {
    status: 500,
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error (injected fault)',
    },
  },
} as const;

/** Whether the SDK will not retry this request: `amz-sdk-request: attempt=3; max=3` (standard retry mode). */
function isLastAttempt(request: IncomingMessage): boolean {
  const match = /attempt=(\d+);\s*max=(\d+)/.exec(String(request.headers['amz-sdk-request'] ?? ''));
  return match !== null && match[1] === match[2];
}

/**
 * A small HTTP proxy in front of dynalite that answers a share of requests with DynamoDB's throttling or server error
 * instead of forwarding them, so every handler's real SDK sees real error responses and retries them as it would on
 * AWS. A faulted request never reaches dynalite: it has no effect (a real 500 may have had one; the handlers' writes
 * are idempotent puts and deletes, so the difference does not change what the suite checks).
 *
 * @example
 * const proxy = await startDynamoFaultProxy(dynamo.endpoint, new FaultInjector({ dynamoThrottle: 0.05 }));
 * // give the functions proxy.endpoint as AWS_ENDPOINT_URL_DYNAMODB
 */
export async function startDynamoFaultProxy(target: string, faults: FaultInjector): Promise<DynamoFaultProxy> {
  const targetUrl = new URL(target);
  const server: Server = createServer((request, response) => {
    const fault = faults.dynamoFault(isLastAttempt(request));
    if (fault) {
      request.resume();
      const { status, body } = faultAnswers[fault];
      response.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(body));
      return;
    }
    const upstream = forward(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });
  return listenOnLoopback(server);
}
