/**
 * Messages exchanged over the IPC channel between `bench/run.ts` and its two kinds of child process: the system
 * under test (`bench/system-process.ts`) and the load generator (`bench/load-generator.ts`). Each child runs in
 * its own process so that its CPU is measured apart from the others.
 */

/** The two systems every scenario runs against. */
export type SystemKind = 'local' | 'reference';

/** Where the load generator reaches a system. */
export interface SystemEndpoints {
  /** WebSocket URL (`ws://...`) for the local stack; socket.io base URL (`http://...`) for the reference. */
  wsUrl: string;
  /** Base URL of the HTTP API (`/websocket/...` routes). */
  httpUrl: string;
}

/** What a system process says once, after start: its endpoints, or why it could not start. */
export type SystemProcessReport = { kind: 'ready'; endpoints: SystemEndpoints } | { kind: 'failed'; message: string };

/** What the runner tells a system process. */
export interface SystemProcessCommand {
  kind: 'stop';
}

/** CPU used by the load generator during a measured window. */
export interface CpuWindow {
  /** User + system CPU time, in ms. */
  cpuMs: number;
  wallMs: number;
  /** cpuMs / wallMs × 100: 100 means one core fully busy. */
  percentOfOneCore: number;
}

/** The message every benchmark client receives: the envelope of `lambdas/core/envelope.ts`. */
export interface BenchEnvelope {
  type: string;
  data: unknown;
  timestamp: string;
  id: string;
  from?: string;
}

export interface ConfigureCommand {
  command: 'configure';
  system: SystemKind;
  endpoints: SystemEndpoints;
  /** HS256 secret both systems verify tokens with; the generator signs one token per client with it. */
  jwtSecret: string;
}

export interface ConnectCommand {
  command: 'connect';
  /** One client per index, for user `bench-user-{index}` (see {@link benchUserId}). */
  userIndexes: number[];
  /** Connection attempts in flight at once. */
  parallelism: number;
}

export interface ConnectResult {
  attempted: number;
  connected: number;
  failed: number;
  /** The first failure's message, to explain a partial run. */
  firstError?: string;
  elapsedMs: number;
  clientsPerSecond: number;
  openClients: number;
  cpu: CpuWindow;
}

export interface LatencyCommand {
  command: 'latency';
  targetUserIndex: number;
  /** Sends not counted, to warm both systems' code paths. */
  warmupSends: number;
  sends: number;
  /** A send not received within this many ms counts as lost. */
  receiveTimeoutMs: number;
}

export interface LatencyResult {
  samples: number;
  lost: number;
  firstError?: string;
  /** Every counted send's latency, in send order. */
  samplesMs: number[];
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  openClients: number;
  cpu: CpuWindow;
}

/**
 * A broadcast is timed across every generator shard (each holds part of the clients, so that no single
 * process decodes them all): the runner arms every shard, has one shard send the HTTP request, then collects
 * each shard's last receipt. Times are epoch ms with sub-ms precision (`performance.timeOrigin + performance.now()`),
 * comparable between processes of one machine.
 */
export interface ArmBroadcastCommand {
  command: 'armBroadcast';
  run: string;
  /** A shard whose clients have not all received the run within this many ms of arming reports what it has. */
  completionTimeoutMs: number;
}

export interface ArmBroadcastResult {
  /** Open clients in this shard: each must receive the run. */
  expected: number;
}

export interface SendBroadcastCommand {
  command: 'sendBroadcast';
  run: string;
  timeoutMs: number;
}

export interface SendBroadcastResult {
  sentAtEpochMs: number;
  /** From the start of the HTTP request until its answer. */
  httpAnswerMs: number;
  /** 0 when the request failed without an answer. */
  httpStatus: number;
  /** The answer's body when it was not a 200 (cut short), or why the request failed. */
  httpError?: string;
}

export interface AwaitBroadcastCommand {
  command: 'awaitBroadcast';
  run: string;
  /** False when the send failed: the shard answers at once with what it has rather than waiting out the timeout. */
  sent: boolean;
}

export interface AwaitBroadcastResult {
  expected: number;
  received: number;
  /** When this shard's last expected client had it; absent unless all did. */
  lastReceiptEpochMs?: number;
  /** This shard's CPU from arming until now. */
  cpu: CpuWindow;
}

/** One timed broadcast, put together by the runner from every shard's answer. */
export interface BroadcastRun {
  expected: number;
  received: number;
  /** From the start of the HTTP request until the last expected client has the message; absent if incomplete. */
  lastReceiptMs?: number;
  httpAnswerMs: number;
  httpStatus: number;
  httpError?: string;
}

export interface BroadcastResult {
  runs: BroadcastRun[];
  /** Median of the complete runs' `lastReceiptMs`; absent when no run completed. */
  medianLastReceiptMs?: number;
  medianHttpAnswerMs: number;
  /** The busiest shard's CPU over the counted runs. */
  cpu: CpuWindow;
}

export interface CloseCommand {
  command: 'close';
}

export interface CloseResult {
  closed: number;
}

export type GeneratorCommand =
  | ConfigureCommand
  | ConnectCommand
  | LatencyCommand
  | ArmBroadcastCommand
  | SendBroadcastCommand
  | AwaitBroadcastCommand
  | CloseCommand;

/** What each command answers with. */
export interface GeneratorResults {
  configure: { system: SystemKind };
  connect: ConnectResult;
  latency: LatencyResult;
  armBroadcast: ArmBroadcastResult;
  sendBroadcast: SendBroadcastResult;
  awaitBroadcast: AwaitBroadcastResult;
  close: CloseResult;
}

/** A command on the wire, with the id its answer quotes. */
export type GeneratorRequest = GeneratorCommand & { requestId: number };

export type GeneratorResponse =
  | { requestId: number; ok: true; result: GeneratorResults[GeneratorCommand['command']] }
  | { requestId: number; ok: false; error: string };

/** The user a benchmark client connects as. */
export function benchUserId(index: number): string {
  return `bench-user-${String(index).padStart(5, '0')}`;
}

/** Type of the messages the latency scenario sends; `data` is {@link LatencyProbe}. */
export const latencyMessageType = 'bench-latency';
/** Type of the broadcast scenario's messages; `data` is {@link BroadcastProbe}. */
export const broadcastMessageType = 'bench-broadcast';

export interface LatencyProbe {
  sequence: number;
  /** `performance.now()` in the generator when the HTTP request started; the receiver is in the same process. */
  sentAt: number;
}

export interface BroadcastProbe {
  run: string;
  /** Epoch ms when the HTTP request started (informative: receipts are timed against the sender's answer). */
  sentAtEpochMs: number;
}
