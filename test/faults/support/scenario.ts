// The fault suite's scenario: a realistic mix (connect/disconnect churn, sends to users, asynchronous broadcasts, a
// few client mistakes) run against the local stack while it injects faults, then the invariants the product
// promises, each checked from what the clients saw and what the HTTP API answers (never from the code under test).
// Violations are returned as data, so that the suite asserts there are none and its can-fail variants assert that
// switching a safeguard off produces them.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { signDevToken } from '../../../local/dev-tokens';
import type { FaultOptions } from '../../../local/emulator/faults';
import type { LocalStack, LocalStackOptions } from '../../../local/stack';
import { callApi, type HttpOutcome } from '../../e2e/support/http';
import { RegistryProbe } from '../../e2e/support/registry-probe';

/** The faults of every run, at the rates the issue asks for (see local/README.md, "Fault injection"). */
export const FAULT_RATES = {
  dropDisconnect: 0.2,
  gonePosts: 0.05,
  // Below the load: a broadcast's worker posts far faster (its budget is POST_BUDGET_PER_SECOND below), and the
  // sends of the mix come in bursts above it.
  postsPerSecond: 40,
  dynamoThrottle: 0.05,
  dynamoFail: 0.01,
} as const satisfies FaultOptions;

/** The broadcast type the worker crashes on, once, after this many posts of one slice run (FAN_OUT_FAULTS). */
export const CRASH_TYPE = 'fault-crash';
export const CRASH_AFTER_POSTS = 5;

/** The seed: FAULT_SEED replays a run (the suite prints the seed of each run). */
export function faultSeed(): number {
  const given = process.env.FAULT_SEED;
  return given === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(given);
}

/** The local stack's options for a fault run. */
export function faultStackOptions(seed: number): LocalStackOptions {
  return {
    wsPort: 0,
    httpPort: 0,
    quiet: process.env.E2E_LOGS === undefined,
    jwtSecret: `faults-${randomBytes(12).toString('hex')}-secret`,
    // A crashed slice comes back after six worker timeouts (the visibility timeout, as on AWS): 12 s, not 30 min.
    queueConsumerTimeoutMs: 2_000,
    faults: { seed, ...FAULT_RATES },
    environment: {
      BROADCAST_TIME_MARGIN_MS: '1000',
      POST_BUDGET_PER_SECOND: '200',
      FAN_OUT_FAULTS: JSON.stringify([{ messageType: CRASH_TYPE, afterPosts: CRASH_AFTER_POSTS, times: 1 }]),
    },
  };
}

export interface ScenarioSize {
  users: number;
  socketsPerUser: number;
  /** Sockets closed by their client (and as many opened) while the faults run. */
  churn: number;
  sends: number;
  /** Whether the second broadcast's worker crashes mid-slice (its slice then returns after 12 s). @default true */
  workerCrash?: boolean;
}

/**
 * The smaller mix the can-fail variants run with one safeguard switched off: enough churn and sends for the missing
 * safeguard to leave a trace, without the worker crash (not what they test; its redelivery takes 12 s).
 */
export const safeguardScenario: ScenarioSize = {
  users: 12,
  socketsPerUser: 3,
  churn: 16,
  sends: 20,
  workerCrash: false,
};

/** One broken promise: which invariant, and what shows it. */
export interface Violation {
  invariant:
    | 'registry-converges'
    | 'expired-unreadable'
    | 'no-client-5xx'
    | 'reported-not-lost'
    | 'at-most-once'
    | 'serves-afterwards';
  detail: string;
}

export interface ScenarioOutcome {
  violations: Violation[];
  /** Answers 5xx (HTTP, handshakes), each a DynamoDB failure that survived the SDK's retries. */
  serverErrors: number;
  handshakes: number;
  sends: number;
  /** The sends' reports added up: connections delivered, failed (e.g. 429 after the SDK's retries), stale (410). */
  sendConnections: { delivered: number; failed: number; stale: number };
  /** Sends over sockets answered with a `delivery` frame. */
  socketDeliveries: number;
  broadcasts: BroadcastStatus[];
}

