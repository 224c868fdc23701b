import { io } from 'socket.io-client';
import WebSocket from 'ws';
import {
  type ArmBroadcastCommand,
  type ArmBroadcastResult,
  type AwaitBroadcastCommand,
  type AwaitBroadcastResult,
  type BenchEnvelope,
  type BroadcastProbe,
  benchUserId,
  broadcastMessageType,
  type CloseResult,
  type ConfigureCommand,
  type ConnectCommand,
  type ConnectResult,
  type CpuWindow,
  type GeneratorRequest,
  type GeneratorResponse,
  type GeneratorResults,
  type LatencyCommand,
  type LatencyProbe,
  type LatencyResult,
  latencyMessageType,
  type SendBroadcastCommand,
  type SendBroadcastResult,
} from './protocol';
import { percentile, sumCpuWindows } from './stats';
import { signBenchToken } from './tokens';

/**
 * Child process entry: one load generator process. It holds a share of the benchmark clients and does the
 * measurements, alone in its process so that `process.cpuUsage()` tells whether it, rather than the system under
 * test, was the bottleneck. `bench/generator-shards.ts` forks several and drives them with the commands of
 * `bench/protocol.ts`.
 *
 * Local stack clients are `ws` sockets carrying `Authorization: Bearer <jwt>`; reference clients are
 * socket.io-client sockets on the websocket transport carrying the same header, as the old service's Node clients
 * sent it (the reference server also takes socket.io's `auth.token`).
 */

interface BenchClient {
  userIndex: number;
  isOpen(): boolean;
  close(): Promise<void>;
}

/** Receives every envelope any client gets; each scenario installs its own. */
type EnvelopeListener = (userIndex: number, envelope: BenchEnvelope, receivedAt: number) => void;

const connectTimeoutMs = 15_000;
const closeTimeoutMs = 10_000;

let configuration: ConfigureCommand | undefined;
/** Indexed by user index: each benchmark user has exactly one client. */
const clients = new Map<number, BenchClient>();
let onEnvelope: EnvelopeListener = () => {};
let broadcasterToken: string | undefined;

function requireConfiguration(): ConfigureCommand {
  if (!configuration) throw new Error('the generator has not been configured');
  return configuration;
}

function startCpuWindow(): () => CpuWindow {
  const cpuAtStart = process.cpuUsage();
  const wallAtStart = performance.now();
  return () => {
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const wallMs = performance.now() - wallAtStart;
    return { cpuMs, wallMs, percentOfOneCore: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0 };
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function dispatch(userIndex: number, raw: unknown): void {
  const receivedAt = performance.now();
  let envelope: unknown = raw;
  if (typeof raw === 'string' || Buffer.isBuffer(raw)) {
    try {
      envelope = JSON.parse(raw.toString());
    } catch {
      return;
    }
  }
  if (typeof envelope === 'object' && envelope !== null && 'type' in envelope && 'data' in envelope) {
    onEnvelope(userIndex, envelope as BenchEnvelope, receivedAt);
  }
}

function openWebSocketClient(url: string, token: string, userIndex: number): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    // API Gateway does not negotiate permessage-deflate, and socket.io's server declines it by default.
    const socket = new WebSocket(url, {
      headers: { Authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: connectTimeoutMs,
    });
    socket.on('message', (data) => dispatch(userIndex, data));
    socket.once('error', (error) => reject(error));
    socket.once('open', () => {
      // Later errors (a reset while open) only end this client; the close event records it.
      socket.on('error', () => {});
      resolve({
        userIndex,
        isOpen: () => socket.readyState === WebSocket.OPEN,
        close: () =>
          new Promise<void>((done) => {
            if (socket.readyState === WebSocket.CLOSED) return done();
            const timer = setTimeout(() => {
              socket.terminate();
              done();
            }, closeTimeoutMs);
            socket.once('close', () => {
              clearTimeout(timer);
              done();
            });
            socket.close(1000);
          }),
      });
    });
  });
}

function openSocketIoClient(url: string, token: string, userIndex: number): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      // Honoured by the websocket transport in Node (browsers cannot set it, hence `auth.token` there).
      extraHeaders: { Authorization: `Bearer ${token}` },
      forceNew: true,
      reconnection: false,
      timeout: connectTimeoutMs,
    });
    socket.on('message', (envelope: unknown) => dispatch(userIndex, envelope));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
    socket.once('connect', () =>
      resolve({
        userIndex,
        isOpen: () => socket.connected,
        close: async () => {
          socket.close();
        },
      }),
    );
  });
}

