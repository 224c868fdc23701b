import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createTokenVerifier, readJwtConfig, TokenRejectedError } from '../../lambdas/core/jwt';
import { RealtimeGatewayStack } from '../../lib/realtime-gateway-stack';
import { parseTokenArguments, tokenUsage } from '../../local/cli-arguments';
import { DeployedSecretError, jwtSecretArnOutput, readDeployedSecret } from '../../local/deployed-secret';
import { runTokenCommand } from '../../local/token-command';

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:GatewayJwtSigningSecret-AbCdEf';
// The shape the stack generates: 64 letters and digits.
const deployedSecret = 'k7P2vQ9xR4mT8wY1zB6nC3dF5gH0jL2sA9eU4iO7pK1rV8tX6yZ3qW5bN2mJ0hG';
const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);

function stackWithOutputs(outputs: Record<string, string>) {
  return {
    Stacks: [
      {
        StackName: 'RealtimeGateway-dev',
        StackStatus: 'CREATE_COMPLETE' as const,
        CreationTime: new Date('2026-11-27T10:00:00Z'),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}

function sdkError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

const clients = () => ({
  cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }),
  secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
});

beforeEach(() => {
  cloudFormation.reset();
  secretsManager.reset();
});

describe('readDeployedSecret', () => {
  it("finds the secret through the stack's JwtSecretArn output and reads its string", async () => {
    // Arrange
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'RealtimeGateway-dev' })
      .resolves(stackWithOutputs({ WebSocketUrl: 'wss://x', [jwtSecretArnOutput]: secretArn }));
    secretsManager.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: deployedSecret });

    // Act
    const secret = await readDeployedSecret({ stackName: 'RealtimeGateway-dev' }, clients());

    // Assess
    expect(secret).toBe(deployedSecret);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'RealtimeGateway-dev' });
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: secretArn });
  });

  it('reads by ARN without asking CloudFormation', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: deployedSecret });
    await expect(readDeployedSecret({ secretArn }, clients())).resolves.toBe(deployedSecret);
    expect(cloudFormation).not.toHaveReceivedAnyCommand();
  });

  it('names the stack and region when there is no such stack', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(sdkError('ValidationError', 'Stack with id Nope does not exist'));
    const failure = readDeployedSecret({ stackName: 'Nope' }, clients());
    await expect(failure).rejects.toThrow(DeployedSecretError);
    await expect(failure).rejects.toThrow(
      'describing the stack Nope in eu-west-1: no such stack in this region: check --stack (e.g. RealtimeGateway-prod) and --region (Stack with id Nope does not exist)',
    );
  });

  it('says the stack has no JwtSecretArn output (jwks mode) and lists the outputs it has', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs({ WebSocketUrl: 'wss://x', HttpApiUrl: 'h' }));
    await expect(readDeployedSecret({ stackName: 'RealtimeGateway-dev' }, clients())).rejects.toThrow(
      'the stack RealtimeGateway-dev has no JwtSecretArn output (its outputs: WebSocketUrl, HttpApiUrl): it was deployed with -c jwtMode=jwks',
    );
    expect(secretsManager).not.toHaveReceivedAnyCommand();
  });

  it('refuses a secret that holds no string', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    await expect(readDeployedSecret({ secretArn }, clients())).rejects.toThrow(
      `the secret ${secretArn} holds no string (a binary secret?)`,
    );
  });

  it('says when the default chain finds no credentials', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(sdkError('CredentialsProviderError', 'Could not load credentials'));
    await expect(readDeployedSecret({ secretArn }, clients())).rejects.toThrow(
      `reading the secret ${secretArn}: no AWS credentials found by the default chain`,
    );
  });

  it('names the missing permission when access is denied', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(sdkError('AccessDeniedException', 'not authorized'));
    await expect(readDeployedSecret({ secretArn }, clients())).rejects.toThrow(
      'these credentials may not read it: secretsmanager:GetSecretValue on the secret is needed (not authorized)',
    );
  });

  it('says when no region is configured for a stack name', async () => {
    const noRegion = new CloudFormationClient({
      region: async () => {
        throw new Error('Region is missing');
      },
    });
    await expect(
      readDeployedSecret({ stackName: 'RealtimeGateway-dev' }, { ...clients(), cloudFormation: noRegion }),
    ).rejects.toThrow('describing the stack RealtimeGateway-dev: no AWS region: pass --region or set AWS_REGION');
    expect(cloudFormation).not.toHaveReceivedAnyCommand();
  });

  it('refuses a malformed ARN, and a --region that contradicts the ARN', async () => {
    await expect(readDeployedSecret({ secretArn: 'JwtSigningSecret' })).rejects.toThrow(
      '--secret-arn must be a Secrets Manager ARN',
    );
    await expect(readDeployedSecret({ secretArn, region: 'us-east-1' })).rejects.toThrow(
      "--region us-east-1 differs from the secret ARN's region eu-west-1",
    );
    expect(secretsManager).not.toHaveReceivedAnyCommand();
  });

  it('reads the output key the deployable stack really declares (GIVEN the stack WHEN synthesized THEN it has it)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new RealtimeGatewayStack(app, 'RealtimeGateway-dev'));
    template.hasOutput(jwtSecretArnOutput, {});
  });
});