interface Peer {
  userId: string;
  socket: WebSocket;
  connectionId: string;
  /** Frames received, by the `tag` of their data. */
  received: Map<string, number>;
  state: 'open' | 'closed' | 'vanished';
  /** Waits for the answer to this socket's own `send` frame (a `delivery` or `error` frame, or API Gateway's error). */
  reply?: (frame: ServerFrame) => void;
}

interface ServerFrame {
  type?: string;
  data?: { connectionId?: string; tag?: string; code?: string } & Partial<SummaryReport>;
  /** API Gateway's own frame when the integration failed: `{ message, connectionId, requestId }`. */
  message?: string;
}

interface SummaryReport {
  recipients: Record<string, string>;
  connections: { delivered: number; failed: number; stale: number };
}

interface BroadcastStatus {
  state: string;
  finishedAt?: string;
  slices: Record<string, number>;
  connections: Record<string, number>;
}

interface DetailedReport {
  recipients: Record<string, { delivered: string[]; failed: Array<{ connectionId: string }>; stale: string[] }>;
  notConnected: string[];
}

/** API Gateway's own frame when an integration throws, and the HTTP API's 500: both are server errors. */
function isInternalErrorBody(body: unknown): boolean {
  return (body as { error?: { code?: string } } | undefined)?.error?.code === 'internal_error';
}

async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it is true or `timeoutMs` has passed; returns its last answer. */
async function eventually(
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await pause(intervalMs);
  }
}

/** Runs `work` over `items`, `limit` at a time. */
async function inBatches<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/** The scenario, against one stack started with {@link faultStackOptions}. */
export class FaultScenario {
  readonly #stack: LocalStack;
  readonly #size: ScenarioSize;
  readonly #random: () => number;
  readonly peers: Peer[] = [];
  readonly violations: Violation[] = [];
  serverErrors = 0;
  handshakes = 0;
  readonly sendConnections = { delivered: 0, failed: 0, stale: 0 };
  /** Socket sends answered with a `delivery` frame (and checked). */
  socketDeliveries = 0;
  #tokens = new Map<string, string>();
  #adminToken = '';
  #tag = 0;
  readonly #startedAt = Date.now();

  constructor(stack: LocalStack, size: ScenarioSize) {
    this.#stack = stack;
    this.#size = size;
    // The scenario's own choices (who churns, who is sent to) follow the run's seed too.
    let state = (stack.faults?.seed ?? 1) ^ 0x5bd1e995;
    this.#random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
  }

