import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Environment, optionalString, Setting } from './config';
import { ConfigurationError } from './errors';
import { MetricName, metricsNamespace, serviceName } from './metric-names';

/**
 * Structured JSON logs and the `AuthRefused` EMF metric for the two authorizers, with no dependency.
 *
 * Why the authorizers do not use Powertools like every other handler: an authorizer runs on every connect and
 * every uncached HTTP request, before the handshake or the route, and its bundle has a 40 KB budget (issue 2).
 * Powertools Logger and Metrics weigh about 31 KB minified, most of that budget. This module writes the same
 * shapes: log lines with Powertools' keys (`level`, `message`, `timestamp`, `service`, `cold_start`,
 * `function_name`, `function_request_id`, `xray_trace_id`, then the line's own fields) and an EMF record in the
 * `RealtimeGateway` namespace with the `service` dimension Powertools adds, so queries, dashboards and alarms
 * see no difference.
 */

/** Powertools' log levels and thresholds, so `LOG_LEVEL` means the same in every function. */
const levelThresholds = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
export type LogLevelName = keyof typeof levelThresholds;
export const logLevelNames = Object.keys(levelThresholds) as LogLevelName[];

/**
 * Reads `LOG_LEVEL` exactly as the Powertools handlers do: default INFO, case-insensitive, one of TRACE, DEBUG,
 * INFO, WARN, ERROR, CRITICAL, SILENT; anything else throws a {@link ConfigurationError} naming the setting.
 *
 * @example
 * readAuthorizerLogLevel({ LOG_LEVEL: 'debug' }); // 'DEBUG'
 */
export function readAuthorizerLogLevel(env: Environment): LogLevelName {
  const raw = optionalString(env, Setting.logLevel);
  if (raw === undefined) return 'INFO';
  const level = logLevelNames.find((candidate) => candidate === raw.toUpperCase());
  if (!level) {
    throw new ConfigurationError(Setting.logLevel, `must be one of ${logLevelNames.join(', ')}, got "${raw}"`);
  }
  return level;
}

export type LogFields = Record<string, unknown>;

/** The dimensions of one refusal: which authorizer, and why (a stable reason code). */
export interface RefusalDimensions {
  authorizer: 'websocket' | 'http';
  reason: string;
}

export interface AuthorizerTelemetry {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Writes one EMF record: `AuthRefused` = 1 (Count), dimensions service, authorizer and reason. */
  countRefusal(dimensions: RefusalDimensions): void;
  /**
   * Middy middleware: the invocation's request id, function name and cold-start flag go into every log line of
   * the invocation, and nothing of one invocation leaks into the next.
   */
  middleware(): MiddlewareObj;
}

export interface AuthorizerTelemetryOptions {
  level: LogLevelName;
  /** Metrics off, as Powertools understands `POWERTOOLS_METRICS_DISABLED` (the local stack sets it). */
  metricsDisabled?: boolean;
  /** Where lines go; stdout by default, one JSON object per line, which CloudWatch Logs and EMF require. */
  write?: (line: string) => void;
  now?: () => Date;
  /** `_X_AMZN_TRACE_ID`, whose `Root=` part Powertools logs as `xray_trace_id`. */
  env?: Environment;
}

/** Powertools' error shape (`name`, `message`, `stack`, `cause`), so an error logs the same in every function. */
function serializeError(error: Error, depth = 0): Record<string, unknown> {
  const serialized: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  if (error.cause !== undefined) {
    serialized.cause = error.cause instanceof Error && depth < 3 ? serializeError(error.cause, depth + 1) : error.cause;
  }
  return serialized;
}

function serializeFields(fields: LogFields): LogFields {
  const serialized: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    serialized[key] = value instanceof Error ? serializeError(value) : value;
  }
  return serialized;
}

/**
 * Builds the telemetry of an authorizer process.
 *
 * @example
 * const telemetry = createAuthorizerTelemetry({ level: readAuthorizerLogLevel(process.env) });
 * telemetry.warn('WebSocket connection refused', { reason: 'expired', carrier: 'subprotocol' });
 * telemetry.countRefusal({ authorizer: 'websocket', reason: 'expired' });
 * export const handler = middy(authorize).use(telemetry.middleware());
 */
export function createAuthorizerTelemetry(options: AuthorizerTelemetryOptions): AuthorizerTelemetry {
  const threshold = levelThresholds[options.level];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const env = options.env ?? process.env;
  let coldStart = true;
  let invocation: LogFields = {};

  const log = (level: Exclude<LogLevelName, 'SILENT'>, message: string, fields: LogFields = {}): void => {
    if (levelThresholds[level] < threshold) return;
    const traceId = /Root=([^;]+)/.exec(env._X_AMZN_TRACE_ID ?? '')?.[1];
    const line: LogFields = { level, message, timestamp: now().toISOString(), service: serviceName, ...invocation };
    if (traceId) line.xray_trace_id = traceId;
    write(JSON.stringify({ ...line, ...serializeFields(fields) }));
  };

  return {
    info: (message, fields) => log('INFO', message, fields),
    warn: (message, fields) => log('WARN', message, fields),
    error: (message, fields) => log('ERROR', message, fields),
    countRefusal({ authorizer, reason }) {
      if (options.metricsDisabled) return;
      write(
        JSON.stringify({
          _aws: {
            Timestamp: now().getTime(),
            CloudWatchMetrics: [
              {
                Namespace: metricsNamespace,
                Dimensions: [['service', 'authorizer', 'reason']],
                Metrics: [{ Name: MetricName.AuthRefused, Unit: 'Count' }],
              },
            ],
          },
          service: serviceName,
          authorizer,
          reason,
          [MetricName.AuthRefused]: 1,
        }),
      );
    },
    middleware() {
      const reset = (): void => {
        invocation = {};
      };
      return {
        before: (request) => {
          const context = request.context as Partial<Context>;
          invocation = {
            cold_start: coldStart,
            function_name: context.functionName,
            function_request_id: context.awsRequestId,
          };
          coldStart = false;
        },
        after: reset,
        onError: reset,
      };
    },
  };
}

/**
 * The metrics switch as Powertools reads it: `POWERTOOLS_METRICS_DISABLED` true (or 1) turns EMF off.
 *
 * @example
 * metricsDisabledIn({ POWERTOOLS_METRICS_DISABLED: 'true' }); // true
 */
export function metricsDisabledIn(env: Environment): boolean {
  const raw = env.POWERTOOLS_METRICS_DISABLED?.trim().toLowerCase();
  return raw === 'true' || raw === '1';
}
