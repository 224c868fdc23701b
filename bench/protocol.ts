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
  /** Clients to open, for users `bench-user-{firstUserIndex}` ... `bench-user-{firstUserIndex + count - 1}`. */
  count: number;
  firstUserIndex: number;
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

export interface BroadcastCommand {
  command: 'broadcast';
  /** Runs not counted, to warm both systems' broadcast paths. */
  warmupRuns: number;
  repeats: number;
  /** A run whose last receipt has not arrived within this many ms counts as incomplete. */
  completionTimeoutMs: number;
}

export interface BroadcastRun {
  /** Clients that had to receive it: every open client. */
  expected: number;
  received: number;
  /** From the start of the HTTP request until the last expected client has the message. */
  lastReceiptMs?: number;
  /** From the start of the HTTP request until its answer. */
  httpAnswerMs: number;
  httpStatus: number;
  /** The answer's body when it was not a 200, cut short. */
  httpError?: string;
}

export interface BroadcastResult {
  runs: BroadcastRun[];
  /** Median of the complete runs' `lastReceiptMs`; absent when no run completed. */
  medianLastReceiptMs?: number;
  medianHttpAnswerMs: number;
  cpu: CpuWindow;
}

export interface CloseCommand {
  command: 'close';
}

export interface CloseResult {
  closed: number;
}

export type GeneratorCommand = ConfigureCommand | ConnectCommand | LatencyCommand | BroadcastCommand | CloseCommand;

/** What each command answers with. */
export interface GeneratorResults {
  configure: { system: SystemKind };
  connect: ConnectResult;
  latency: LatencyResult;
  broadcast: BroadcastResult;
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
  sentAt: number;
}
