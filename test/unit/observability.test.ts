import middy from '@middy/core';
import { ConfigurationError } from '../../lambdas/core/errors';
import {
  logger,
  logKeysOf,
  MetricName,
  metrics,
  metricsNamespace,
  observability,
  readLogLevel,
} from '../../lambdas/core/observability';
import pingFixture from '../fixtures/events/ws-message-ping.json';
import { lambdaContextFor } from '../helpers/lambda-context';

const lambdaContext = lambdaContextFor('ws-frames', { awsRequestId: 'req-1' });

/** Runs `act` and returns every JSON line written to stdout meanwhile (Logger and EMF metrics both write there). */
async function stdoutLinesOf(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await act();
  } finally {
    write.mockRestore();
  }
  return lines.map((line) => JSON.parse(line));
}

describe('readLogLevel', () => {
  it('defaults to INFO and accepts any case', () => {
    expect(readLogLevel({})).toBe('INFO');
    expect(readLogLevel({ LOG_LEVEL: 'debug' })).toBe('DEBUG');
  });

  it('names LOG_LEVEL and the accepted values when it is wrong', () => {
    expect(() => readLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(ConfigurationError);
    expect(() => readLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(
      'Configuration setting LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, SILENT, CRITICAL, got "verbose"',
    );
  });
});

describe('logKeysOf', () => {
  it('reads userId and connectionId from a WebSocket event', () => {
    expect(logKeysOf(pingFixture)).toEqual({ userId: 'user123', connectionId: 'Tq7vKdKRjoECJ1Q=' });
  });

  it('reads userId from an HTTP API event (simple responses put the context under lambda)', () => {
    expect(logKeysOf({ requestContext: { authorizer: { lambda: { userId: 'admin1' } } } })).toEqual({
      userId: 'admin1',
    });
  });

  it('gives nothing for events without identity (direct invoke)', () => {
    expect(logKeysOf({ userId: 'u', type: 'chat' })).toEqual({});
    expect(logKeysOf(undefined)).toEqual({});
  });
});

describe('observability middlewares', () => {
  it('stamps userId and connectionId on log lines of the invocation only, and flushes metrics as EMF', async () => {
    // Prepare
    const handler = middy(async (event: { note?: string; requestContext?: object }) => {
      logger.info('inside', { note: event.note });
      metrics.addMetric(MetricName.MessagesDelivered, 'Count', 2);
    }).use(observability());
    // Act
    const lines = await stdoutLinesOf(async () => {
      await handler(structuredClone(pingFixture), lambdaContext);
      await handler({ note: 'no identity' }, lambdaContext);
    });
    // Assess
    const logs = lines.filter((line) => line.message === 'inside');
    expect(logs[0]).toMatchObject({
      service: 'realtime-gateway',
      userId: 'user123',
      connectionId: 'Tq7vKdKRjoECJ1Q=',
      function_request_id: 'req-1',
    });
    expect(logs[1]).not.toHaveProperty('userId');
    expect(logs[1]).not.toHaveProperty('connectionId');
    const emf = lines.filter((line) => '_aws' in line);
    expect(emf).toHaveLength(2);
    expect(emf[0]).toMatchObject({
      MessagesDelivered: 2,
      service: 'realtime-gateway',
      _aws: { CloudWatchMetrics: [{ Namespace: metricsNamespace }] },
    });
  });

  it('publishes nothing, and warns about nothing, for an invocation that recorded no metric', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const handler = middy(async () => ({ statusCode: 200 })).use(observability());
      const lines = await stdoutLinesOf(() => handler(structuredClone(pingFixture), lambdaContext));
      expect(lines.filter((line) => line.message !== undefined && line.level !== 'INFO')).toEqual([]);
      expect(lines.filter((line) => '_aws' in line)).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      stderr.mockRestore();
    }
  });

  it("writes Metrics' own diagnostics as the service's JSON log lines, so LOG_LEVEL governs them", async () => {
    // Logger writes WARN to stderr and Metrics' default console does too: both streams are read.
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      // Act: a dimension Powertools refuses with a warning, at INFO and then at ERROR.
      metrics.addDimension('tenant', '');
      const atInfo = written.splice(0);
      logger.setLogLevel('ERROR');
      metrics.addDimension('tenant', '');
      const atError = written.splice(0);
      // Assess
      expect(atInfo.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({
          level: 'WARN',
          service: 'realtime-gateway',
          message: expect.stringContaining("The dimension tenant doesn't meet the requirements"),
        }),
      ]);
      expect(atError).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      logger.setLogLevel('INFO');
      stdout.mockRestore();
      stderr.mockRestore();
      warn.mockRestore();
    }
  });

  it('still publishes the metrics recorded before a failure', async () => {
    const handler = middy(async () => {
      metrics.addMetric(MetricName.PostsFailed, 'Count', 1);
      throw new Error('boom');
    }).use(observability());
    const lines = await stdoutLinesOf(() => expect(handler({}, lambdaContext)).rejects.toThrow('boom'));
    expect(lines.filter((line) => '_aws' in line)).toEqual([expect.objectContaining({ PostsFailed: 1 })]);
  });
});
