import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Returns the development signing secret kept in `file`, creating it (32 random bytes, base64url, mode 0600) on
 * first use. The file lives under the git-ignored `.local/`, so every clone gets its own secret.
 *
 * @example
 * const secret = await readOrCreateDevSecret('/repo/.local/dev-secret');
 */
export async function readOrCreateDevSecret(file: string): Promise<string> {
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
