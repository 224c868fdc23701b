import { signRequest } from '../../lambdas/core/sigv4';
import { referenceAuthorization } from '../helpers/sigv4-reference';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const session = { ...credentials, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//session+token=' };
const date = new Date('2026-11-27T13:05:09.123Z');

interface Case {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  credentials: typeof credentials & { sessionToken?: string };
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
    const expected = await referenceAuthorization(
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