async function connect(command: ConnectCommand): Promise<ConnectResult> {
  const { system, endpoints, jwtSecret } = requireConfiguration();
  const { userIndexes } = command;
  // Tokens are signed before the clock starts: the scenario measures the server's connect path.
  const tokens = await Promise.all(userIndexes.map((index) => signBenchToken(jwtSecret, benchUserId(index))));
  const open = system === 'local' ? openWebSocketClient : openSocketIoClient;

  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const endWindow = startCpuWindow();
  const worker = async () => {
    while (next < userIndexes.length) {
      const position = next++;
      const userIndex = userIndexes[position];
      try {
        clients.set(userIndex, await open(endpoints.wsUrl, tokens[position], userIndex));
        connected++;
      } catch (error) {
        failed++;
        firstError ??= messageOf(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.parallelism, userIndexes.length) }, worker));
  const cpu = endWindow();
  return {
    attempted: userIndexes.length,
    connected,
    failed,
    firstError,
    elapsedMs: cpu.wallMs,
    clientsPerSecond: connected / (cpu.wallMs / 1000),
    openClients: openClientCount(),
    cpu,
  };
}

function openClientCount(): number {
  let count = 0;
  for (const client of clients.values()) if (client.isOpen()) count++;
  return count;
}

async function describeFailedAnswer(response: Response): Promise<string> {
  const body = await response.text().catch(() => '');
  return `HTTP ${response.status}: ${body.slice(0, 300)}`;
}

async function latency(command: LatencyCommand): Promise<LatencyResult> {
  const { endpoints, jwtSecret } = requireConfiguration();
  const target = clients.get(command.targetUserIndex);
  if (!target?.isOpen()) throw new Error(`no open client for user index ${command.targetUserIndex}`);
  const targetUserId = benchUserId(command.targetUserIndex);
  const senderToken = await signBenchToken(jwtSecret, 'bench-sender');
  const waiting = new Map<number, (latencyMs: number) => void>();
  onEnvelope = (userIndex, envelope, receivedAt) => {
    if (userIndex !== command.targetUserIndex || envelope.type !== latencyMessageType) return;
    const probe = envelope.data as LatencyProbe;
    waiting.get(probe.sequence)?.(receivedAt - probe.sentAt);
  };

  const samples: number[] = [];
  let lost = 0;
  let firstError: string | undefined;
  const windows: CpuWindow[] = [];
  const total = command.warmupSends + command.sends;
  for (let sequence = 0; sequence < total; sequence++) {
    const counted = sequence >= command.warmupSends;
    const endWindow = counted ? startCpuWindow() : undefined;
    let timer: NodeJS.Timeout | undefined;
    const received = new Promise<number | undefined>((resolve) => {
      waiting.set(sequence, resolve);
      timer = setTimeout(() => resolve(undefined), command.receiveTimeoutMs);
    });
    const probe: LatencyProbe = { sequence, sentAt: performance.now() };
    let latencyMs: number | undefined;
    try {
      const response = await fetch(`${endpoints.httpUrl}/websocket/message/user`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${senderToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: targetUserId, type: latencyMessageType, data: probe }),
      });
      if (response.ok) {
        await response.arrayBuffer();
        latencyMs = await received;
      } else {
        firstError ??= await describeFailedAnswer(response);
      }
    } catch (error) {
      firstError ??= messageOf(error);
    }
    clearTimeout(timer);
    waiting.delete(sequence);
    if (endWindow) windows.push(endWindow());
    if (!counted) continue;
    if (latencyMs === undefined) lost++;
    else samples.push(latencyMs);
  }
  onEnvelope = () => {};
  return {
    samples: samples.length,
    samplesMs: samples,
    lost,
    firstError,
    p50Ms: percentile(samples, 50),
    p95Ms: percentile(samples, 95),
    p99Ms: percentile(samples, 99),
    // Percentiles 0 and 100 are the extremes, and NaN (not ±Infinity) when every send was lost.
    minMs: percentile(samples, 0),
    maxMs: percentile(samples, 100),
    openClients: openClientCount(),
    cpu: sumCpuWindows(windows) ?? { cpuMs: 0, wallMs: 0, percentOfOneCore: 0 },
  };
}

/** Epoch ms with sub-ms precision, comparable between processes of one machine. */
function epochMs(monotonicMs: number): number {
  return performance.timeOrigin + monotonicMs;
}

