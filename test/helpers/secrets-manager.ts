import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { referenceAuthorizationFor } from './sigv4-reference';

/** The credentials the stand-in expects requests to be signed with (never real ones). */
export const standInCredentials = {
  AWS_ACCESS_KEY_ID: 'ASIASTANDINEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'stand-in-secret-access-key',
  AWS_SESSION_TOKEN: 'stand-in-session-token',
} as const;

/** What a request to the stand-in carried. */
export interface SecretsManagerRequest {
  method: string;
  path: string;
  /** `X-Amz-Target`, e.g. `secretsmanager.GetSecretValue`. */
  target: string | undefined;
  contentType: string | undefined;
  /** The body's `SecretId`. */
  secretId: unknown;
  sessionToken: string | undefined;
  /** The credential scope of the `Authorization` header (`{key id}/{day}/{region}/{service}/aws4_request`). */
  credentialScope: string | undefined;
  /** The `Authorization` header equals the one `@smithy/signature-v4` computes from what arrived. */
  signatureValid: boolean;
}

export interface SecretsManagerAnswer {
  status: number;
  body: string;
}

export interface SecretsManagerStandIn {
  /** Base URL, for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  url: string;
  /** The environment a verifier on Lambda would have, pointed at this stand-in. */
  environment: Record<string, string>;
  requests: SecretsManagerRequest[];
  /** Changes what the next requests get. */
  answerWith(answer: (request: SecretsManagerRequest) => SecretsManagerAnswer): void;
  close(): Promise<void>;
}

/** GetSecretValue's answer for a secret string, as Secrets Manager's JSON protocol gives it. */
export function secretAnswer(
  secretString: string,
  secretId = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
): SecretsManagerAnswer {
  return {
    status: 200,
    body: JSON.stringify({
      ARN: secretId,
      Name: 'jwt',
      SecretString: secretString,
      VersionId: '9a1b2c3d-0000-4000-8000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: 1795651200.123,
    }),
  };
}

/**
 * An error as the awsJson1_1 protocol Secrets Manager speaks answers it: the shape name in `__type` (it may carry
 * a namespace before `#`) and in the `X-Amzn-Errortype` header (which may carry `:` and a URL after it), the text
 * in `message`. Source: Smithy's AWS JSON 1.1 protocol specification, "Operation error serialization"
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html); the error names are GetSecretValue's "Errors"
 * in the Secrets Manager API reference.
 */
export function errorAnswer(status: number, type: string, message: string): SecretsManagerAnswer {
  return { status, body: JSON.stringify({ __type: `com.amazonaws.secretsmanager#${type}`, message }) };
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Recomputes the signature with the SDK's signer over the headers the request says it signed. */
async function signatureIsValid(request: IncomingMessage, body: string): Promise<boolean> {
  const authorization = headerOf(request, 'authorization') ?? '';
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
      authorization,
    );
  const amzDate = headerOf(request, 'x-amz-date');
  if (!match || !amzDate) return false;
  const [, accessKeyId, , region, service, signedHeaders] = match;
  if (accessKeyId !== standInCredentials.AWS_ACCESS_KEY_ID) return false;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) headers[name] = headerOf(request, name) ?? '';
  const date = new Date(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const expected = await referenceAuthorizationFor(
    { method: request.method ?? '', url: new URL(request.url ?? '/', `http://${headers.host}`), headers, body },
    {
      credentials: {
        accessKeyId,
        secretAccessKey: standInCredentials.AWS_SECRET_ACCESS_KEY,
        sessionToken: headerOf(request, 'x-amz-security-token'),
      },
      region,
      service,
      date,
    },
  );
  return expected === authorization;
}

/**
 * A real HTTP server on a loopback port standing in for the Secrets Manager endpoint: it checks each request's
 * SigV4 signature with the SDK's own signer, records what arrived and answers as told.
 *
 * @example
 * const secretsManager = await startSecretsManager(() => secretAnswer(testSecret));
 * const source = secretsManagerSecretSource(secretsManager.environment);
 */
export async function startSecretsManager(
  initial: (request: SecretsManagerRequest) => SecretsManagerAnswer,
): Promise<SecretsManagerStandIn> {
  let answer = initial;
  const requests: SecretsManagerRequest[] = [];
  const server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let secretId: unknown;
    try {
      secretId = JSON.parse(body).SecretId;
    } catch {
      secretId = undefined;
    }
    const request: SecretsManagerRequest = {
      method: incoming.method ?? '',
      path: incoming.url ?? '',
      target: headerOf(incoming, 'x-amz-target'),
      contentType: headerOf(incoming, 'content-type'),
      secretId,
      sessionToken: headerOf(incoming, 'x-amz-security-token'),
      credentialScope: /Credential=([^,]+),/.exec(headerOf(incoming, 'authorization') ?? '')?.[1],
      signatureValid: await signatureIsValid(incoming, body),
    };
    requests.push(request);
    const { status, body: answerBody } = answer(request);
    const type = status === 200 ? undefined : /#(\w+)/.exec(answerBody)?.[1];
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      ...(type ? { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.secretsmanager/` } : {}),
    });
    response.end(answerBody);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    environment: { ...standInCredentials, AWS_ENDPOINT_URL_SECRETS_MANAGER: url },
    requests,
    answerWith: (next) => {
      answer = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
