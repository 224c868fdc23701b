import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The access key pair of one local stack: its functions sign `@connections` calls with it, the emulator checks it. */
export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Makes a key pair shaped like AWS's (a 20-character upper-case id, a 40-character secret), random, so a key pair
 * written in this repository or its docs never opens anyone's local `@connections`.
 *
 * @example
 * newLocalCredentials(); // { accessKeyId: 'LOCALQ3F7…', secretAccessKey: 'r1Xb…' }
 */
export function newLocalCredentials(): LocalCredentials {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const idSuffix = [...randomBytes(15)].map((byte) => alphabet[byte % alphabet.length]).join('');
  return { accessKeyId: `LOCAL${idSuffix}`, secretAccessKey: randomBytes(30).toString('base64') };
}

/**
 * Returns the local stack's key pair kept in `file` (JSON, mode 0600, under the git-ignored `.local/`), creating it
 * on first use. Kept, not made per start, so `npm run post` and a backend configured once in a shell keep working
 * across restarts. Written beside and linked into place (an atomic, exclusive step), so two processes starting at
 * once end up with the same pair and neither reads a half-written file.
 *
 * @example
 * const credentials = await readOrCreateDevCredentials('/repo/.local/dev-credentials.json');
 */
export async function readOrCreateDevCredentials(file: string): Promise<LocalCredentials> {
  const existing = await readCredentials(file);
  if (existing) return existing;
  await mkdir(dirname(file), { recursive: true });
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, `${JSON.stringify(newLocalCredentials())}\n`, { mode: 0o600 });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(draft);
  }
  const created = await readCredentials(file);
  if (!created) throw new Error(`${file} holds no accessKeyId and secretAccessKey: delete it to get a new pair`);
  return created;
}

async function readCredentials(file: string): Promise<LocalCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!text.trim()) return undefined;
  const { accessKeyId, secretAccessKey } = JSON.parse(text) as Partial<LocalCredentials>;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return undefined;
  return { accessKeyId, secretAccessKey };
}
