import { Logger, LogLevel } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { type Environment, optionalString, Setting } from './config';
import { ConfigurationError } from './errors';
import { metricsNamespace, serviceName } from './metric-names';

/**
 * Structured JSON logs and EMF metrics, one Logger and one Metrics per process, shared by every handler.
 * The old server's `DEBUG=...` becomes `LOG_LEVEL=DEBUG`.
 */

// Declared in a dependency-free module so the authorizers, which cannot afford Powertools, share them.
export { MetricName, metricsNamespace, serviceName } from './metric-names';

type PowertoolsLogLevel = (typeof LogLevel)[keyof typeof LogLevel];
const logLevels = Object.values(LogLevel) as PowertoolsLogLevel[];

/**
 * Reads `LOG_LEVEL` (default INFO; case-insensitive; one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT).
 *
 * @example
 * readLogLevel({ LOG_LEVEL: 'debug' }); // 'DEBUG'
 */
export function readLogLevel(env: Environment): PowertoolsLogLevel {
  const raw = optionalString(env, Setting.logLevel);
  if (raw === undefined) return LogLevel.INFO;
  const level = logLevels.find((candidate) => candidate === raw.toUpperCase());
  if (!level) throw new ConfigurationError(Setting.logLevel, `must be one of ${logLevels.join(', ')}, got "${raw}"`);
  return level;
}

/**
 * The process's logger.
 *
 * @example
 * logger.info('connection registered', { connectionId });
 */
export const logger = new Logger({ serviceName, logLevel: readLogLevel(process.env) });

/**
 * The process's metrics, flushed after each invocation by {@link observability}. Powertools' own warnings (a
 * refused dimension, an invalid metric) go through {@link logger}: JSON lines with the invocation's keys, silenced
 * by `LOG_LEVEL` like every other line, instead of plain text on stderr.
 *
 * @example
 * metrics.addMetric(MetricName.ConnectionsOpened, MetricUnit.Count, 1);
 */
export const metrics = new Metrics({ namespace: metricsNamespace, serviceName, logger });

/** The parts of an API Gateway event that identify who and which connection an invocation is about. */
interface IdentifiableEvent {
  requestContext?: {
    connectionId?: string;
    requestId?: string;
    /** WebSocket: the context itself; HTTP API (simple responses): under `lambda`. */
    authorizer?: { userId?: unknown; lambda?: { userId?: unknown } } | null;
  };
}

/**
 * The log keys an event carries: the caller's userId (WebSocket authorizer context, or the HTTP API's
 * `authorizer.lambda`) and, on WebSocket routes, the connectionId.
 *
 * @example
 * logKeysOf({ requestContext: { connectionId: 'abc=', authorizer: { userId: 'user123' } } });
 * // { userId: 'user123', connectionId: 'abc=' }
 */
export function logKeysOf(event: unknown): { userId?: string; connectionId?: string } {
  const context = (event as IdentifiableEvent | null | undefined)?.requestContext;
  const keys: { userId?: string; connectionId?: string } = {};
  const userId = context?.authorizer?.userId ?? context?.authorizer?.lambda?.userId;
  if (typeof userId === 'string') keys.userId = userId;
  if (typeof context?.connectionId === 'string') keys.connectionId = context.connectionId;
  return keys;
}

/**
 * Appends the event's userId and connectionId to every log line of the invocation.
 *
 * @example
 * export const handler = middy(core).use(appendEventLogKeys());
 */
export function appendEventLogKeys(target: Logger = logger): MiddlewareObj {
  return {
    before: (request) => {
      target.appendKeys(logKeysOf(request.event));
    },
  };
}

/**
 * Publishes the invocation's metrics (EMF on stdout) after it ends, whether it succeeded or threw. Unlike
 * Powertools' `logMetrics`, an invocation that recorded nothing publishes nothing: `logMetrics` would log a
 * "No application metrics to publish" warning on every such invocation (every `ping`, every allowed `$connect`).
 *
 * @example
 * export const handler = middy(core).use(flushMetrics());
 */
export function flushMetrics(target: Metrics = metrics): MiddlewareObj {
  const flush = (): void => {
    if (target.hasStoredMetrics()) target.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/**
 * The observability middlewares every handler uses, in order: Lambda context in the logs (keys reset after each
 * invocation, so one caller's userId never leaks into the next invocation's lines), the event's userId and
 * connectionId as log keys, and the invocation's metrics flushed at its end.
 *
 * @example
 * export const handler = middy(core).use(observability());
 */
export function observability(): MiddlewareObj[] {
  return [
    injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj,
    appendEventLogKeys(logger),
    flushMetrics(metrics),
  ];
}