describe('npm run token', () => {
  it("mints a token with a deployed stack's secret that the core's verifier accepts, and only with that secret", async () => {
    // Arrange: the real default clients (region from --region), their calls answered by the mocks.
    cloudFormation.on(DescribeStacksCommand).resolves(stackWithOutputs({ [jwtSecretArnOutput]: secretArn }));
    secretsManager.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: deployedSecret });

    // Act
    const token = await runTokenCommand([
      'user123',
      '--scope',
      'ws:admin ws:broadcast',
      '--ttl',
      '15m',
      '--stack',
      'RealtimeGateway-dev',
      '--region',
      'eu-west-1',
    ]);

    // Assess: the authorizers' verifier, configured as on AWS after it read the secret.
    const identity = await createTokenVerifier(readJwtConfig({ JWT_SECRET: deployedSecret })).verify(token);
    expect(identity).toMatchObject({ userId: 'user123', permissions: ['ws:admin', 'ws:broadcast'] });
    expect(identity.expiresAt - Math.floor(Date.now() / 1000)).toBeGreaterThan(14 * 60);
    expect(identity.expiresAt - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(15 * 60);
    const otherSecret = readJwtConfig({ JWT_SECRET: deployedSecret.replace('k7', 'q3') });
    await expect(createTokenVerifier(otherSecret).verify(token)).rejects.toThrow(TokenRejectedError);
  });

  it('signs with the secret an ARN names', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: secretArn }).resolves({ SecretString: deployedSecret });
    const token = await runTokenCommand(['user456', '--secret-arn', secretArn]);
    await expect(createTokenVerifier(readJwtConfig({ JWT_SECRET: deployedSecret })).verify(token)).resolves.toEqual(
      expect.objectContaining({ userId: 'user456', permissions: [] }),
    );
    expect(cloudFormation).not.toHaveReceivedAnyCommand();
  });

  it('keeps the local secret as the default, and checks the ttl before any AWS call', async () => {
    const readDeployed = jest.fn();
    const token = await runTokenCommand(['user789'], {
      env: {},
      readLocalSecret: async () => 'a-local-development-secret-of-32-bytes!',
      readDeployedSecret: readDeployed,
    });
    const verifier = createTokenVerifier(readJwtConfig({ JWT_SECRET: 'a-local-development-secret-of-32-bytes!' }));
    await expect(verifier.verify(token)).resolves.toEqual(expect.objectContaining({ userId: 'user789' }));
    await expect(
      runTokenCommand(['user789', '--ttl', 'soon', '--stack', 'S'], { readDeployedSecret: readDeployed }),
    ).rejects.toThrow('ttl must look like');
    expect(readDeployed).not.toHaveBeenCalled();
  });

  it('refuses two secrets at once, and --region without an AWS secret', () => {
    expect(() => parseTokenArguments(['u', '--secret', 'x', '--stack', 'S'])).toThrow(
      'give one signing secret: --secret and --stack cannot be used together',
    );
    expect(() => parseTokenArguments(['u', '--secret-arn', secretArn, '--stack', 'S'])).toThrow(
      '--secret-arn and --stack',
    );
    expect(() => parseTokenArguments(['u', '--region', 'eu-west-1'])).toThrow(
      '--region goes with --stack or --secret-arn',
    );
  });

  it('--help lists every option it accepts, and accepts every option it lists', async () => {
    await expect(runTokenCommand(['--help'])).resolves.toBe(tokenUsage);
    const listed = new Set(tokenUsage.match(/--[a-z][a-z-]*/g));
    expect([...listed].sort()).toEqual([
      '--help',
      '--region',
      '--scope',
      '--secret',
      '--secret-arn',
      '--stack',
      '--ttl',
    ]);
    for (const option of listed) {
      const argv = option === '--help' ? [option] : ['user123', option, 'value'];
      const withAwsSecret = option === '--region' ? [...argv, '--stack', 'S'] : argv;
      expect(() => parseTokenArguments(withAwsSecret)).not.toThrow();
    }
    expect(() => parseTokenArguments(['user123', '--profile', 'dev'])).toThrow("Unknown option '--profile'");
  });
});
