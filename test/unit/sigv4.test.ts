import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  canonicalPath,
  type SigV4Credentials,
  type SigV4Request,
  SigV4Signer,
  signRequest,
} from '../../lambdas/core/sigv4';
import { referenceAuthorizationFor } from '../helpers/sigv4-reference';

// Every signature here is compared with @smithy/signature-v4, the AWS SDK's signer, given the same request with
// only the headers SigV4 requires (host; it adds x-amz-date and the session token itself).

const credentials: SigV4Credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const temporary: SigV4Credentials = {
  ...credentials,
  sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQ+token=',
};

function requestOf(overrides: Partial<SigV4Request> = {}): SigV4Request {
  return {
    method: 'POST',
    hostname: 'abc123.execute-api.eu-west-1.amazonaws.com',
    path: '/prod/@connections/L0SM9cOFvHcCIhw%3D',
    headers: { 'content-type': 'application/octet-stream', 'user-agent': 'aws-sdk-js/3' },
    body: new TextEncoder().encode('{"type":"system","data":{"message":"hi"}}'),
    ...overrides,
  };
}

async function reference(
  request: SigV4Request,
  scope: { credentials: SigV4Credentials; region: string; service: string; date: Date },
): Promise<string> {
  const signer = new SignatureV4({ ...scope, sha256: Sha256, applyChecksum: false });
  const host = request.port === undefined ? request.hostname : `${request.hostname}:${request.port}`;
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'https:',
      hostname: request.hostname,
      port: request.port,
      path: request.path,
      query: request.query as Record<string, string>,
      headers: { host },
      body: request.body,
    }),
    { signingDate: scope.date },
  );
  return String(signed.headers.authorization);
}

const at = new Date('2026-11-27T13:05:09.123Z');
const scopeAt = (date: Date, withCredentials: SigV4Credentials = credentials) => ({
  credentials: withCredentials,
  region: 'eu-west-1',
  service: 'execute-api',
  date,
});

