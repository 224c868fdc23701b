import { Logger, LogLevel } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import {
  createAuthorizerTelemetry,
  logLevelNames,
  metricsDisabledIn,
  readAuthorizerLogLevel,
} from '../../lambdas/core/authorizer-telemetry';
import { ConfigurationError } from '../../lambdas/core/errors';
import { MetricName, metricsNamespace, serviceName } from '../../lambdas/core/observability';
import { lambdaContextFor } from '../helpers/lambda-context';

const lambdaContext = lambdaContextFor('ws-authorizer');

const traceHeader = 'Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1';

type Line = Record<string, unknown>;

function captured(level: Parameters<typeof createAuthorizerTelemetry>[0]['level'] = 'DEBUG', metricsDisabled = false) {
  const lines: Line[] = [];
  const telemetry = createAuthorizerTelemetry({
    level,
    metricsDisabled,
    write: (line) => lines.push(JSON.parse(line)),
    env: { _X_AMZN_TRACE_ID: traceHeader },
  });
  return { telemetry, lines };
}

/** What Powertools writes to stdout and stderr (warnings and errors go there) while `run` runs. */
async function powertoolsLines(run: () => Promise<void>): Promise<Line[]> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written
    .flatMap((chunk) => chunk.split('\n').filter((line) => line.startsWith('{')))
    .map((line) => JSON.parse(line));
}

describe('authorizer telemetry, compared with Powertools', () => {
  const originalTrace = process.env._X_AMZN_TRACE_ID;
  beforeAll(() => {
    process.env._X_AMZN_TRACE_ID = traceHeader;
  });
  afterAll(() => {
    process.env._X_AMZN_TRACE_ID = originalTrace;
  });

  it("writes a log line whose keys are Powertools' keys, with the same values", async () => {
    // GIVEN the same warning through Powertools and through the authorizer telemetry, each in a middy handler
    const powertools = new Logger({ serviceName, logLevel: 'DEBUG' });
    const ours = captured();
    const fields = { reason: 'expired', carrier: 'subprotocol' };

    // WHEN
    const [reference] = await powertoolsLines(async () => {
      await middy(async () => powertools.warn('WebSocket connection refused', fields)).use(
        injectLambdaContext(powertools),
      )({}, lambdaContext);
    });
    await middy(async () => ours.telemetry.warn('WebSocket connection refused', fields)).use(
      ours.telemetry.middleware(),
    )({}, lambdaContext);
    const [line] = ours.lines;

    // THEN every key we write is one Powertools writes, and the shared ones agree
    expect(reference).toBeDefined();
    expect(Object.keys(line ?? {}).filter((key) => !(key in (reference ?? {})))).toEqual([]);
    // cold_start is compared by type only: Powertools' own flag has already been consumed in this test process.
    expect(typeof line?.cold_start).toBe(typeof reference?.cold_start);
    const shared = ['level', 'message', 'service', 'function_name', 'function_request_id', 'xray_trace_id'];
    const pick = (source: Line | undefined) => Object.fromEntries(shared.map((key) => [key, source?.[key]]));
    expect(pick(line)).toEqual(pick(reference));
    expect(line?.reason).toBe('expired');
    expect(Date.parse(String(line?.timestamp))).not.toBeNaN();
  });

  it('writes the same EMF record as Powertools Metrics for one refusal (but the timestamp)', () => {
    // GIVEN
    const metrics = new Metrics({ namespace: metricsNamespace, serviceName });
    metrics.addDimensions({ authorizer: 'websocket', reason: 'expired' });
    metrics.addMetric(MetricName.AuthRefused, MetricUnit.Count, 1);
    const reference = metrics.serializeMetrics() as unknown as Line & { _aws: Line };
    const ours = captured();

    // WHEN
    ours.telemetry.countRefusal({ authorizer: 'websocket', reason: 'expired' });

    // THEN
    const [record] = ours.lines as (Line & { _aws: Line })[];
    expect(typeof record?._aws.Timestamp).toBe('number');
    expect({ ...record, _aws: { ...record?._aws, Timestamp: 0 } }).toEqual({
      ...reference,
      _aws: { ...reference._aws, Timestamp: 0 },
    });
  });

  it('accepts exactly the log levels Powertools accepts', () => {
    expect([...logLevelNames].sort()).toEqual(Object.values(LogLevel).sort());
  });
});

describe('createAuthorizerTelemetry', () => {
  it('starts cold, then warm, and keeps no request id between invocations', async () => {
    const { telemetry, lines } = captured();
    const handler = middy(async () => telemetry.info('checked')).use(telemetry.middleware());

    await handler({}, lambdaContext);
    await handler({}, { ...lambdaContext, awsRequestId: 'second' });
    telemetry.info('outside any invocation');

    expect(lines.map((line) => [line.cold_start, line.function_request_id])).toEqual([
      [true, lambdaContext.awsRequestId],
      [false, 'second'],
      [undefined, undefined],
    ]);
  });

  it('writes nothing below its level, and nothing at all when SILENT', () => {
    const atWarn = captured('WARN');
    atWarn.telemetry.info('not shown');
    atWarn.telemetry.warn('shown');
    atWarn.telemetry.error('shown too');
    expect(atWarn.lines.map((line) => line.level)).toEqual(['WARN', 'ERROR']);

    const silent = captured('SILENT');
    silent.telemetry.error('not shown');
    expect(silent.lines).toEqual([]);
  });

  it('logs an error with its name, message, stack and cause', () => {
    const { telemetry, lines } = captured();
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:2773');
    telemetry.error('Token verification could not run', { error: new TypeError('fetch failed', { cause }) });
    expect(lines[0]?.error).toEqual({
      name: 'TypeError',
      message: 'fetch failed',
      stack: expect.stringContaining('TypeError: fetch failed'),
      cause: { name: 'Error', message: cause.message, stack: expect.any(String) },
    });
  });

  it('counts nothing when metrics are disabled', () => {
    const { telemetry, lines } = captured('DEBUG', true);
    telemetry.countRefusal({ authorizer: 'http', reason: 'expired' });
    expect(lines).toEqual([]);
  });
});

describe('readAuthorizerLogLevel and metricsDisabledIn', () => {
  it('reads LOG_LEVEL case-insensitively, INFO by default', () => {
    expect(readAuthorizerLogLevel({ LOG_LEVEL: 'debug' })).toBe('DEBUG');
    expect(readAuthorizerLogLevel({})).toBe('INFO');
  });

  it('refuses an unknown LOG_LEVEL, naming the setting', () => {
    const read = () => readAuthorizerLogLevel({ LOG_LEVEL: 'verbose' });
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(
      'Configuration setting LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, got "verbose"',
    );
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    [undefined, false],
  ])('POWERTOOLS_METRICS_DISABLED=%s disables metrics: %s', (value, disabled) => {
    expect(metricsDisabledIn({ POWERTOOLS_METRICS_DISABLED: value })).toBe(disabled);
  });
});
