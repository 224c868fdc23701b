import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const lockDir = join(tmpdir(), 'realtime-gateway-e2e-parity.lock');
/** A lock older than this was left by a killed run. */
const STALE_AFTER_MS = 5 * 60_000;

/**
 * In parity mode every test file drives the same users on the same stage, so files must not overlap (jest runs
 * them in parallel workers). Takes a machine-wide lock (an atomic `mkdir`) and returns its release.
 *
 * @example
 * const release = await acquireParityLock();
 * try { ... } finally { await release(); }
 */
export async function acquireParityLock(timeoutMs = 120_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(lockDir).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    if (age > STALE_AFTER_MS) await rm(lockDir, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`another parity run holds ${lockDir}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
