import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePostArguments } from '../../local/cli-arguments';
import { newLocalCredentials, readOrCreateDevCredentials } from '../../local/dev-credentials';

describe('the local stack key pair', () => {
  it('is random and shaped like an AWS pair, so no pair written anywhere opens a local @connections', () => {
    const first = newLocalCredentials();
    const second = newLocalCredentials();

    expect(first.accessKeyId).toMatch(/^LOCAL[A-Z2-7]{15}$/);
    expect(first.secretAccessKey).toHaveLength(40);
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.secretAccessKey).not.toBe(first.secretAccessKey);
  });

  it('is created once (mode 0600) and read back on every later start', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'dev-credentials-'));
    const file = join(folder, '.local', 'dev-credentials.json');

    const created = await readOrCreateDevCredentials(file);
    const again = await readOrCreateDevCredentials(file);

    expect(again).toEqual(created);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('gives processes starting at once the same pair, and leaves no draft behind', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'dev-credentials-'));
    const file = join(folder, 'dev-credentials.json');

    const pairs = await Promise.all(Array.from({ length: 8 }, () => readOrCreateDevCredentials(file)));

    expect(new Set(pairs.map((pair) => pair.accessKeyId)).size).toBe(1);
    expect(readdirSync(folder)).toEqual(['dev-credentials.json']);
  });
});

describe('parsePostArguments', () => {
  it('reads a post, a get and a delete', () => {
    expect(parsePostArguments(['L0SM9cOFvHcCIhw=', '{"type":"chat"}'])).toEqual({
      help: false,
      method: 'POST',
      connectionId: 'L0SM9cOFvHcCIhw=',
      data: '{"type":"chat"}',
      url: 'http://127.0.0.1:8090',
    });
    expect(parsePostArguments(['--get', 'L0SM9cOFvHcCIhw=', '--url', 'http://127.0.0.1:9000'])).toMatchObject({
      method: 'GET',
      url: 'http://127.0.0.1:9000',
    });
    expect(parsePostArguments(['--delete', 'L0SM9cOFvHcCIhw='])).toMatchObject({ method: 'DELETE', data: undefined });
  });

  it('says what is missing', () => {
    expect(() => parsePostArguments(['L0SM9cOFvHcCIhw='])).toThrow('expected a connectionId and the message');
    expect(() => parsePostArguments(['--get'])).toThrow('expected one connectionId');
    expect(() => parsePostArguments(['--get', '--delete', 'x'])).toThrow('not both');
  });
});
