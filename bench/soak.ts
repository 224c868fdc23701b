import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import WebSocket from 'ws';
import { renderSoakCharts } from './charts';
import { benchUserId, type SystemEndpoints } from './protocol';
import { alignMarkdownTables } from './report';
import {
  emptyCounters,
  type GrowthFinding,
  growthFindings,
  type MinuteCounters,
  type MinuteRow,
  minuteRows,
  type SendOutcome,
  type SoakPoint,
} from './soak-analysis';
import type { SoakSample, SoakSystemCommand, SoakSystemReport } from './soak-protocol';
import { percentile } from './stats';
import { signBenchToken } from './tokens';

/**
 * `npm run bench:soak`: the local stack (its own process, `bench/soak-system.ts`) under thousands of churning
 * connections for minutes, with steady sends. Prints a row a minute (memory of the stack's process, send → receive
 * p50/p99, registry rows against open sockets) and at the end whether anything grows without bound (the rules are
 * in `soak-analysis.ts`). Writes `bench/results/soak.md` and `soak.json` (the samples, for the charts).
 *
 * Traffic goes to 127.0.0.1 only; every loop is bounded and the run stops by itself (a deadline a few minutes past
 * the planned duration kills the stack's process whatever happens). Not part of `npm test`: it takes minutes.
 *
 * Options: `--minutes N` (default 10), `--clients N` (2500), `--sample-seconds N` (10), `--warmup-minutes N` (2),
 * `--heap-snapshots` (writes the stack's heap at the end of the warm-up and at the end, as
 * `bench/results/soak-*.heapsnapshot.tmp`, to compare in Chrome DevTools' Memory tab when something grows).
 */

interface SoakOptions {
  minutes: number;
  clients: number;
  sampleSeconds: number;
  warmupMinutes: number;
  heapSnapshots: boolean;
}

const load = {
  /** Clients never churned by the load: the send targets, so that a lost send is the stack's, not the churn's. */
  stableClients: 100,
  connectParallelism: 50,
  /** Every cycle this share of the churning clients goes away and reconnects at once. */
  churnEveryMs: 2_000,
  churnShare: 0.02,
  /** Of those, this share vanish without a close frame (the TCP connection torn down, as a dead network does). */
  dropWithoutCloseShare: 0.25,
  sendEveryMs: 200,
  maxSendsInFlight: 20,
  receiveTimeoutMs: 10_000,
  broadcastEveryMs: 30_000,
  /** A client heartbeat (`{"action":"ping"}`, as the client adapter sends), so stable clients outlive the idle timeout. */
  heartbeatEveryMs: 240_000,
  connectTimeoutMs: 15_000,
};

const resultsFolder = 'bench/results';
const latencyType = 'soak-latency';
const broadcastType = 'soak-broadcast';

