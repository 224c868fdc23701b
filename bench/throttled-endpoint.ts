/**
 * Child process of the scale benchmark (`bench/scale-fan-out.ts`): a stand-in for API Gateway's `@connections`
 * under the account throttle, counting what every connection received.
 *
 * - `POST /{stage}/@connections/{id}` answers 200 after `delayMs`, like a post API Gateway accepted.
 * - The account throttle is a token bucket (rate, burst), as API Gateway's is: "API Gateway throttles requests to
 *   your API using the token bucket algorithm, where a token counts for a request", 10,000 requests/s per account
 *   and Region by default (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html and
 *   .../websocket-api-protect.html). A request without a token gets 429 at once with `x-amzn-ErrorType:
 *   LimitExceededException`, PostToConnection's modelled throttling error
 *   (https://docs.aws.amazon.com/apigatewaymanagementapi/latest/APIReference/API_PostToConnection.html).
 * - Ids the run declares gone (every `goneEvery`-th) answer 410 `GoneException`, as a closed connection does.
 *
 * Connection ids are `conn-<index>`; a count per index says how many times each was delivered (or answered 410),
 * so the parent can tell lost posts from duplicated ones. Control and results go over the IPC channel. Listens on
 * 127.0.0.1 only.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EndpointConfig {
  connections: number;
  delayMs: number;
  /** Account throttle, requests per second. */
  throttlePerSecond: number;
  /** Account throttle's bucket size (burst). */
  throttleBurst: number;
  /** Every n-th connection (index % n === n - 1) is gone; 0: none. */
  goneEvery: number;
}

export interface EndpointReport {
  accepted: number;
  gone: number;
  throttled: number;
  /** Connections that should have got the message (not gone) and got it 0 times. */
  lost: number;
  /** Connections posted successfully (200 or 410) more than once. */
  duplicated: number;
  /** Requests to a path that is not a post to a known connection. */
  malformed: number;
  /** Most posts accepted (200 or 410) within any 1 s (sliding, 100 ms steps). */
  peakPerSecond: number;
  firstAcceptedAt?: number;
  lastAcceptedAt?: number;
}

export type EndpointMessage = { kind: 'configure'; config: EndpointConfig } | { kind: 'report' } | { kind: 'stop' };

export function isGoneIndex(index: number, goneEvery: number): boolean {
  return goneEvery > 0 && index % goneEvery === goneEvery - 1;
}

const connectionPath = /^\/[^/]+\/@connections\/conn-(\d+)$/;

function start(config: EndpointConfig): void {
  const received = new Uint8Array(config.connections);
  /** Accepted posts per 100 ms slot since the first one. */
  const slots: number[] = [];
  let tokens = config.throttleBurst;
  let refilledAt = performance.now();
  const totals = { accepted: 0, gone: 0, throttled: 0, malformed: 0 };
  let firstAcceptedAt: number | undefined;
  let lastAcceptedAt: number | undefined;

  const takeToken = (): boolean => {
    const now = performance.now();
    tokens = Math.min(config.throttleBurst, tokens + ((now - refilledAt) * config.throttlePerSecond) / 1000);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens--;
    return true;
  };

  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const match = request.method === 'POST' ? connectionPath.exec(request.url ?? '') : null;
      const index = match ? Number(match[1]) : -1;
      if (index < 0 || index >= config.connections) {
        totals.malformed++;
        response.writeHead(400).end();
        return;
      }
      if (!takeToken()) {
        totals.throttled++;
        response
          .writeHead(429, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'LimitExceededException' })
          .end(JSON.stringify({ message: 'Limit Exceeded' }));
        return;
      }
      const now = Date.now();
      firstAcceptedAt ??= now;
      lastAcceptedAt = now;
      const slot = Math.floor((now - firstAcceptedAt) / 100);
      slots[slot] = (slots[slot] ?? 0) + 1;
      received[index] = Math.min(255, received[index] + 1);
      setTimeout(() => {
        if (isGoneIndex(index, config.goneEvery)) {
          totals.gone++;
          response
            .writeHead(410, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'GoneException' })
            .end(JSON.stringify({ message: 'Gone' }));
        } else {
          totals.accepted++;
          response.writeHead(200).end();
        }
      }, config.delayMs);
    });
  });
  server.keepAliveTimeout = 60_000;

  const report = (): EndpointReport => {
    let lost = 0;
    let duplicated = 0;
    for (let index = 0; index < config.connections; index++) {
      if (received[index] > 1) duplicated++;
      if (received[index] === 0 && !isGoneIndex(index, config.goneEvery)) lost++;
    }
    let peakPerSecond = 0;
    for (let first = 0; first < slots.length; first++) {
      let sum = 0;
      for (let slot = first; slot < first + 10 && slot < slots.length; slot++) sum += slots[slot] ?? 0;
      peakPerSecond = Math.max(peakPerSecond, sum);
    }
    return { ...totals, lost, duplicated, peakPerSecond, firstAcceptedAt, lastAcceptedAt };
  };

  process.on('message', (message: EndpointMessage) => {
    if (message.kind === 'report') process.send?.({ kind: 'report', report: report() });
    if (message.kind === 'stop') process.exit(0);
  });
  server.listen(0, '127.0.0.1', () =>
    process.send?.({ kind: 'listening', port: (server.address() as AddressInfo).port }),
  );
}

process.once('message', (message: EndpointMessage) => {
  if (message.kind === 'configure') start(message.config);
});
// The parent's end is this process's end, whatever way the parent went.
process.on('disconnect', () => process.exit(0));