  #violate(invariant: Violation['invariant'], detail: string): void {
    this.violations.push({ invariant, detail });
  }

  #pick<T>(items: T[]): T {
    return items[Math.floor(this.#random() * items.length)];
  }

  get #users(): string[] {
    return Array.from({ length: this.#size.users }, (_, index) => `fault-user-${index}`);
  }

  #live(userId?: string): Peer[] {
    return this.peers.filter((peer) => peer.state === 'open' && (userId === undefined || peer.userId === userId));
  }

  /** A 5xx is a server error only when it has the product's `internal_error` shape; any other is a violation too. */
  #serverError(what: string, outcome: { status: number; body?: unknown }): void {
    this.serverErrors++;
    if (outcome.status !== 500 || !isInternalErrorBody(outcome.body)) {
      this.#violate('no-client-5xx', `${what}: ${outcome.status} ${JSON.stringify(outcome.body)}`);
    }
  }

  async #api(method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<HttpOutcome> {
    return callApi(this.#stack.httpUrl, method, path, token, body);
  }

  /** Opens one socket of `userId` and learns its connection id; a handshake refused with 5xx is a server error. */
  async #open(userId: string): Promise<void> {
    this.handshakes++;
    const token = this.#tokens.get(userId)!;
    const socket = new WebSocket(this.#stack.wsUrl, {
      headers: { Authorization: `Bearer ${token}` },
      // The authorizer and $connect run within API Gateway's 29 s; a handshake unanswered after that is an error.
      handshakeTimeout: 35_000,
    });
    const peer: Peer = { userId, socket, connectionId: '', received: new Map(), state: 'open' };
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        socket.terminate();
        if ((response.statusCode ?? 0) >= 500) {
          // API Gateway's handshake refusal carries no body the client can read: 500 or 502 is ours.
          this.serverErrors++;
          if (![500, 502].includes(response.statusCode ?? 0)) {
            this.#violate('no-client-5xx', `handshake of ${userId}: ${response.statusCode}`);
          }
        } else {
          this.#violate('no-client-5xx', `handshake of ${userId} refused with ${response.statusCode}`);
        }
        resolve(false);
      });
      socket.once('error', () => resolve(false));
    });
    if (!opened) return;
    // The connection can vanish (a send posted to it hit the fault) before its `authenticated` frame arrives.
    const authenticated = new Promise<string>((resolve) => {
      socket.once('close', () => resolve(''));
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'authenticated') resolve(String(frame.data?.connectionId));
        if (frame.type === 'delivery' || frame.type === 'error' || frame.message !== undefined) peer.reply?.(frame);
        const tag = frame.data?.tag;
        if (typeof tag === 'string') peer.received.set(tag, (peer.received.get(tag) ?? 0) + 1);
      });
    });
    socket.on('close', () => {
      // Closed without the client asking: the faults killed it (a vanished connection).
      if (peer.state === 'open') peer.state = 'vanished';
    });
    socket.send(JSON.stringify({ action: 'hello' }));
    peer.connectionId = await authenticated;
    if (peer.connectionId) this.peers.push(peer);
  }

  async #close(peer: Peer): Promise<void> {
    if (peer.state !== 'open') return;
    peer.state = 'closed';
    await new Promise<void>((resolve) => {
      peer.socket.once('close', () => resolve());
      peer.socket.close(1000);
    });
  }

  async connect(): Promise<void> {
    this.#adminToken = await signDevToken(this.#stack.jwtSecret, 'fault-admin', {
      scope: 'ws:admin ws:broadcast',
      ttl: '1h',
    });
    for (const userId of this.#users) this.#tokens.set(userId, await signDevToken(this.#stack.jwtSecret, userId));
    const opening = this.#users.flatMap((userId) => Array.from({ length: this.#size.socketsPerUser }, () => userId));
    await inBatches(opening, 20, (userId) => this.#open(userId));
  }

  /** Clients leave and others arrive at the same time; a share of the leaving ones' `$disconnect` is dropped. */
  async churn(count: number): Promise<void> {
    const leaving = [...this.#live()].sort(() => this.#random() - 0.5).slice(0, count);
    const arriving = Array.from({ length: count }, () => this.#pick(this.#users));
    await Promise.all([
      inBatches(leaving, 10, (peer) => this.#close(peer)),
      inBatches(arriving, 10, (userId) => this.#open(userId)),
    ]);
  }

  /**
   * Sends to one or two users over the HTTP API (as an admin, so the report names connections) and checks each
   * answer: a report in which every live connection of each recipient is delivered, failed or stale (never absent),
   * and later that the delivered ones, and only they, received it once.
   */
  async sends(): Promise<void> {
    const checks: Array<() => void> = [];
    const expected: Array<{ peer: Peer; tag: string }> = [];
    await inBatches(
      Array.from({ length: this.#size.sends }, (_, index) => index),
      6,
      async (index) => {
        const tag = `send-${++this.#tag}`;
        const recipients =
          index % 4 === 3 ? [this.#pick(this.#users), this.#pick(this.#users)] : [this.#pick(this.#users)];
        const unique = [...new Set(recipients)];
        const liveBefore = new Map(unique.map((userId) => [userId, this.#live(userId)]));
        const outcome =
          unique.length === 1
            ? await this.#api('POST', '/websocket/message/user', this.#adminToken, {
                userId: unique[0],
                type: 'chat',
                data: { tag },
              })
            : await this.#api('POST', '/websocket/message/users', this.#adminToken, {
                userIds: unique,
                type: 'chat',
                data: { tag },
              });
        if (outcome.status >= 500) return this.#serverError(`send ${tag}`, outcome);
        if (outcome.status !== 200) {
          return this.#violate('no-client-5xx', `send ${tag}: ${outcome.status} ${JSON.stringify(outcome.body)}`);
        }
        const report = outcome.body as DetailedReport;
        for (const recipient of Object.values(report.recipients)) {
          this.sendConnections.delivered += recipient.delivered.length;
          this.sendConnections.failed += recipient.failed.length;
          this.sendConnections.stale += recipient.stale.length;
        }
        for (const [userId, peers] of liveBefore) {
          const delivered = new Set(report.recipients[userId]?.delivered ?? []);
          for (const peer of peers) if (delivered.has(peer.connectionId)) expected.push({ peer, tag });
        }
        checks.push(() => this.#checkSend(tag, report, liveBefore));
      },
    );
    // A post answered 200 was written to its socket before the answer: wait (bounded) until those frames are read,
    // then check; a frame still missing after the wait is reported by the checks.
    await eventually(() => expected.every(({ peer, tag }) => peer.state !== 'open' || peer.received.has(tag)), 10_000);
    for (const check of checks) check();
  }

  #checkSend(tag: string, report: DetailedReport, liveBefore: Map<string, Peer[]>): void {
    for (const [userId, peers] of liveBefore) {
      const outcome = report.recipients[userId] ?? { delivered: [], failed: [], stale: [] };
      const delivered = new Set(outcome.delivered);
      const accounted = new Set([...outcome.delivered, ...outcome.stale, ...outcome.failed.map((f) => f.connectionId)]);
      for (const peer of peers) {
        const count = peer.received.get(tag) ?? 0;
        if (count > 1) this.#violate('at-most-once', `${tag} reached ${peer.connectionId} ${count} times`);
        if (count > 0 && !delivered.has(peer.connectionId)) {
          this.#violate('reported-not-lost', `${tag} reached ${peer.connectionId}, reported otherwise`);
        }
        // A socket open throughout is in the report. (One that vanished may be absent: another send's 410 may have
        // removed its row before this send read the registry.)
        if (peer.state === 'open' && !accounted.has(peer.connectionId)) {
          this.#violate('reported-not-lost', `${tag}: live ${peer.connectionId} of ${userId} is not in the report`);
        }
        if (peer.state === 'open' && delivered.has(peer.connectionId) && count === 0) {
          this.#violate('reported-not-lost', `${tag} reported delivered to ${peer.connectionId}, never received`);
        }
      }
    }
  }

  /** Sends `frame` on `peer`'s socket and waits for its answer; undefined when the socket vanished first. */
  async #ask(peer: Peer, frame: unknown): Promise<ServerFrame | undefined> {
    // A socket that vanished since (a concurrent send's post hit the fault) fires no more `close`: nothing to ask.
    if (peer.state !== 'open' || peer.socket.readyState !== WebSocket.OPEN) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<ServerFrame | undefined>((resolve) => {
      peer.reply = resolve;
      peer.socket.once('close', () => resolve(undefined));
      // API Gateway answers every routed frame within its 29 s integration timeout: none at all is a lost answer.
      timer = setTimeout(() => {
        this.#violate('reported-not-lost', `no answer to ${JSON.stringify(frame)} on ${peer.connectionId}`);
        resolve(undefined);
      }, 35_000);
    });
    peer.socket.send(JSON.stringify(frame));
    const reply = await answer;
    clearTimeout(timer);
    peer.reply = undefined;
    return reply;
  }

  /**
   * Sends over the socket's own `send` route, from a plain user (whose `delivery` frame carries the summary, without
   * connection ids), and socket-side mistakes: each answer is a `delivery` frame, an `error` frame for a mistake, or
   * API Gateway's "Internal server error" as a server error (never for a mistake). Checked: the summary's delivered
   * count equals the recipient's sockets that received it, each at most once, and every open socket that missed it
   * is counted failed.
   */
  async socketSends(count: number): Promise<void> {
    const senders = [...this.#live()].sort(() => this.#random() - 0.5).slice(0, count);
    const checks: Array<() => void> = [];
    const waits: Array<() => boolean> = [];
    await inBatches(senders, 6, async (sender) => {
      const mistake = await this.#ask(sender, { action: 'send', userId: 'someone', type: 'pong', data: {} });
      if (mistake === undefined) return;
      if (mistake.type !== 'error')
        this.#violate('no-client-5xx', `socket send of type pong: ${JSON.stringify(mistake)}`);
      const tag = `socket-send-${++this.#tag}`;
      const userId = this.#pick(this.#users);
      const liveBefore = this.#live(userId);
      const reply = await this.#ask(sender, { action: 'send', userId, type: 'chat', data: { tag } });
      if (reply === undefined) return;
      if (reply.message !== undefined) {
        this.serverErrors++;
        if (reply.message !== 'Internal server error') this.#violate('no-client-5xx', `socket send: ${reply.message}`);
        return;
      }
      if (reply.type !== 'delivery') {
        return this.#violate('no-client-5xx', `socket send ${tag}: ${JSON.stringify(reply)}`);
      }
      this.socketDeliveries++;
      const connections = reply.data?.connections ?? { delivered: 0, failed: 0, stale: 0 };
      const recipients = () => this.peers.filter((peer) => peer.userId === userId);
      const reached = () => recipients().filter((peer) => peer.received.has(tag)).length;
      waits.push(() => reached() >= connections.delivered);
      checks.push(() => {
        if (reached() !== connections.delivered) {
          this.#violate(
            'reported-not-lost',
            `${tag}: ${connections.delivered} delivered, ${reached()} sockets have it`,
          );
        }
        for (const peer of recipients()) {
          if ((peer.received.get(tag) ?? 0) > 1)
            this.#violate('at-most-once', `${tag} reached ${peer.connectionId} twice`);
        }
        const missed = liveBefore.filter((peer) => peer.state === 'open' && !peer.received.has(tag)).length;
        if (missed > connections.failed) {
          this.#violate('reported-not-lost', `${tag}: ${missed} open sockets missed it, ${connections.failed} failed`);
        }
      });
    });
    await eventually(() => waits.every((done) => done()), 10_000);
    for (const check of checks) check();
  }

  /** Client mistakes while the faults run: each must get its 4xx (a 5xx only as a DynamoDB failure of ours). */
  async clientMistakes(): Promise<void> {
    const plain = this.#tokens.get(this.#users[0])!;
    const mistakes: Array<[string, number, () => Promise<HttpOutcome>]> = [
      ['malformed send', 400, () => this.#api('POST', '/websocket/message/user', plain, { type: 'chat' })],
      ['own frame type', 400, () => this.#api('POST', '/websocket/message/user', plain, { userId: 'x', type: 'pong' })],
      [
        'broadcast without ws:broadcast',
        403,
        () => this.#api('POST', '/websocket/message/broadcast', plain, { type: 'x' }),
      ],
      ['unknown broadcast', 404, () => this.#api('GET', '/websocket/broadcasts/no-such-broadcast', this.#adminToken)],
      ['another user status', 403, () => this.#api('GET', `/websocket/users/${this.#users[1]}/status`, plain)],
    ];
    for (let round = 0; round < 4; round++) {
      for (const [what, expected, call] of mistakes) {
        const outcome = await call();
        if (outcome.status >= 500) this.#serverError(what, outcome);
        else if (outcome.status !== expected)
          this.#violate('no-client-5xx', `${what}: ${outcome.status}, not ${expected}`);
      }
    }
  }

  /**
   * One broadcast, checked against what the sockets received: none twice (at most once per connection), none
   * received that the status does not count (delivered, or unknown: claimed by a run that stopped), and every socket
   * open throughout either received it or is counted failed, unknown or pending.
   */
  async broadcast(type: string, timeoutMs = 60_000): Promise<BroadcastStatus | undefined> {
    const liveBefore = this.#live();
    let accepted: HttpOutcome;
    let tag: string;
    // A broadcast answered 500 may have been queued all the same: the next attempt gets its own tag.
    do {
      tag = `${type}-${++this.#tag}`;
      accepted = await this.#api('POST', '/websocket/message/broadcast', this.#adminToken, { type, data: { tag } });
      if (accepted.status >= 500) this.#serverError(`broadcast ${type}`, accepted);
    } while (accepted.status >= 500);
    if (accepted.status !== 202) {
      this.#violate('no-client-5xx', `broadcast ${type}: ${accepted.status} ${JSON.stringify(accepted.body)}`);
      return undefined;
    }
    const { statusUrl } = accepted.body as { statusUrl: string };
    let status: BroadcastStatus | undefined;
    const finished = await eventually(
      async () => {
        const answer = await this.#api('GET', statusUrl, this.#adminToken);
        if (answer.status >= 500) {
          this.#serverError(`status of ${type}`, answer);
          return false;
        }
        status = answer.body as BroadcastStatus;
        return status.finishedAt !== undefined;
      },
      timeoutMs,
      250,
    );
    if (!finished || !status) {
      this.#violate('reported-not-lost', `broadcast ${type} did not finish within ${timeoutMs} ms`);
      return status;
    }
    const { delivered = 0, failed = 0, unknown = 0, pending = 0 } = status.connections;
    const reachedNow = () => liveBefore.filter((peer) => (peer.received.get(tag) ?? 0) > 0);
    // Frames posted before the status said finished may still be on their way to the sockets (bounded wait).
    await eventually(() => reachedNow().length >= delivered, 10_000);
    const reached = reachedNow();
    for (const peer of liveBefore) {
      const count = peer.received.get(tag) ?? 0;
      if (count > 1) this.#violate('at-most-once', `broadcast ${type} reached ${peer.connectionId} ${count} times`);
    }
    // Every post reported delivered was answered 200, so its frame was sent to an open socket.
    if (reached.length < delivered) {
      this.#violate(
        'reported-not-lost',
        `broadcast ${type}: ${delivered} delivered, ${reached.length} sockets have it`,
      );
    }
    if (reached.length > delivered + unknown) {
      this.#violate(
        'reported-not-lost',
        `broadcast ${type}: ${reached.length} sockets have it, status counts ${delivered} + ${unknown} unknown`,
      );
    }
    const missed = liveBefore.filter((peer) => peer.state === 'open' && !peer.received.has(tag)).length;
    if (missed > failed + unknown + pending) {
      this.#violate(
        'reported-not-lost',
        `broadcast ${type}: ${missed} open sockets without it, status counts ${failed} failed + ${unknown} unknown + ${pending} pending`,
      );
    }
    return status;
  }

  /**
   * Rows of connections that vanished more than a TTL ago and that nothing posted to since: only the TTL filter
   * stands between them and a reader (DynamoDB deletes expired items up to days late; dynalite never does).
   */
  async addExpiredRows(count: number): Promise<void> {
    const probe = new RegistryProbe(this.#stack.dynamoEndpoint, this.#stack.tableName);
    try {
      const expiredAt = Math.floor(Date.now() / 1000) - 60;
      for (let index = 0; index < count; index++) {
        await probe.put({
          userId: this.#users[index % this.#users.length],
          connectionId: randomBytes(11).toString('base64'),
          connectedAt: new Date((expiredAt - 3 * 3600) * 1000).toISOString(),
          expiresAt: expiredAt,
        });
      }
    } finally {
      probe.close();
    }
  }

  /**
   * The registry, read through the status routes, converges to exactly the live sockets: each user's
   * `connectionCount` and the connected-users list. Polled (stale rows leave through `$disconnect`s still running
   * and the 410s of the last broadcast) up to `timeoutMs`; what still differs then is reported.
   */
  async checkRegistry(timeoutMs: number): Promise<void> {
    let differences: string[] = [];
    await eventually(async () => {
      differences = [];
      for (const userId of this.#users) {
        const answer = await this.#api('GET', `/websocket/users/${userId}/status`, this.#adminToken);
        const count = (answer.body as { connectionCount?: number }).connectionCount;
        const live = this.#live(userId).length;
        if (answer.status !== 200 || count !== live) differences.push(`${userId}: ${count} readable, ${live} live`);
      }
      const users = await this.#connectedUsers(differences);
      const expected = new Set(this.#users.filter((userId) => this.#live(userId).length > 0));
      for (const userId of new Set([...users, ...expected])) {
        if (users.has(userId) !== expected.has(userId)) {
          differences.push(`${userId}: listed ${users.has(userId)}, live ${expected.has(userId)}`);
        }
      }
      return differences.length === 0;
    }, timeoutMs);
    for (const difference of differences) this.#violate('registry-converges', difference);
  }

  /** Every page of the connected-users route (100 at most per page); a page that is not 200 is a difference. */
  async #connectedUsers(differences: string[]): Promise<Set<string>> {
    const users = new Set<string>();
    let cursor: string | undefined;
    do {
      const query = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this.#api('GET', `/websocket/users/connected?${query}`, this.#adminToken);
      if (page.status !== 200) {
        differences.push(`connected users: ${page.status} ${JSON.stringify(page.body)}`);
        return users;
      }
      const body = page.body as { users: string[]; nextCursor?: string };
      for (const userId of body.users) users.add(userId);
      cursor = body.nextCursor;
    } while (cursor);
    return users;
  }

  /**
   * No expired row is readable: the rows {@link addExpiredRows} wrote connected hours before this run began, every
   * real connection during it, so a status route showing a connection older than the run shows an expired row.
   */
  async checkExpiredUnreadable(): Promise<void> {
    for (const userId of this.#users) {
      const answer = await this.#api('GET', `/websocket/users/${userId}/status`, this.#adminToken);
      const connections = (answer.body as { connections?: Array<{ connectedAt: string }> }).connections ?? [];
      for (const { connectedAt } of connections) {
        if (Date.parse(connectedAt) < this.#startedAt) {
          this.#violate('expired-unreadable', `${userId}: a connection from ${connectedAt} is readable`);
        }
      }
    }
  }

  /** With the faults off, a send reaches every socket of its user once, and the report says so. */
  async checkServes(): Promise<void> {
    const userId = this.#users.find((candidate) => this.#live(candidate).length > 0);
    if (!userId) return this.#violate('serves-afterwards', 'no live socket left to send to');
    const tag = `after-${++this.#tag}`;
    const outcome = await this.#api('POST', '/websocket/message/user', this.#adminToken, {
      userId,
      type: 'chat',
      data: { tag },
    });
    const delivered = (outcome.body as DetailedReport).recipients?.[userId]?.delivered ?? [];
    const live = this.#live(userId);
    const arrived = await eventually(() => live.every((peer) => peer.received.get(tag) === 1), 5_000);
    if (outcome.status !== 200 || delivered.length !== live.length || !arrived) {
      this.#violate(
        'serves-afterwards',
        `send after the faults: ${outcome.status}, ${delivered.length}/${live.length} delivered, all arrived: ${arrived}`,
      );
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#live().map((peer) => this.#close(peer)));
  }
}

/**
 * The whole run: connect, churn, sends and client mistakes, a broadcast and a broadcast whose worker crashes, more
 * churn, all under the faults; then the faults off, one more broadcast (its 410s clean the rows the faults left),
 * rows expired long ago added, and the invariants.
 */
export async function runFaultScenario(stack: LocalStack, size: ScenarioSize): Promise<ScenarioOutcome> {
  const scenario = new FaultScenario(stack, size);
  await scenario.connect();
  await scenario.churn(size.churn);
  await Promise.all([scenario.sends(), scenario.socketSends(Math.ceil(size.sends / 4)), scenario.clientMistakes()]);
  const broadcasts = [await scenario.broadcast('fault-broadcast')];
  if (size.workerCrash ?? true) broadcasts.push(await scenario.broadcast(CRASH_TYPE));
  await scenario.churn(Math.ceil(size.churn / 2));
  stack.faults!.enabled = false;
  broadcasts.push(await scenario.broadcast('after-faults'));
  await scenario.addExpiredRows(Math.ceil(size.users / 2));
  await scenario.checkExpiredUnreadable();
  await scenario.checkRegistry(10_000);
  await scenario.checkServes();
  const outcome: ScenarioOutcome = {
    violations: scenario.violations,
    serverErrors: scenario.serverErrors,
    handshakes: scenario.handshakes,
    sends: size.sends,
    sendConnections: scenario.sendConnections,
    socketDeliveries: scenario.socketDeliveries,
    broadcasts: broadcasts.filter((status): status is BroadcastStatus => status !== undefined),
  };
  await scenario.closeAll();
  return outcome;
}
