import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { addRealtimeGateway } from '../../lib/gateway-app';
import { testAppContext } from './app-context';

/** Every region of the `aws` partition that CDK's region facts list (eu-central-2, ap-southeast-7, ...). */
const awsRegions = RegionInfo.regions.filter((region) => region.partition === 'aws').map((region) => region.name);
const knownRegions = new Set(RegionInfo.regions.map((region) => region.name));

/**
 * The `aws`-partition regions each region-keyed mapping of a template lacks. A region-agnostic template resolves
 * region-specific values (a layer ARN, an account id) through `Fn::FindInMap` over such a mapping; deploying it in
 * a region the mapping lacks fails. The Parameters and Secrets layer's mapping covered 21 regions.
 */
function regionMappingGaps(template: Template): Record<string, string[]> {
  const gaps: Record<string, string[]> = {};
  for (const [name, mapping] of Object.entries(template.toJSON().Mappings ?? {})) {
    const keys = Object.keys(mapping as object);
    if (!keys.some((key) => knownRegions.has(key))) continue;
    const missing = awsRegions.filter((region) => !keys.includes(region));
    if (missing.length > 0) gaps[name] = missing;
  }
  return gaps;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/** The app as bin/app.ts builds it (cdk-nag included), with context and an optional region. */
function synthesizeApp(context: Record<string, unknown>, region?: string): Template {
  const outdir = mkdtempSync(join(tmpdir(), 'gateway-regions-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: testAppContext(context) });
  const stack = addRealtimeGateway(app, region ? { account: '123456789012', region } : undefined);
  app.synth();
  return Template.fromStack(stack);
}

const jwksMode = {
  jwtMode: 'jwks',
  jwksUrl: 'https://issuer.example.com/jwks.json',
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: 'realtime',
};

describe('every commercial region', () => {
  it('knows the regions the Parameters and Secrets layer map lacked (the check below covers them)', () => {
    expect(awsRegions).toEqual(expect.arrayContaining(['eu-central-2', 'ap-southeast-7', 'mx-central-1', 'ca-west-1']));
  });

  it.each([
    ['secret mode', {}],
    ['JWKS mode', jwksMode],
  ])(
    'synthesizes a region-agnostic template in %s with no region-keyed mapping missing an aws region',
    (_mode, context) => {
      expect(regionMappingGaps(synthesizeApp(context))).toEqual({});
    },
  );

  it('synthesizes with an explicit env in eu-central-2, a region the old layer map lacked', () => {
    // WHEN (cdk-nag runs too: synth throws on an unacknowledged finding)
    const template = synthesizeApp({ stageName: 'zurich' }, 'eu-central-2');

    // THEN the verifiers may read the secret, with no layer and no mapping
    template.hasResourceProperties('AWS::SecretsManager::Secret', {});
    expect(Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Layers)).toEqual(
      expect.not.arrayContaining([expect.anything()]),
    );
    expect(template.toJSON().Mappings).toBeUndefined();
  });

  it('finds the gap a region-keyed mapping leaves (the check above can fail)', () => {
    // GIVEN a region-agnostic function with the Parameters and Secrets layer, as the verifiers had it
    const app = new App({ context: testAppContext() });
    const stack = new Stack(app, 'WithLayer');
    new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {};'),
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103),
    });

    // WHEN
    const gaps = Object.values(regionMappingGaps(Template.fromStack(stack))).flat();

    // THEN
    expect(gaps).toEqual(expect.arrayContaining(['eu-central-2', 'ap-southeast-7', 'mx-central-1']));
  });
});
