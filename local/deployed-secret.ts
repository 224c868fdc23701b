import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The stack output holding the signing secret's ARN (`RealtimeGatewayStack`, secret mode only). A stack-level
 * `CfnOutput`'s id is its CloudFormation `OutputKey`; test/local/deployed-secret.test.ts synthesizes the stack to pin it.
 */
export const jwtSecretArnOutput = 'JwtSecretArn';

/** Where the deployed signing secret is: its ARN, or the stack whose output names it. */
export type DeployedSecretLocation = { secretArn: string; region?: string } | { stackName: string; region?: string };

/** The SDK clients {@link readDeployedSecret} uses; built from the default credential chain unless given. */
export interface DeployedSecretClients {
  cloudFormation: CloudFormationClient;
  secretsManager: SecretsManagerClient;
}

/** The secret could not be read; the message says which step failed and what to do about it. */
export class DeployedSecretError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeployedSecretError';
  }
}

const secretArnPattern = /^arn:aws[\w-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/**
 * The region a Secrets Manager ARN names, so `--secret-arn` needs no `--region`.
 *
 * @example
 * regionOfSecretArn('arn:aws:secretsmanager:eu-west-1:123456789012:secret:JwtSigningSecret-AbCdEf'); // 'eu-west-1'
 */
export function regionOfSecretArn(secretArn: string): string {
  const match = secretArnPattern.exec(secretArn);
  if (!match) {
    throw new DeployedSecretError(
      `--secret-arn must be a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>), got "${secretArn}"`,
    );
  }
  return match[1]!;
}

/**
 * Builds the two clients with the SDK's default credential chain (environment, `AWS_PROFILE` and `~/.aws`, SSO,
 * container and instance roles) and the given region, else the chain's own (`AWS_REGION`, the profile's region).
 *
 * @example
 * const clients = defaultDeployedSecretClients('eu-west-1');
 */
export function defaultDeployedSecretClients(region?: string): DeployedSecretClients {
  return {
    cloudFormation: new CloudFormationClient(region ? { region } : {}),
    secretsManager: new SecretsManagerClient(region ? { region } : {}),
  };
}

/**
 * Reads the deployed stack's HS* signing secret, by ARN or through the stack's `JwtSecretArn` output, so a tester can
 * sign tokens the stage's authorizers accept. Needs `cloudformation:DescribeStacks` (for a stack name) and
 * `secretsmanager:GetSecretValue` on the secret.
 *
 * @example
 * const secret = await readDeployedSecret({ stackName: 'RealtimeGateway-dev', region: 'eu-west-1' });
 * const token = await signDevToken(secret, 'user123');
 */
export async function readDeployedSecret(
  location: DeployedSecretLocation,
  clients?: DeployedSecretClients,
): Promise<string> {
  if ('secretArn' in location) {
    // The ARN names the secret's region; a different --region could only end in "no such secret".
    const arnRegion = regionOfSecretArn(location.secretArn);
    if (location.region !== undefined && location.region !== arnRegion) {
      throw new DeployedSecretError(`--region ${location.region} differs from the secret ARN's region ${arnRegion}`);
    }
    clients ??= defaultDeployedSecretClients(arnRegion);
  } else {
    clients ??= defaultDeployedSecretClients(location.region);
  }
  const secretArn =
    'secretArn' in location ? location.secretArn : await secretArnOfStack(clients.cloudFormation, location.stackName);
  regionOfSecretArn(secretArn);
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretArn }),
    ));
  } catch (error) {
    throw explain(error, `reading the secret ${secretArn}`, {
      ResourceNotFoundException: 'no such secret: check the ARN and the region (the ARN names its region)',
      AccessDeniedException: 'these credentials may not read it: secretsmanager:GetSecretValue on the secret is needed',
      DecryptionFailure: 'its KMS key refused to decrypt it for these credentials (kms:Decrypt)',
    });
  }
  if (secretString === undefined || secretString === '') {
    throw new DeployedSecretError(
      `the secret ${secretArn} holds no string (a binary secret?): the stack's signing secret is a SecretString`,
    );
  }
  return secretString;
}

async function secretArnOfStack(cloudFormation: CloudFormationClient, stackName: string): Promise<string> {
  let region: string;
  try {
    region = await cloudFormation.config.region();
  } catch (error) {
    // The SDK's missing-region error is a plain Error; asking for the region alone needs no telling errors apart.
    throw new DeployedSecretError(`describing the stack ${stackName}: no AWS region: pass --region or set AWS_REGION`, {
      cause: error,
    });
  }
  let outputs: { OutputKey?: string; OutputValue?: string }[] | undefined;
  try {
    const { Stacks: stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = stacks?.[0]?.Outputs;
  } catch (error) {
    throw explain(error, `describing the stack ${stackName} in ${region}`, {
      // DescribeStacks answers a missing stack with a ValidationError ("Stack with id X does not exist").
      ValidationError: `no such stack in this region: check --stack (e.g. RealtimeGateway-prod) and --region`,
      AccessDeniedException: 'these credentials may not describe it: cloudformation:DescribeStacks is needed',
    });
  }
  const output = outputs?.find((candidate) => candidate.OutputKey === jwtSecretArnOutput)?.OutputValue;
  if (!output) {
    const keys = (outputs ?? []).map((candidate) => candidate.OutputKey).join(', ') || 'none';
    throw new DeployedSecretError(
      `the stack ${stackName} has no ${jwtSecretArnOutput} output (its outputs: ${keys}): it was deployed with ` +
        '-c jwtMode=jwks, where tokens come from the identity provider, or it is not a realtime-gateway stack',
    );
  }
  return output;
}

/** Turns an SDK error into one sentence naming the step and the fix; errors are matched by name, never by message. */
function explain(error: unknown, step: string, byName: Record<string, string>): DeployedSecretError {
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? String(error);
  if (name === 'CredentialsProviderError') {
    return new DeployedSecretError(
      `${step}: no AWS credentials found by the default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE and ~/.aws, SSO, ` +
        'instance roles): run `aws configure sso` / `aws sso login`, or set AWS_PROFILE',
      { cause: error },
    );
  }
  const hint = byName[name];
  return new DeployedSecretError(`${step}: ${hint ?? `${name || 'error'}: ${message}`}${hint ? ` (${message})` : ''}`, {
    cause: error,
  });
}