interface ArmedBroadcast {
  expected: number;
  reached: Set<number>;
  lastReceiptEpochMs?: number;
  /** Resolves when every expected client has the run, or when the completion timeout passes. */
  settled: Promise<void>;
  settle(): void;
  endCpuWindow: () => CpuWindow;
}

const armedBroadcasts = new Map<string, ArmedBroadcast>();

function armBroadcast(command: ArmBroadcastCommand): ArmBroadcastResult {
  const expected = openClientCount();
  let settle = () => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const timer = setTimeout(settle, command.completionTimeoutMs);
  armedBroadcasts.set(command.run, {
    expected,
    reached: new Set(),
    settled: settled.then(() => clearTimeout(timer)),
    settle,
    endCpuWindow: startCpuWindow(),
  });
  onEnvelope = (userIndex, envelope, receivedAt) => {
    if (envelope.type !== broadcastMessageType) return;
    const armed = armedBroadcasts.get((envelope.data as BroadcastProbe).run);
    if (!armed || armed.reached.has(userIndex)) return;
    armed.reached.add(userIndex);
    armed.lastReceiptEpochMs = epochMs(receivedAt);
    if (armed.reached.size >= armed.expected) armed.settle();
  };
  if (expected === 0) settle();
  return { expected };
}

async function sendBroadcast(command: SendBroadcastCommand): Promise<SendBroadcastResult> {
  const { endpoints, jwtSecret } = requireConfiguration();
  broadcasterToken ??= await signBenchToken(jwtSecret, 'bench-broadcaster', 'ws:broadcast');
  const startedAt = performance.now();
  const probe: BroadcastProbe = { run: command.run, sentAtEpochMs: epochMs(startedAt) };
  let httpStatus = 0;
  let httpError: string | undefined;
  try {
    const response = await fetch(`${endpoints.httpUrl}/websocket/message/broadcast`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${broadcasterToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: broadcastMessageType, data: probe }),
      signal: AbortSignal.timeout(command.timeoutMs),
    });
    httpStatus = response.status;
    if (response.ok) await response.arrayBuffer();
    else httpError = await describeFailedAnswer(response);
  } catch (error) {
    httpError = messageOf(error);
  }
  return { sentAtEpochMs: probe.sentAtEpochMs, httpAnswerMs: performance.now() - startedAt, httpStatus, httpError };
}

async function awaitBroadcast(command: AwaitBroadcastCommand): Promise<AwaitBroadcastResult> {
  const armed = armedBroadcasts.get(command.run);
  if (!armed) throw new Error(`broadcast run ${command.run} was never armed`);
  // A refused broadcast reaches nobody: do not wait out the whole timeout for it.
  if (!command.sent) armed.settle();
  await armed.settled;
  armedBroadcasts.delete(command.run);
  const complete = armed.reached.size >= armed.expected;
  return {
    expected: armed.expected,
    received: armed.reached.size,
    lastReceiptEpochMs: complete ? armed.lastReceiptEpochMs : undefined,
    cpu: armed.endCpuWindow(),
  };
}

async function closeAll(): Promise<CloseResult> {
  const closing = [...clients.values()];
  clients.clear();
  await Promise.all(closing.map((client) => client.close()));
  return { closed: closing.length };
}

async function handle(request: GeneratorRequest): Promise<GeneratorResults[GeneratorRequest['command']]> {
  switch (request.command) {
    case 'configure':
      configuration = request;
      return { system: request.system };
    case 'connect':
      return connect(request);
    case 'latency':
      return latency(request);
    case 'armBroadcast':
      return armBroadcast(request);
    case 'sendBroadcast':
      return sendBroadcast(request);
    case 'awaitBroadcast':
      return awaitBroadcast(request);
    case 'close':
      return closeAll();
  }
}

function answer(response: GeneratorResponse): void {
  process.send?.(response);
}

if (!process.send) {
  console.error('load-generator.ts must be forked with an IPC channel by bench/run.ts');
  process.exit(2);
}
process.on('message', (request: GeneratorRequest) => {
  handle(request).then(
    (result) => answer({ requestId: request.requestId, ok: true, result }),
    (error: unknown) => answer({ requestId: request.requestId, ok: false, error: messageOf(error) }),
  );
});
// The runner died or is done: the clients go with this process.
process.on('disconnect', () => process.exit(0));
