import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { addRealtimeGateway } from '../../lib/gateway-app';
import { testAppContext } from './app-context';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const outdirs: string[] = [];
const newOutdir = () => {
  const outdir = mkdtempSync(join(tmpdir(), 'gateway-nag-'));
  outdirs.push(outdir);
  return outdir;
};
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/**
 * cdk-nag 3 runs as a policy-validation plugin at synthesis: unacknowledged findings make `synth()` throw and are
 * written to validation-report.json (they are not stack annotations any more). Returns every finding.
 */
function nagFindings(app: App, outdir: string): string[] {
  let thrown: unknown;
  try {
    app.synth();
  } catch (error) {
    thrown = error;
  }
  const reportPath = join(outdir, 'validation-report.json');
  const report: ValidationReport = existsSync(reportPath)
    ? JSON.parse(readFileSync(reportPath, 'utf8'))
    : { pluginReports: [] };
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => `${violation.ruleName} at ${construct.constructPath}`),
    ),
  );
  if (thrown && findings.length === 0) throw thrown;
  return findings;
}

/** Every acknowledged rule in the tree, with its reason. */
function acknowledgements(app: App): { path: string; rule: string; reason: unknown }[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([rule, reason]) => ({
          path: construct.node.path,
          rule,
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions on the app', () => {
  it.each([
    ['secret mode', {}],
    [
      'JWKS mode with origins',
      {
        jwtMode: 'jwks',
        jwksUrl: 'https://issuer.example.com/jwks.json',
        jwtIssuer: 'https://issuer.example.com/',
        jwtAudience: 'realtime',
        allowedOrigins: 'https://app.example.com',
        apiGatewayLogRole: 'true',
      },
    ],
    // The alarm topic, its key and the email subscription; and the stack without any of them.
    ['alarms with an email subscription', { alarmEmail: 'oncall@example.com' }],
    ['alarms and dashboard off', { alarms: 'false', dashboard: 'false' }],
  ])('has no unacknowledged finding in %s', (_mode, context) => {
    // GIVEN the app exactly as bin/app.ts builds it
    const outdir = newOutdir();
    const app = new App({ outdir, context: testAppContext(context) });
    addRealtimeGateway(app);
    // WHEN / THEN
    expect(nagFindings(app, outdir)).toEqual([]);
  });

  it('reports a finding nobody acknowledged (the check above can fail)', () => {
    // GIVEN the app plus a secret without rotation and without an acknowledgement
    const outdir = newOutdir();
    const app = new App({ outdir, context: testAppContext() });
    addRealtimeGateway(app);
    new secretsmanager.Secret(new Stack(app, 'Unrelated'), 'Unacknowledged');
    // WHEN / THEN
    expect(nagFindings(app, outdir)).toEqual(['AwsSolutions-SMG4 at Unrelated/Unacknowledged/Resource']);
  });

  it('gives every acknowledgement a reason that explains it', () => {
    const app = new App({ outdir: newOutdir(), context: testAppContext() });
    addRealtimeGateway(app);
    const acknowledged = acknowledgements(app);
    expect(acknowledged.map((entry) => entry.rule)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('AwsSolutions-SMG4'),
        expect.stringContaining('AwsSolutions-APIG4'),
        expect.stringContaining('AwsSolutions-IAM5'),
      ]),
    );
    for (const { path, reason } of acknowledged) {
      expect([path, typeof reason]).toEqual([path, 'string']);
      expect([path, (reason as string).length >= 60]).toEqual([path, true]);
    }
  });

  it('acknowledges APIG4 on the WebSocket routes without an authorizer only, never on $connect or HTTP routes', () => {
    const app = new App({ outdir: newOutdir(), context: testAppContext() });
    addRealtimeGateway(app);
    const paths = acknowledgements(app)
      .filter((entry) => entry.rule.includes('APIG4'))
      .map((entry) => entry.path.replace(/^.*\/WebSocketApi\//, ''))
      .sort();
    expect(paths).toEqual([
      '$default-Route',
      '$disconnect-Route',
      'hello-Route',
      'join-Route',
      'leave-Route',
      'members-Route',
      'ping-Route',
      'resume-Route',
      'send-Route',
    ]);
  });
});

describe('bin/app.ts', () => {
  const runApp = (context: Record<string, unknown>) => {
    const outdir = newOutdir();
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(__dirname, '..', '..'),
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(testAppContext(context)),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { ...result, outdir };
  };

  it('synthesizes one stack per stage, named after the stage', () => {
    const { status, stderr, outdir } = runApp({ stageName: 'dev' });
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(existsSync(join(outdir, 'RealtimeGateway-dev.template.json'))).toBe(true);
  });

  it('exits 1 on a mistyped context key, naming the closest known key', () => {
    // `cdk synth -c stagename=dev` used to deploy the default stage "prod" without a word.
    const { status, stderr, outdir } = runApp({ stagename: 'dev' });
    expect({ status, stderr: stderr.trim() }).toEqual({
      status: 1,
      stderr:
        'CDK context "stagename" is not a key this app reads: did you mean "stageName"? Every key is in docs/configuration.md',
    });
    expect(existsSync(join(outdir, 'RealtimeGateway-prod.template.json'))).toBe(false);
  });

  it('exits 1 with the bad key named and no stack trace', () => {
    const { status, stderr } = runApp({ connectionTtlSeconds: '60' });
    expect(status).toBe(1);
    expect(stderr.trim()).toBe('CDK context "connectionTtlSeconds" must be at least 7800, got 60');
  });
});
