import { jwtVerify } from 'jose';
import { parseStartArguments, parseTokenArguments } from '../../local/cli-arguments';
import { parseTtlSeconds, signDevToken } from '../../local/dev-tokens';

const secret = 'a-development-secret-long-enough-for-hs256';

describe('signDevToken', () => {
  it('signs HS256 with sub, iat, exp and the scope', async () => {
    const token = await signDevToken(secret, 'user123', { scope: 'ws:admin ws:broadcast', ttl: '15m' });

    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
    });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'user123', scope: 'ws:admin ws:broadcast' });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
  });

  it('leaves scope out when none is given and defaults to one hour', async () => {
    const token = await signDevToken(secret, 'user456');

    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret));
    expect(payload).not.toHaveProperty('scope');
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('refuses an empty secret or userId', async () => {
    await expect(signDevToken('', 'user123')).rejects.toThrow('secret');
    await expect(signDevToken(secret, '')).rejects.toThrow('userId');
  });
});

describe('parseTtlSeconds', () => {
  it.each([
    [60, 60],
    ['90', 90],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
  ])('reads %p as %d seconds', (ttl, seconds) => {
    expect(parseTtlSeconds(ttl)).toBe(seconds);
  });

  it.each(['', '0', '1w', '-5m', 'soon', 1.5, 0])('refuses %p with a message saying what is expected', (ttl) => {
    expect(() => parseTtlSeconds(ttl)).toThrow(/ttl must/);
  });
});

describe('command line arguments', () => {
  it('reads every npm start option', () => {
    expect(
      parseStartArguments([
        '--host',
        '0.0.0.0',
        '--ws-port',
        '9000',
        '--http-port',
        '0',
        '--data-dir',
        '.local/data',
        '--secret',
        's',
      ]),
    ).toEqual({ help: false, host: '0.0.0.0', wsPort: 9000, httpPort: 0, dataDir: '.local/data', secret: 's' });
    expect(parseStartArguments(['--help']).help).toBe(true);
  });

  it.each([
    [['--ws-port', 'abc'], /--ws-port must be a port number/],
    [['--http-port', '70000'], /--http-port must be a port number/],
    [['--bogus'], /bogus/],
    [['extra'], /extra/],
  ])('refuses npm start %p naming the problem', (argv, message) => {
    expect(() => parseStartArguments(argv)).toThrow(message);
  });

  it('reads the token tool arguments', () => {
    expect(parseTokenArguments(['user123', '--scope', 'ws:admin', '--ttl', '2h'])).toEqual({
      help: false,
      userId: 'user123',
      scope: 'ws:admin',
      ttl: '2h',
      secret: undefined,
    });
    expect(() => parseTokenArguments(['a', 'b'])).toThrow('expected one userId');
  });
});