describe('SigV4Signer, checked against @smithy/signature-v4', () => {
  it.each<[string, Partial<SigV4Request>]>([
    ['a post with a binary body', {}],
    ['a post with a string body', { body: '{"type":"system","data":"é ✓"}' }],
    ['an empty string body', { body: '' }],
    ['a GET without body', { method: 'GET', body: undefined }],
    ['a DELETE without body', { method: 'DELETE', body: undefined }],
    ['an id with + / = encoded', { path: '/prod/@connections/a%2Bb%2Fc%3D' }],
    ['an id with reserved characters', { path: `/prod/@connections/${encodeURIComponent("it's (x)*!")}` }],
    ['an id with spaces and unicode', { path: `/prod/@connections/${encodeURIComponent('a b ✓')}` }],
    ['dot segments and double slashes', { path: '/prod/./x/../@connections//abc%3D' }],
    ['a trailing slash', { path: '/prod/@connections/' }],
    ['the root path', { path: '/' }],
    ['a port', { port: 3001, hostname: '127.0.0.1' }],
    ['a query', { query: { b: 'two words', a: 'x=1&y', 'Z*': '(z)' } }],
    ['a query with repeated keys', { query: { k: ['b', 'a', 'c'], j: 'v' } }],
  ])('%s', async (_name, overrides) => {
    const request = requestOf(overrides);
    new SigV4Signer().sign(request, scopeAt(at));
    expect(request.headers.authorization).toBe(await reference(requestOf(overrides), scopeAt(at)));
  });

  it('signs exactly host and x-amz-date, leaving the other headers unsigned, and sets both', async () => {
    const request = requestOf();
    new SigV4Signer().sign(request, scopeAt(at));
    expect(request.headers.authorization).toContain('SignedHeaders=host;x-amz-date,');
    expect(request.headers.host).toBe('abc123.execute-api.eu-west-1.amazonaws.com');
    expect(request.headers['x-amz-date']).toBe('20261127T130509Z');
    expect(request.headers['x-amz-security-token']).toBeUndefined();
  });

  it('signs and sends the session token of temporary credentials (Lambda role credentials)', async () => {
    const request = requestOf();
    new SigV4Signer().sign(request, scopeAt(at, temporary));
    expect(request.headers['x-amz-security-token']).toBe(temporary.sessionToken);
    expect(request.headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
    expect(request.headers.authorization).toBe(await reference(requestOf(), scopeAt(at, temporary)));
  });

  it('removes a session token left from an earlier signature when the credentials no longer have one', async () => {
    const signer = new SigV4Signer();
    const request = requestOf();
    signer.sign(request, scopeAt(at, temporary));
    signer.sign(request, scopeAt(at, credentials));
    expect(request.headers['x-amz-security-token']).toBeUndefined();
    expect(request.headers.authorization).toBe(await reference(requestOf(), scopeAt(at)));
  });

  it('keeps an existing host header (what the request will carry) rather than rebuilding it', async () => {
    const request = requestOf({ headers: { host: 'custom.example.com' } });
    new SigV4Signer().sign(request, scopeAt(at));
    expect(request.headers.host).toBe('custom.example.com');
    expect(request.headers.authorization).toBe(
      await reference(requestOf({ hostname: 'custom.example.com' }), scopeAt(at)),
    );
  });

  it('derives a new signing key when the day changes (one signer across midnight)', async () => {
    const signer = new SigV4Signer();
    const before = new Date('2026-11-27T23:59:59.900Z');
    const after = new Date('2026-11-28T00:00:00.100Z');
    for (const date of [before, after, before]) {
      const request = requestOf();
      signer.sign(request, scopeAt(date));
      expect(request.headers.authorization).toBe(await reference(requestOf(), scopeAt(date)));
    }
  });

  it('derives a new signing key when the credentials rotate, the region or the service changes', async () => {
    const signer = new SigV4Signer();
    const rotated: SigV4Credentials = { accessKeyId: 'AKIDROTATED', secretAccessKey: 'another-secret' };
    const scopes = [
      scopeAt(at),
      scopeAt(at, rotated),
      { ...scopeAt(at), region: 'us-east-1' },
      { ...scopeAt(at), service: 'execute-api-other' },
      scopeAt(at),
    ];
    for (const scope of scopes) {
      const request = requestOf();
      signer.sign(request, scope);
      expect(request.headers.authorization).toBe(await reference(requestOf(), scope));
    }
  });

  it('hashes each body array it is given: a second message is signed over its own bytes', async () => {
    const signer = new SigV4Signer();
    const first = new TextEncoder().encode('first message');
    const second = new TextEncoder().encode('second message');
    for (const body of [first, first, second, first]) {
      const request = requestOf({ body });
      signer.sign(request, scopeAt(at));
      expect(request.headers.authorization).toBe(await reference(requestOf({ body }), scopeAt(at)));
    }
  });

  it('formats x-amz-date per second, also when consecutive signatures fall in different seconds', async () => {
    const signer = new SigV4Signer();
    for (const date of [at, new Date(at.getTime() + 500), new Date(at.getTime() + 1000)]) {
      const request = requestOf();
      signer.sign(request, scopeAt(date));
      expect(request.headers.authorization).toBe(await reference(requestOf(), scopeAt(date)));
    }
  });

  it('refuses a streamed body, which it cannot hash without consuming it', () => {
    const request = requestOf({ body: { pipe: () => undefined } });
    expect(() => new SigV4Signer().sign(request, scopeAt(at))).toThrow(
      'SigV4Signer signs bodies given as a Uint8Array or a string, not streams',
    );
  });
});

describe('canonicalPath', () => {
  it.each([
    ['/prod/@connections/abc%3D', '/prod/%40connections/abc%253D'],
    ['/prod/./a/../b//c/', '/prod/b/c/'],
    ['/', '/'],
  ])('%s -> %s', (path, expected) => {
    expect(canonicalPath(path)).toBe(expected);
  });
});

// signRequest: the token verifiers' GetSecretValue, every header signed.

const secretCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const session = {
  ...secretCredentials,
  accessKeyId: 'ASIAEXAMPLE',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//session+token=',
};
const date = new Date('2026-11-27T13:05:09.123Z');

interface Case {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  credentials: typeof secretCredentials & { sessionToken?: string };
  region: string;
  service: string;
  date: Date;
}

const getSecret: Case = {
  method: 'POST',
  url: 'https://secretsmanager.eu-central-2.amazonaws.com/',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
  body: JSON.stringify({ SecretId: 'arn:aws:secretsmanager:eu-central-2:123456789012:secret:jwt-AbCdEf' }),
  credentials: session,
  region: 'eu-central-2',
  service: 'secretsmanager',
  date,
};

const cases: [string, Case][] = [
  ['GetSecretValue with a session token', getSecret],
  ['the same without a session token', { ...getSecret, credentials }],
  [
    'in the China partition',
    { ...getSecret, url: 'https://secretsmanager.cn-north-1.amazonaws.com.cn/', region: 'cn-north-1' },
  ],
  ['a GET with an empty body', { ...getSecret, method: 'GET', body: '', headers: {} }],
  ['a path that needs encoding', { ...getSecret, url: 'https://example.amazonaws.com/a b/%C3%A9t%C3%A9/(x)*!' }],
  [
    'a path with . and .. segments and a trailing slash',
    { ...getSecret, url: 'https://example.amazonaws.com/a/./b/../c/' },
  ],
  [
    'a management API post to a connection id with = and /',
    {
      ...getSecret,
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/%40connections/Ab1%3D%2Fx',
      service: 'execute-api',
      region: 'eu-west-1',
    },
  ],
  [
    'query parameters: unsorted, repeated, a name that prefixes another, reserved characters',
    {
      ...getSecret,
      method: 'GET',
      body: '',
      url: "https://example.amazonaws.com/?b=2&a-b=3&a=1&a=0&c=x%20y&d=*'()!&e=",
    },
  ],
  [
    'header values with surrounding and inner runs of spaces, and mixed-case names',
    { ...getSecret, headers: { 'X-Amz-Target': 'secretsmanager.GetSecretValue', 'X-Custom': '  a   b \t c  ' } },
  ],
  ['a non-default port', { ...getSecret, url: 'http://127.0.0.1:4566/' }],
  [
    'another day, region and service (a fresh signing key)',
    { ...getSecret, region: 'us-east-1', service: 'sts', date: new Date('2027-01-01T00:00:00Z') },
  ],
];

describe('signRequest (SigV4 with node:crypto)', () => {
  it.each(cases)('signs %s exactly as @smithy/signature-v4 does', async (_case, request) => {
    // GIVEN
    const url = new URL(request.url);
    const options = {
      credentials: request.credentials,
      region: request.region,
      service: request.service,
      date: request.date,
    };

    // WHEN
    const headers = signRequest({ method: request.method, url, headers: request.headers, body: request.body }, options);

    // THEN
    const lowerCased = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const expected = await referenceAuthorizationFor(
      {
        method: request.method,
        url,
        headers: {
          ...lowerCased,
          host: url.host,
          'x-amz-date': headers['x-amz-date'],
          ...(request.credentials.sessionToken ? { 'x-amz-security-token': request.credentials.sessionToken } : {}),
        },
        body: request.body,
      },
      options,
    );
    expect(headers.authorization).toBe(expected);
  });

  it('returns the headers to send: the given ones, lower-cased, with x-amz-date, the session token and authorization', () => {
    const headers = signRequest(
      {
        method: 'POST',
        url: new URL(getSecret.url),
        headers: { 'Content-Type': 'application/x-amz-json-1.1' },
        body: '{}',
      },
      { credentials: session, region: 'eu-central-2', service: 'secretsmanager', date },
    );
    expect(Object.keys(headers).sort()).toEqual([
      'authorization',
      'content-type',
      'x-amz-date',
      'x-amz-security-token',
    ]);
    expect(headers['x-amz-date']).toBe('20261127T130509Z');
    expect(headers['x-amz-security-token']).toBe(session.sessionToken);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE\/20261127\/eu-central-2\/secretsmanager\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
  });

  it('leaves user-agent unsigned (HTTP clients and proxies rewrite it)', () => {
    const headers = signRequest(
      { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: { 'user-agent': 'x' }, body: '' },
      { credentials, region: 'us-east-1', service: 'service', date },
    );
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date,');
  });

  it('gives a different signature for a different secret key on the same day, region and service', () => {
    const sign = (secretAccessKey: string) =>
      signRequest(
        { method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {}, body: '' },
        { credentials: { ...credentials, secretAccessKey }, region: 'us-east-1', service: 'service', date },
      ).authorization;
    // The cached signing key must follow the secret key (credentials change when Lambda refreshes the role's).
    expect(sign('first-secret')).not.toBe(sign('second-secret'));
    expect(sign('first-secret')).toBe(sign('first-secret'));
  });
});
