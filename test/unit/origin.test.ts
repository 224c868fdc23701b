import { ConfigurationError } from '../../lambdas/core/errors';
import { isOriginAllowed, readOriginPolicy } from '../../lambdas/core/origin';

describe('readOriginPolicy', () => {
  it('reads a list of origins, normalised', () => {
    const policy = readOriginPolicy({ ALLOWED_ORIGINS: 'https://App.Example.com:443, http://localhost:5173/' });
    expect(policy).toEqual({ kind: 'list', origins: new Set(['https://app.example.com', 'http://localhost:5173']) });
  });

  it('reads * as any origin', () => {
    expect(readOriginPolicy({ ALLOWED_ORIGINS: '*' })).toEqual({ kind: 'any' });
  });

  it('allows no browser origin when unset or empty', () => {
    expect(readOriginPolicy({})).toEqual({ kind: 'list', origins: new Set() });
    expect(readOriginPolicy({ ALLOWED_ORIGINS: ' ' })).toEqual({ kind: 'list', origins: new Set() });
  });

  it.each([
    ['app.example.com'],
    ['https://app.example.com/path'],
    ['ftp://files.example.com'],
    ['https://app.example.com?x=1'],
    ['https://user:pass@app.example.com'],
    ['*, https://app.example.com'],
  ])('refuses %s, naming ALLOWED_ORIGINS', (value) => {
    let error: unknown;
    try {
      readOriginPolicy({ ALLOWED_ORIGINS: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe('ALLOWED_ORIGINS');
  });
});

describe('isOriginAllowed', () => {
  const policy = readOriginPolicy({ ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:5173' });

  it('lets a request without Origin pass (a Node client, not a browser)', () => {
    expect(isOriginAllowed(policy, undefined)).toBe(true);
    expect(isOriginAllowed(readOriginPolicy({}), undefined)).toBe(true);
  });

  it.each([
    ['https://app.example.com'],
    ['https://APP.example.com'],
    ['https://app.example.com:443'],
    ['http://localhost:5173'],
  ])('allows %s', (origin) => {
    expect(isOriginAllowed(policy, origin)).toBe(true);
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['a look-alike suffix', 'https://app.example.com.evil.example'],
    ['a sub-domain', 'https://sub.app.example.com'],
    ['another scheme', 'http://app.example.com'],
    ['another port', 'http://localhost:5174'],
    ['the opaque null origin', 'null'],
    ['an empty header', ''],
    ['garbage', 'not an origin'],
  ])('refuses %s', (_name, origin) => {
    expect(isOriginAllowed(policy, origin)).toBe(false);
  });

  it('refuses every browser origin under an empty list', () => {
    expect(isOriginAllowed(readOriginPolicy({}), 'https://app.example.com')).toBe(false);
  });

  it('allows any origin under *, the opaque null origin included', () => {
    const any = readOriginPolicy({ ALLOWED_ORIGINS: '*' });
    expect(isOriginAllowed(any, 'https://evil.example')).toBe(true);
    expect(isOriginAllowed(any, 'null')).toBe(true);
  });
});