function progress(line: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function integerOption(name: string, fallback: number, min: number, max: number): number {
  const position = process.argv.indexOf(`--${name}`);
  if (position === -1) return fallback;
  const value = Number(process.argv[position + 1]);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} takes an integer from ${min} to ${max}, got "${process.argv[position + 1] ?? ''}"`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// The stack's process

interface SoakSystem {
  endpoints: SystemEndpoints;
  sample(snapshotFile?: string): Promise<SoakSample>;
  stop(): Promise<void>;
  kill(): void;
}

function startSoakSystem(jwtSecret: string, logFile: string): Promise<SoakSystem> {
  const log = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = fork('bench/soak-system.ts', [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_JWT_SECRET: jwtSecret,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NODE_NO_WARNINGS: '1',
      },
      stdio: ['ignore', log, log, 'ipc'],
      detached: true,
    });
  } finally {
    closeSync(log);
  }
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', kill);
  const waiting = new Map<number, { resolve: (sample: SoakSample) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  child.on('message', (report: SoakSystemReport) => {
    if (report.kind !== 'sample' && report.kind !== 'sampleFailed') return;
    const waiter = waiting.get(report.id);
    waiting.delete(report.id);
    if (report.kind === 'sample') waiter?.resolve(report.sample);
    else waiter?.reject(new Error(report.message));
  });
  const send = (command: SoakSystemCommand) => {
    if (child.connected) child.send(command);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`the stack did not report ready within 60 s (see ${logFile})`));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      for (const waiter of waiting.values()) waiter.reject(new Error(`the stack exited (${code ?? signal})`));
      reject(new Error(`the stack exited (code ${code}, signal ${signal}; see ${logFile})`));
    });
    child.once('message', (report: SoakSystemReport) => {
      clearTimeout(timer);
      if (report.kind !== 'ready') return reject(new Error(`the stack failed to start: ${JSON.stringify(report)}`));
      resolve({
        endpoints: report.endpoints,
        sample: (snapshotFile?: string) =>
          new Promise((resolveSample, rejectSample) => {
            const id = nextId++;
            waiting.set(id, { resolve: resolveSample, reject: rejectSample });
            send({ kind: 'sample', id, snapshotFile });
          }),
        stop: async () => {
          send({ kind: 'stop' });
          const exited = new Promise<void>((done) => child.once('exit', () => done()));
          const late = new Promise<void>((done) => setTimeout(done, 60_000).unref());
          await Promise.race([exited, late]);
          kill();
        },
        kill,
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The clients

interface LatencyProbe {
  sequence: number;
  sentAt: number;
}

interface BroadcastProbe {
  run: number;
}

class Clients {
  readonly sockets = new Map<number, WebSocket>();
  /** User indexes between going away and being open again. */
  readonly reconnecting = new Set<number>();
  readonly latencyWaiters = new Map<number, (receivedAt: number) => void>();
  readonly broadcastReceipts = new Map<number, number>();
  stopping = false;

  constructor(
    private readonly url: string,
    private readonly jwtSecret: string,
    private readonly onUnexpectedClose: (userIndex: number) => void,
  ) {}

  openCount(): number {
    let open = 0;
    for (const socket of this.sockets.values()) if (socket.readyState === WebSocket.OPEN) open++;
    return open;
  }

  async open(userIndex: number): Promise<void> {
    const token = await signBenchToken(this.jwtSecret, benchUserId(userIndex));
    await new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(this.url, {
        headers: { Authorization: `Bearer ${token}` },
        perMessageDeflate: false,
        handshakeTimeout: load.connectTimeoutMs,
      });
      socket.on('message', (data) => this.dispatch(data.toString()));
      socket.once('error', reject);
      socket.once('open', () => {
        socket.on('error', () => {});
        this.sockets.set(userIndex, socket);
        socket.once('close', () => {
          if (this.sockets.get(userIndex) !== socket) return;
          this.sockets.delete(userIndex);
          // Closed by the server (idle timeout, lifetime) rather than by the load: reconnect, as a client would.
          if (!this.stopping && !this.reconnecting.has(userIndex)) this.onUnexpectedClose(userIndex);
        });
        resolve();
      });
    });
  }

  /** Goes away (with a close frame, or by tearing the TCP connection down) and resolves once the socket is gone. */
  leave(userIndex: number, withoutClose: boolean): Promise<void> {
    const socket = this.sockets.get(userIndex);
    if (!socket) return Promise.resolve();
    this.sockets.delete(userIndex);
    return new Promise((resolve) => {
      if (socket.readyState === WebSocket.CLOSED) return resolve();
      socket.once('close', () => resolve());
      if (withoutClose) socket.terminate();
      else socket.close(1000);
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 10_000).unref();
    });
  }

  private dispatch(text: string): void {
    const receivedAt = performance.now();
    let envelope: { type?: string; data?: unknown };
    try {
      envelope = JSON.parse(text);
    } catch {
      return;
    }
    if (envelope.type === latencyType) {
      const probe = envelope.data as LatencyProbe;
      this.latencyWaiters.get(probe.sequence)?.(receivedAt);
    } else if (envelope.type === broadcastType) {
      const { run } = envelope.data as BroadcastProbe;
      this.broadcastReceipts.set(run, (this.broadcastReceipts.get(run) ?? 0) + 1);
    }
  }

  async closeAll(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.sockets.keys()].map((userIndex) => this.leave(userIndex, false)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The run

function formatMb(bytes: number): number {
  return bytes / (1024 * 1024);
}

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function minuteLine(row: MinuteRow): string {
  return (
    `min ${String(row.minute).padStart(2)}: RSS ${fixed(row.rssMb)} MB, heap ${fixed(row.heapMb)} MB, ` +
    `p50 ${fixed(row.p50Ms)} ms, p99 ${fixed(row.p99Ms)} ms (${fixed(row.p99AwayFromBroadcastsMs)} away from broadcasts; ` +
    `${row.sends} sends, ${row.lost} lost), ` +
    `registry ${row.registryRows} rows / ${row.openConnections} sockets open (${row.clientsOpen} clients), ` +
    `${row.reconnects} reconnects (${row.dropsWithoutClose} without close), ` +
    `broadcasts ${row.broadcastReceived}/${row.broadcastExpected}`
  );
}

export interface SoakResult {
  startedAt: string;
  options: SoakOptions;
  load: typeof load;
  machine: { cores: number; cpuModel: string; node: string };
  loadAverage: { atStart: number; atEnd: number };
  points: SoakPoint[];
  rows: MinuteRow[];
  findings: GrowthFinding[];
  sends: { total: number; lost: number; p50Ms: number; p99Ms: number };
  stackCpuPercentOfOneCore: number;
}

function renderMarkdown(result: SoakResult): string {
  const { options, rows, findings } = result;
  const growing = findings.filter((finding) => finding.grows);
  const lines = [
    '# Soak: the local stack under churn',
    '',
    `Run ${result.startedAt}, ${options.minutes} min of load, on ${result.machine.cpuModel.split(' ').slice(0, 2).join(' ')}, ` +
      `nproc ${result.machine.cores}, Node ${result.machine.node}; 1-minute load average ${fixed(result.loadAverage.atStart, 2)} ` +
      `at the start, ${fixed(result.loadAverage.atEnd, 2)} at the end. Command: ` +
      `\`npm run bench:soak -- --minutes ${options.minutes} --clients ${options.clients}\`.`,
    '',
    `Load: ${options.clients.toLocaleString('en')} clients (${load.stableClients} of them never churned: the send targets); ` +
      `every ${load.churnEveryMs / 1000} s ${load.churnShare * 100}% of the others go away and reconnect, ` +
      `${load.dropWithoutCloseShare * 100}% of those without a close frame; an HTTP send to a user every ` +
      `${load.sendEveryMs} ms (at most ${load.maxSendsInFlight} in flight, lost after ${load.receiveTimeoutMs / 1000} s); ` +
      `a broadcast every ${load.broadcastEveryMs / 1000} s; a \`{"action":"ping"}\` from each client every ` +
      `${load.heartbeatEveryMs / 60_000} min. The stack (emulator, handlers, dynalite) runs alone in its process; ` +
      `memory is sampled every ${options.sampleSeconds} s after a full collection (\`--expose-gc\`), and no send ` +
      'starts during a sample (sends already in flight may wait for it). ' +
      `The stack used ${fixed(result.stackCpuPercentOfOneCore, 0)}% of one core on average.`,
    '',
    `Sends: ${result.sends.total} made, ${result.sends.lost} lost; p50 ${fixed(result.sends.p50Ms)} ms, p99 ${fixed(result.sends.p99Ms)} ms over the run.`,
    '',
    '![memory of the stack](soak-memory.svg) ![send → receive latency](soak-latency.svg) ![registry rows and open sockets](soak-registry.svg)',
    '',
    '| minute | RSS MB | heap after GC MB | p50 ms | p99 ms | p99 away from broadcasts ms | sends (lost) | registry rows | sockets open | clients open | reconnects (no close) | broadcast receipts | load average |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.minute} | ${fixed(row.rssMb)} | ${fixed(row.heapMb)} | ${fixed(row.p50Ms)} | ${fixed(row.p99Ms)} | ` +
        `${fixed(row.p99AwayFromBroadcastsMs)} | ` +
        `${row.sends} (${row.lost}) | ${row.registryRows} | ${row.openConnections} | ${row.clientsOpen} | ` +
        `${row.reconnects} (${row.dropsWithoutClose}) | ${row.broadcastReceived}/${row.broadcastExpected} | ` +
        `${fixed(row.loadAverage ?? Number.NaN, 2)} |`,
    ),
    '',
    `## Does anything grow? (least-squares slope over the samples after the first ${options.warmupMinutes} min; ` +
      'growth is a slope above the limit and more than two standard errors above zero)',
    '',
    '| figure | first → last | slope per minute (± 2 standard errors) | limit per minute | verdict | why that limit |',
    '| --- | --- | --- | --- | --- | --- |',
    ...findings.map(
      (finding) =>
        `| ${finding.figure} | ${fixed(finding.first)} → ${fixed(finding.last)} ${finding.unit} | ` +
        `${fixed(finding.slopePerMinute, 3)} (± ${fixed(2 * finding.standardError, 3)}) ${finding.unit} | ` +
        `${finding.maxSlopePerMinute} ${finding.unit} | ` +
        `${finding.grows ? '**grows**' : 'flat'} | ${finding.why} |`,
    ),
    '',
    growing.length === 0
      ? 'Verdict: nothing grows beyond its limit over this run.'
      : `Verdict: ${growing.map((finding) => finding.figure).join(', ')} grow beyond the limit over this run.`,
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options: SoakOptions = {
    minutes: integerOption('minutes', 10, 1, 120),
    clients: integerOption('clients', 2500, 200, 8000),
    sampleSeconds: integerOption('sample-seconds', 10, 2, 60),
    warmupMinutes: integerOption('warmup-minutes', 2, 0, 30),
    heapSnapshots: process.argv.includes('--heap-snapshots'),
  };
  if (options.warmupMinutes >= options.minutes) throw new Error('--warmup-minutes must be less than --minutes');
  const deadline = setTimeout(
    () => {
      progress('the run passed its deadline: killing the stack and stopping');
      process.exit(2);
    },
    (options.minutes + 5) * 60_000,
  );
  deadline.unref();

  mkdirSync(resultsFolder, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadavg()[0];
  const jwtSecret = (await import('node:crypto')).randomBytes(32).toString('base64url');
  progress('starting the local stack');
  const system = await startSoakSystem(jwtSecret, `${resultsFolder}/soak-system.log`);
  let loadStartedAt = Date.now();
  const minuteOf = (at: number) => (at - loadStartedAt) / 60_000;
  const counters = new Map<number, MinuteCounters>();
  const count = (update: (counter: MinuteCounters) => void) => {
    const minute = Math.floor(minuteOf(Date.now())) + 1;
    const counter = counters.get(minute) ?? emptyCounters();
    update(counter);
    counters.set(minute, counter);
  };

  const clients = new Clients(system.endpoints.wsUrl, jwtSecret, (userIndex) => {
    void reconnect(userIndex);
  });
  const reconnect = async (userIndex: number) => {
    clients.reconnecting.add(userIndex);
    try {
      await clients.open(userIndex);
      count((counter) => counter.reconnects++);
    } catch {
      count((counter) => counter.failedConnects++);
    } finally {
      clients.reconnecting.delete(userIndex);
    }
  };

  try {
    progress(`connecting ${options.clients} clients`);
    let next = 0;
    let failed = 0;
    await Promise.all(
      Array.from({ length: load.connectParallelism }, async () => {
        while (next < options.clients) {
          const userIndex = next++;
          await clients.open(userIndex).catch(() => failed++);
        }
      }),
    );
    progress(`${clients.openCount()} open, ${failed} failed; load for ${options.minutes} min`);
    loadStartedAt = Date.now();
    const loadEndsAt = loadStartedAt + options.minutes * 60_000;
    const cpuAtStart = (await system.sample()).cpuMs;

    const senderToken = await signBenchToken(jwtSecret, 'soak-sender');
    const broadcasterToken = await signBenchToken(jwtSecret, 'soak-broadcaster', 'ws:broadcast');
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${system.endpoints.httpUrl}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(load.receiveTimeoutMs),
      });

    // Churn: a share of the churning clients leave and come back.
    const churning = () =>
      [...clients.sockets.keys()].filter(
        (userIndex) => userIndex >= load.stableClients && !clients.reconnecting.has(userIndex),
      );
    const churnTimer = setInterval(() => {
      const candidates = churning();
      const leaving = Math.round((options.clients - load.stableClients) * load.churnShare);
      for (let picked = 0; picked < leaving && candidates.length > 0; picked++) {
        const [userIndex] = candidates.splice(Math.floor(Math.random() * candidates.length), 1);
        const withoutClose = Math.random() < load.dropWithoutCloseShare;
        clients.reconnecting.add(userIndex);
        if (withoutClose) count((counter) => counter.dropsWithoutClose++);
        void clients.leave(userIndex, withoutClose).then(() => reconnect(userIndex));
      }
    }, load.churnEveryMs);

    // Steady sends to stable clients, timed from the request to the receipt.
    const sends: SendOutcome[] = [];
    let sequence = 0;
    let inFlight = 0;
    let broadcastsInFlight = 0;
    let broadcastsStarted = 0;
    let sampling = false;
    const sendOne = async () => {
      const target = Math.floor(Math.random() * load.stableClients);
      const probe: LatencyProbe = { sequence: sequence++, sentAt: performance.now() };
      const sentMinute = minuteOf(Date.now());
      // Overlapped by a broadcast: one was in flight at the send, or one started before the receipt.
      const inFlightAtSend = broadcastsInFlight > 0;
      const startedAtSend = broadcastsStarted;
      let timer: NodeJS.Timeout | undefined;
      const received = new Promise<number | undefined>((resolve) => {
        clients.latencyWaiters.set(probe.sequence, resolve);
        timer = setTimeout(() => resolve(undefined), load.receiveTimeoutMs);
      });
      try {
        const response = await post('/websocket/message/user', senderToken, {
          userId: benchUserId(target),
          type: latencyType,
          data: probe,
        });
        await response.arrayBuffer();
        const receivedAt = response.ok ? await received : undefined;
        sends.push({
          minute: sentMinute,
          latencyMs: receivedAt === undefined ? undefined : receivedAt - probe.sentAt,
          besideBroadcast: inFlightAtSend || broadcastsStarted > startedAtSend,
        });
      } catch {
        sends.push({ minute: sentMinute });
      } finally {
        clearTimeout(timer);
        clients.latencyWaiters.delete(probe.sequence);
      }
    };
    const sendTimer = setInterval(() => {
      // No send starts while the stack takes a sample: its full collection and registry count stop the stack's
      // event loop for tens of milliseconds, a stall of the measurement, not of the product.
      if (inFlight >= load.maxSendsInFlight || sampling) return;
      inFlight++;
      void sendOne().finally(() => inFlight--);
    }, load.sendEveryMs);

    // Now and then a broadcast; its receipts are counted once the next one goes (or at the end).
    let broadcastRun = 0;
    const broadcastsSent: Array<{ run: number; expected: number; minute: number }> = [];
    const broadcastTimer = setInterval(() => {
      const run = ++broadcastRun;
      broadcastsSent.push({ run, expected: clients.openCount(), minute: Math.floor(minuteOf(Date.now())) + 1 });
      broadcastsInFlight++;
      broadcastsStarted++;
      void post('/websocket/message/broadcast', broadcasterToken, { type: broadcastType, data: { run } })
        .then((response) => response.arrayBuffer())
        .catch(() => {})
        .finally(() => {
          broadcastsInFlight--;
        });
    }, load.broadcastEveryMs);

    // Heartbeats, spread over the period.
    let heartbeatCursor = 0;
    const heartbeatTimer = setInterval(() => {
      const everyTick = Math.ceil(options.clients / (load.heartbeatEveryMs / 1_000));
      for (let sent = 0; sent < everyTick; sent++) {
        heartbeatCursor = (heartbeatCursor + 1) % options.clients;
        const userIndex = heartbeatCursor;
        const socket = clients.sockets.get(userIndex);
        if (socket?.readyState === WebSocket.OPEN) socket.send('{"action":"ping"}');
      }
    }, 1_000);

    // Samples, and a printed row per minute.
    const points: SoakPoint[] = [];
    let printedMinutes = 0;
    let tookFirstSnapshot = false;
    while (Date.now() < loadEndsAt) {
      await new Promise((resolve) => setTimeout(resolve, options.sampleSeconds * 1000));
      const clientsOpen = clients.openCount();
      const warmedUp = minuteOf(Date.now()) >= options.warmupMinutes;
      const lastSample = Date.now() + options.sampleSeconds * 1000 >= loadEndsAt;
      let snapshotFile: string | undefined;
      if (options.heapSnapshots && warmedUp && (!tookFirstSnapshot || lastSample)) {
        snapshotFile = `${resultsFolder}/soak-${tookFirstSnapshot ? 'end' : 'warm'}.heapsnapshot.tmp`;
        tookFirstSnapshot = true;
      }
      sampling = true;
      const sample = await system.sample(snapshotFile).finally(() => {
        sampling = false;
      });
      points.push({
        minute: minuteOf(sample.at),
        rssMb: formatMb(sample.rssBytes),
        heapMb: formatMb(sample.heapUsedBytes),
        openConnections: sample.openConnections,
        registryRows: sample.registryRows,
        clientsOpen,
        loadAverage: loadavg()[0],
      });
      const wholeMinutes = Math.floor(minuteOf(Date.now()));
      if (wholeMinutes > printedMinutes) {
        printedMinutes = wholeMinutes;
        const rows = minuteRows(points, sends, counters);
        const row = rows.at(-1);
        if (row) process.stdout.write(`${minuteLine(row)}\n`);
      }
    }
    clearInterval(churnTimer);
    clearInterval(sendTimer);
    clearInterval(broadcastTimer);
    clearInterval(heartbeatTimer);
    const lastSample = await system.sample();
    const stackCpuPercentOfOneCore = ((lastSample.cpuMs - cpuAtStart) / (Date.now() - loadStartedAt)) * 100;
    // Let sends and the last broadcast land before counting.
    await new Promise((resolve) => setTimeout(resolve, load.receiveTimeoutMs));
    for (const broadcast of broadcastsSent) {
      const counter = counters.get(broadcast.minute) ?? emptyCounters();
      counter.broadcasts++;
      counter.broadcastExpected += broadcast.expected;
      counter.broadcastReceived += clients.broadcastReceipts.get(broadcast.run) ?? 0;
      counters.set(broadcast.minute, counter);
    }

    const rows = minuteRows(points, sends, counters);
    const findings = growthFindings(points, rows, options.warmupMinutes);
    const latencies = sends.flatMap((send) => (send.latencyMs === undefined ? [] : [send.latencyMs]));
    const result: SoakResult = {
      startedAt: startedAt.toISOString(),
      options,
      load,
      machine: { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] },
      points,
      rows,
      findings,
      sends: {
        total: sends.length,
        lost: sends.length - latencies.length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      },
      stackCpuPercentOfOneCore,
    };
    const markdown = alignMarkdownTables(renderMarkdown(result));
    writeFileSync(`${resultsFolder}/soak.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${resultsFolder}/soak.md`, markdown);
    process.stdout.write(`\n${markdown}`);
    progress(`written to ${resultsFolder}/soak.md and soak.json`);
    await renderSoakCharts(result, resultsFolder).then(
      (charts) => progress(`charts: ${charts.join(', ')}`),
      (error: unknown) => progress(`charts not drawn: ${error instanceof Error ? error.message : String(error)}`),
    );
  } finally {
    progress('closing clients and stopping the stack');
    await clients.closeAll();
    await system.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
