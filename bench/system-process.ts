import type { SystemEndpoints, SystemKind, SystemProcessCommand, SystemProcessReport } from './protocol';
import { startReferenceServer } from './reference-server';

/**
 * Child process entry: runs one system under test alone in its process, so its CPU is its own.
 * `bench/run.ts` forks it with the system's kind as argument and the token secret in `BENCH_JWT_SECRET`;
 * it answers `ready` with its endpoints over IPC, and stops on `stop` or when the runner goes away.
 *
 *   node --import tsx bench/system-process.ts local|reference
 */

interface RunningSystem {
  endpoints: SystemEndpoints;
  stop(): Promise<void>;
}

async function startSystem(kind: SystemKind, jwtSecret: string): Promise<RunningSystem> {
  if (kind === 'reference') {
    const server = await startReferenceServer({ jwtSecret, port: 0 });
    return { endpoints: { wsUrl: server.url, httpUrl: server.url }, stop: () => server.stop() };
  }
  // Loaded here only: the reference server's process should not carry the local stack's modules.
  const { startLocalStack } = await import('../local/stack');
  // Free ports and the run's secret, otherwise the defaults of `npm start`. Quiet: handlers log errors only,
  // rather than a line per invocation; the reference server logs nothing either.
  const stack = await startLocalStack({ wsPort: 0, httpPort: 0, jwtSecret, quiet: true });
  return { endpoints: { wsUrl: stack.wsUrl, httpUrl: stack.httpUrl }, stop: () => stack.stop() };
}

function report(message: SystemProcessReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, () => resolve());
  });
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const jwtSecret = process.env.BENCH_JWT_SECRET;
  if (kind !== 'local' && kind !== 'reference') {
    throw new Error(`usage: system-process.ts local|reference (got "${kind ?? ''}")`);
  }
  if (!jwtSecret) throw new Error('BENCH_JWT_SECRET is required but not set');
  if (!process.send) throw new Error('system-process.ts must be forked with an IPC channel by bench/run.ts');

  const system = await startSystem(kind, jwtSecret);
  let stopping = false;
  const stopAndExit = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await system.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (message: SystemProcessCommand) => {
    if (message.kind === 'stop') void stopAndExit();
  });
  // The runner died or closed the channel: nobody will ever send `stop`.
  process.on('disconnect', () => void stopAndExit());
  process.on('SIGTERM', () => void stopAndExit());
  await report({ kind: 'ready', endpoints: system.endpoints });
}

main().catch(async (error: unknown) => {
  await report({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  // A half-started system may hold servers open; the runner has what it needs.
  process.exit(1);
});
