import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type {
  GeneratorCommand,
  GeneratorRequest,
  GeneratorResponse,
  GeneratorResults,
  SystemEndpoints,
  SystemKind,
  SystemProcessReport,
} from './protocol';

/**
 * The benchmark's child processes: each system under test and each load generator runs alone in its own process
 * group, so its CPU can be read apart from the others and so stopping it takes anything it started along.
 * Every child started here is tracked; {@link killAllChildren} ends them all, and the runner calls it on every
 * way out (normal end, error, Ctrl-C, deadline).
 */

const trackedChildren = new Set<ChildProcess>();

const childEnvironment = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  NODE_NO_WARNINGS: '1',
};

function track(child: ChildProcess): ChildProcess {
  trackedChildren.add(child);
  child.once('exit', () => trackedChildren.delete(child));
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Negative pid: the child's whole process group (it leads one, being detached).
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Kills every child still running, with its process group. Synchronous, so it also works in an `exit` handler. */
export function killAllChildren(): void {
  for (const child of trackedChildren) killGroup(child, 'SIGKILL');
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Waits up to `timeoutMs` for the child to exit, then kills its group. */
async function awaitExitOrKill(child: ChildProcess, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([exited(child).then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    killGroup(child, 'SIGKILL');
    await exited(child);
  }
}

/** Forks a TypeScript module through tsx, with an IPC channel, its output appended to `logFile`. */
function forkTypeScript(modulePath: string, args: string[], logFile: string, env: Record<string, string> = {}) {
  const log = openSync(logFile, 'w');
  try {
    return track(
      fork(modulePath, args, {
        execArgv: ['--import', 'tsx'],
        env: { ...childEnvironment, ...env },
        stdio: ['ignore', log, log, 'ipc'],
        detached: true,
      }),
    );
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
}

/** A running system under test. */
export interface SystemProcess {
  pid: number;
  endpoints: SystemEndpoints;
  /** Asks it to stop (closing every socket), waits up to `timeoutMs`, then kills its group. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Starts `bench/system-process.ts` for one system and waits until it reports its endpoints.
 *
 * @example
 * const system = await startSystemProcess('reference', secret, 'bench/results/reference.log', 60_000);
 * await system.stop(30_000);
 */
export function startSystemProcess(
  kind: SystemKind,
  jwtSecret: string,
  logFile: string,
  startTimeoutMs: number,
): Promise<SystemProcess> {
  const child = forkTypeScript('bench/system-process.ts', [kind], logFile, { BENCH_JWT_SECRET: jwtSecret });
  const stop = async (timeoutMs: number) => {
    if (child.connected) child.send({ kind: 'stop' });
    else killGroup(child, 'SIGTERM');
    await awaitExitOrKill(child, timeoutMs);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${kind} did not report ready within ${startTimeoutMs} ms (see ${logFile})`));
    }, startTimeoutMs);
    child.once('message', (report: SystemProcessReport) => {
      clearTimeout(timer);
      if (report.kind === 'ready') resolve({ pid: child.pid!, endpoints: report.endpoints, stop });
      else reject(new Error(`${kind} failed to start: ${report.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited before it was ready (code ${code}, signal ${signal}; see ${logFile})`));
    });
  });
}

/** The load generator process, driven one command at a time. */
export interface LoadGenerator {
  pid: number;
  /** Sends a command and resolves with its result; rejects on its error, on timeout, or if the generator dies. */
  request<TCommand extends GeneratorCommand>(
    command: TCommand,
    timeoutMs: number,
  ): Promise<GeneratorResults[TCommand['command']]>;
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Starts `bench/load-generator.ts`.
 *
 * @example
 * const generator = startLoadGenerator('bench/results/generator-local.log');
 * const connect = await generator.request({ command: 'connect', count: 1000, firstUserIndex: 0, parallelism: 50 }, 60_000);
 */
export function startLoadGenerator(logFile: string): LoadGenerator {
  const child = forkTypeScript('bench/load-generator.ts', [], logFile);
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextRequestId = 1;
  child.on('message', (response: GeneratorResponse) => {
    const waiter = pending.get(response.requestId);
    if (!waiter) return;
    pending.delete(response.requestId);
    if (response.ok) waiter.resolve(response.result);
    else waiter.reject(new Error(response.error));
  });
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`the load generator exited (code ${code}, signal ${signal}; see ${logFile})`));
    }
    pending.clear();
  });
  return {
    pid: child.pid!,
    request: <TCommand extends GeneratorCommand>(command: TCommand, timeoutMs: number) =>
      new Promise<GeneratorResults[TCommand['command']]>((resolve, reject) => {
        if (!child.connected) return reject(new Error('the load generator is not running'));
        const requestId = nextRequestId++;
        const timer = setTimeout(() => {
          pending.delete(requestId);
          reject(new Error(`${command.command} took longer than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(requestId, {
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result as GeneratorResults[TCommand['command']]);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        const request: GeneratorRequest = { ...command, requestId };
        child.send(request);
      }),
    stop: async (timeoutMs: number) => {
      // Closing the channel makes the generator exit, taking its clients with it.
      if (child.connected) child.disconnect();
      await awaitExitOrKill(child, timeoutMs);
    },
  };
}

/** Output and outcome of a script run to completion. */
export interface ScriptRun {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  elapsedMs: number;
}

/**
 * Runs a TypeScript script through tsx to completion (or until `timeoutMs`, when its group is killed),
 * capturing stdout and stderr together. `nodeFlags` go to that Node process (e.g. the deployed functions' flags),
 * `scriptArgs` to the script.
 *
 * @example
 * const run = await runTypeScriptScript('bench/broadcast-core.ts', 180_000);
 */
export function runTypeScriptScript(
  modulePath: string,
  timeoutMs: number,
  nodeFlags: readonly string[] = [],
  scriptArgs: readonly string[] = [],
): Promise<ScriptRun> {
  const startedAt = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeFlags, '--import', 'tsx', modulePath, ...scriptArgs], {
      env: childEnvironment,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    }),
  );
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        output: Buffer.concat(chunks).toString(),
        exitCode: code,
        timedOut,
        elapsedMs: performance.now() - startedAt,
      });
    });
  });
}

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/**
 * CPU time (user + system, ms) used so far by the live processes of the process group `groupId`, from
 * `/proc/<pid>/stat` (Linux). A system under test may run helpers (dynalite) in processes of its own; the group
 * counts them too. Returns NaN where `/proc` is not available.
 *
 * @example
 * const before = processGroupCpuMs(system.pid);
 */
export function processGroupCpuMs(groupId: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which is in parentheses and may contain spaces: state ppid pgrp ...
    // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 here.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== groupId) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / ticksPerSecond();
}
