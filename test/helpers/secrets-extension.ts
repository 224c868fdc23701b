import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a request to the stand-in extension carried. */
export interface ExtensionRequest {
  method: string;
  path: string;
  secretId: string | null;
  /** The `X-Aws-Parameters-Secrets-Token` header (Node lower-cases header names). */
  token: string | undefined;
}

export interface ExtensionAnswer {
  status: number;
  body: string;
}

export interface SecretsExtensionStandIn {
  port: number;
  requests: ExtensionRequest[];
  /** Changes what the next requests get. */
  answerWith(answer: (request: ExtensionRequest) => ExtensionAnswer): void;
  close(): Promise<void>;
}

/** The extension's answer for a secret string: GetSecretValue's JSON, as the layer relays it. */
export function secretAnswer(
  secretString: string,
  secretId = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
): ExtensionAnswer {
  return {
    status: 200,
    body: JSON.stringify({
      ARN: secretId,
      Name: 'jwt',
      SecretString: secretString,
      VersionId: '9a1b2c3d-0000-4000-8000-000000000001',
      VersionStages: ['AWSCURRENT'],
      CreatedDate: '2026-11-26T00:00:00.000Z',
    }),
  };
}

/**
 * A real HTTP server on a loopback port standing in for the AWS Parameters and Secrets Lambda Extension, which
 * listens on localhost inside a Lambda sandbox. It records every request and answers as told.
 *
 * @example
 * const extension = await startSecretsExtension(() => secretAnswer(testSecret));
 * const source = extensionSecretSource({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port), AWS_SESSION_TOKEN: 't' });
 */
export async function startSecretsExtension(
  initial: (request: ExtensionRequest) => ExtensionAnswer,
): Promise<SecretsExtensionStandIn> {
  let answer = initial;
  const requests: ExtensionRequest[] = [];
  const server = createServer((incoming: IncomingMessage, response) => {
    const url = new URL(incoming.url ?? '/', 'http://localhost');
    const request: ExtensionRequest = {
      method: incoming.method ?? '',
      path: url.pathname,
      secretId: url.searchParams.get('secretId'),
      token: incoming.headers['x-aws-parameters-secrets-token'] as string | undefined,
    };
    requests.push(request);
    const { status, body } = answer(request);
    response.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain' });
    response.end(body);
  });
  // `localhost` as the extension is addressed; on this machine it resolves to the IPv4 loopback first.
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  return {
    port: (server.address() as AddressInfo).port,
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
