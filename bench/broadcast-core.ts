/**
 * Benchmark (figures only, no pass or fail) of the broadcast delivery core and the management client under it:
 * 10,000 registered connections, a management endpoint that answers each post after 20 ms, 200 posts in flight.
 * The floor is 10,000 × 20 ms / 200 = 1 s.
 *
 * Three clients run the same broadcast, round after round in rotating order (the machine is shared and noisy:
 * compare them within a run, as ratios, and read the medians), each round of each client in a fresh process that
 * first warms up with one broadcast (JIT, lazy loading, sockets) and then measures the next, as a warm Lambda would:
 * - today's SDK client: the management client as `clients.ts` built it before issue 10 (`baseline-management-client.ts`);
 * - the tuned SDK client: `createManagementClient` of `clients.ts`, as the Lambda functions get it;
 * - the floor: a SigV4-signed undici keep-alive POST and nothing else (`floor-client.ts`).
 * Issue 10's "Done when": the tuned client at most 80 µs of client CPU per post, and its 10k broadcast within
 * 1.2 s here (1.2 × the floor).
 *
 * Run: `npm run bench -- broadcast-core` (the deployed senders' `--max-semi-space-size=32`, as the whole bench run
 * gives it) or `npx tsx bench/broadcast-core.ts` (options: `--connections N --delay-ms N --concurrency N --segments N
 * --page-size N --runs N --message-bytes N --clients today,tuned,floor --tls --session-token-bytes N --trace`;
 * `--tls` serves the endpoint over HTTPS with a certificate made for the run, `--session-token-bytes 1000` signs as
 * a Lambda role would, `--trace` times each post's way out and back, in the client and in the endpoint, and prints
 * where the round trip above the endpoint's delay went).
 *
 * What is real: the delivery core (`broadcast`), the clients with their keep-alive socket pools and SigV4 signing,
 * and a local HTTP server standing in for `@connections`, running in a child process so its event loop and CPU
 * time are not the client's. What is not: the registry is in memory (`bench/memory-registry.ts`), so the figures
 * isolate posting from DynamoDB reads. CPU per post is `process.cpuUsage()` over the broadcast, divided by posts.
 *
 * To see where the time goes: `node --cpu-prof --cpu-prof-dir=/tmp/broadcast-profile --import tsx
 * bench/broadcast-core.ts --runs 2 --clients tuned` (profiles stay out of git). Node flags in effect are printed in
 * the header: a larger young generation (`--max-semi-space-size=32`, which the deployed senders get) lowers every
 * client's CPU per post.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { createManagementClient } from '../lambdas/core/clients';
import { broadcast } from '../lambdas/core/delivery';
import { createEnvelope } from '../lambdas/core/envelope';
import { encodeEnvelope } from '../lambdas/core/validation';
import { selfSignedCertificate } from '../test/helpers/self-signed-certificate';
import { createBaselineManagementClient } from './baseline-management-client';
import { createFloorClient } from './floor-client';
import { MemoryRegistry } from './memory-registry';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    'delay-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '200' },
    segments: { type: 'string', default: '1' },
    'page-size': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    'message-bytes': { type: 'string' },
    clients: { type: 'string', default: 'today,tuned,floor' },
    tls: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    // Internal: run one client's warm-up and measured broadcast in this process against the given endpoint.
    worker: { type: 'string' },
    'endpoint-url': { type: 'string' },
    'session-token-bytes': { type: 'string' },
  },
});
const connections = Number(values.connections);
const delayMs = Number(values['delay-ms']);
const concurrency = Number(values.concurrency);
const segments = Number(values.segments);
const pageSize = Number(values['page-size']);
const runs = Number(values.runs);
/** Pads the message's text so the encoded envelope is about this size (default: a short maintenance notice). */
const messageBytes = values['message-bytes'] === undefined ? undefined : Number(values['message-bytes']);

// The client signs every request; any credentials do for a local endpoint.
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
// A Lambda role's credentials carry a session token of about a kilobyte, sent and signed with every post.
if (values['session-token-bytes'] !== undefined) {
  process.env.AWS_SESSION_TOKEN = 'T'.repeat(Number(values['session-token-bytes']));
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The stand-in management endpoint: answers every request after `delayMs`, counts them. */
const endpointSource = `
const { readFileSync } = require('node:fs');
const delayMs = Number(process.argv[1]);
const [keyFile, certFile] = process.argv.slice(2);
let posts = 0;
// --trace only: when each post's request had arrived and when its answer was written, by path (a later broadcast's
// post to the same connection replaces the earlier one's).
let trace;
let traceFrom;
const now = () => performance.timeOrigin + performance.now();
const handle = (request, response) => {
  request.resume();
  request.on('end', () => {
    const arrived = trace === undefined ? 0 : now();
    setTimeout(() => {
      posts++;
      response.writeHead(200).end();
      trace?.set(request.url, [arrived, now()]);
    }, delayMs);
  });
};
const server = keyFile === undefined
  ? require('node:http').createServer(handle)
  : require('node:https').createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, handle);
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'count') process.send({ posts });
  if (message === 'trace') { trace = new Map(); traceFrom = { cpu: process.cpuUsage(), posts }; }
  if (message === 'trace-dump') {
    const cpu = process.cpuUsage(traceFrom.cpu);
    const cpuUsPerPost = (cpu.user + cpu.system) / Math.max(1, posts - traceFrom.posts);
    process.send({ trace: [...(trace ?? [])], cpuUsPerPost });
    trace = undefined;
  }
  if (message === 'stop') process.exit(0);
});
`;

/**
 * A certificate for the endpoint's HTTPS (`--tls`), made for this run (test/helpers/self-signed-certificate.ts) and
 * written to a temporary folder for the endpoint's process. The clients are told not to verify it
 * (NODE_TLS_REJECT_UNAUTHORIZED=0, this process only): what is measured is the cost of encrypting and decrypting on
 * warm sockets, as on AWS, not the chain check.
 */
async function makeCertificate(): Promise<{ keyFile: string; certFile: string; folder: string }> {
  const folder = mkdtempSync(join(tmpdir(), 'broadcast-core-tls-'));
  const keyFile = join(folder, 'key.pem');
  const certFile = join(folder, 'cert.pem');
  const { key, cert } = await selfSignedCertificate();
  writeFileSync(keyFile, key, { mode: 0o600 });
  writeFileSync(certFile, cert);
  return { keyFile, certFile, folder };
}

function startEndpoint(tlsFiles?: {
  keyFile: string;
  certFile: string;
}): Promise<{ endpoint: ChildProcess; port: number }> {
  const tlsArguments = tlsFiles === undefined ? [] : [tlsFiles.keyFile, tlsFiles.certFile];
  const endpoint = spawn(process.execPath, ['-e', endpointSource, String(delayMs), ...tlsArguments], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) =>
    endpoint.once('message', (message) => resolve({ endpoint, port: (message as { port: number }).port })),
  );
}

/** --trace: the endpoint's times of the posts since the last call, by connection id. */
function endpointTrace(
  endpoint: ChildProcess,
): Promise<{ times: Map<string, [number, number]>; cpuUsPerPost: number }> {
  return new Promise((resolve) => {
    endpoint.once('message', (message) => {
      const { trace, cpuUsPerPost } = message as { trace: [string, [number, number]][]; cpuUsPerPost: number };
      resolve({
        times: new Map(
          trace.map(([path, times]) => [decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)), times]),
        ),
        cpuUsPerPost,
      });
    });
    endpoint.send('trace-dump');
  });
}

function postsSeen(endpoint: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    endpoint.once('message', (message) => resolve((message as { posts: number }).posts));
    endpoint.send('count');
  });
}

function benchMessage(): string {
  const notice = 'Maintenance at 22:00';
  // The envelope adds about 150 bytes (id, type, timestamp, keys) around the message text.
  return messageBytes === undefined ? notice : notice.padEnd(Math.max(notice.length, messageBytes - 150), '.');
}

/** The V8/Node flags this process runs with (command line and NODE_OPTIONS), since they change the GC's share. */
function nodeFlags(): string {
  return [...process.execArgv.filter((flag) => !flag.includes('tsx')), process.env.NODE_OPTIONS ?? '']
    .filter((flag) => flag.length > 0 && flag !== '--import' && flag !== '--require')
    .join(' ');
}

/** The per-post CPU the issue asks of the tuned client, and its elapsed time against the floor. */
const TARGET_CPU_US_PER_POST = 80;
const TARGET_ELAPSED_OVER_FLOOR = 1.2;

interface RunFigures {
  elapsedMs: number;
  postsPerSecond: number;
  cpuUsPerPost: number;
  delivered: number;
  failed: number;
  complete: boolean;
  /** --trace: per post of the measured broadcast, [connection id, send called, written, answer's headers, settled]. */
  posts?: PostTimes[];
}

type PostTimes = [id: string, started: number, written: number, answered: number, settled: number];

/** --trace: where a post's round trip went, in ms (means over the measured broadcast's posts). */
interface RoundTrip {
  /** From `send()` to the request written on a socket: the SDK's pipeline, signing, waiting for a rested socket. */
  toSocket: number;
  /** From written to the endpoint having read the whole request (its event loop's wait included). */
  toEndpoint: number;
  /** The endpoint's hold beyond `delayMs` (timer granularity and its event loop's wait). */
  heldOver: number;
  /** From the endpoint writing its answer to the client having read the answer's headers. */
  toClient: number;
  /** From the answer's headers to `send()` settled (body, SDK deserializer, promise chain). */
  settle: number;
  /** From a post settled to its slot's next post started (the bounded pool's refill). */
  refill: number;
  /** From `send()` to settled. */
  total: number;
  /** The endpoint process's CPU per post (µs), the warm-up broadcast included. */
  endpointCpuUsPerPost?: number;
}

/** Absolute milliseconds, comparable between this process and the endpoint's. */
const clock = (): number => performance.timeOrigin + performance.now();

/**
 * --trace: wraps the client's `send` and listens to undici's diagnostics channels (published only while someone
 * listens), so each post's times are known by connection id. Tracing costs the client a few µs per post: compare
 * CPU figures without it.
 */
function traceClient(client: ApiGatewayManagementApiClient): {
  client: ApiGatewayManagementApiClient;
  posts: () => PostTimes[];
} {
  let byId = new Map<string, PostTimes>();
  const idOf = (path: string): string => decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  subscribe('undici:client:sendHeaders', (message) => {
    const times = byId.get(idOf((message as { request: { path: string } }).request.path));
    if (times !== undefined) times[2] = clock();
  });
  subscribe('undici:request:headers', (message) => {
    const times = byId.get(idOf((message as { request: { path: string } }).request.path));
    if (times !== undefined) times[3] = clock();
  });
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const traced = Object.create(client) as ApiGatewayManagementApiClient;
  traced.send = ((command: { input: { ConnectionId: string } }) => {
    const times: PostTimes = [command.input.ConnectionId, clock(), 0, 0, 0];
    byId.set(times[0], times);
    return send(command).finally(() => {
      times[4] = clock();
    });
  }) as ApiGatewayManagementApiClient['send'];
  return {
    client: traced,
    posts: () => {
      const posts = [...byId.values()];
      byId = new Map();
      return posts;
    },
  };
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

/** Joins the client's and the endpoint's times of each post of one broadcast. */
function roundTrip(posts: PostTimes[], endpointTimes: Map<string, [number, number]>): RoundTrip {
  const rows = posts.flatMap(([id, started, written, answered, settled]) => {
    const times = endpointTimes.get(id);
    return times === undefined
      ? []
      : [{ started, written, answered, settled, arrived: times[0], answeredAt: times[1] }];
  });
  // The n-th post started after the first `concurrency` took the slot of the n-th post settled.
  const starts = posts.map((post) => post[1]).sort((a, b) => a - b);
  const settles = posts.map((post) => post[4]).sort((a, b) => a - b);
  const refills = starts.slice(concurrency).map((start, index) => start - settles[index]);
  return {
    toSocket: mean(rows.map((row) => row.written - row.started)),
    toEndpoint: mean(rows.map((row) => row.arrived - row.written)),
    heldOver: mean(rows.map((row) => row.answeredAt - row.arrived - delayMs)),
    toClient: mean(rows.map((row) => row.answered - row.answeredAt)),
    settle: mean(rows.map((row) => row.settled - row.answered)),
    refill: mean(refills),
    total: mean(rows.map((row) => row.settled - row.started)),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const clientLabels: Record<string, string> = {
  today: "today's SDK client",
  tuned: 'tuned SDK client',
  floor: 'floor: SigV4 + undici',
};

function buildLabels(keys: string[]): [string, string][] {
  return keys.map((key) => {
    const label = clientLabels[key];
    if (label === undefined) throw new Error(`--clients: unknown client "${key}" (today, tuned, floor)`);
    return [key, label];
  });
}

function buildClient(endpoint: URL, key: string): ApiGatewayManagementApiClient {
  switch (key) {
    case 'today':
      return createBaselineManagementClient({ endpoint, maxSockets: concurrency });
    case 'tuned':
      // clients.ts builds it exactly as the Lambda functions get it.
      return createManagementClient({ endpoint, maxSockets: concurrency });
    case 'floor':
      return createFloorClient({
        endpoint,
        connections: concurrency,
        region: process.env.AWS_REGION ?? 'eu-west-1',
        credentials: {
          accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'bench',
          secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'bench',
          sessionToken: process.env.AWS_SESSION_TOKEN,
        },
      });
    default:
      throw new Error(`--clients: unknown client "${key}" (today, tuned, floor)`);
  }
}

async function runOnce(registry: MemoryRegistry, managementClient: ApiGatewayManagementApiClient): Promise<RunFigures> {
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  const report = await broadcast(
    {
      registry,
      managementClient,
      concurrency,
      scanSegments: segments,
      timeMarginMs: 3000,
      // Pretend to be a Lambda invocation with a 30 s timeout, so the deadline logic runs as it would on AWS.
      remainingTimeMs: () => 30_000 - (performance.now() - start),
    },
    { envelope: createEnvelope('system', { message: benchMessage(), level: 'info' }) },
  );
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    elapsedMs,
    postsPerSecond: (report.connections / elapsedMs) * 1000,
    cpuUsPerPost: (cpu.user + cpu.system) / report.connections,
    delivered: report.delivered,
    failed: report.failed,
    complete: report.complete,
  };
}

async function registryOfConnections(): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry({ pageSize });
  for (let i = 0; i < connections; i++) {
    await registry.register({ userId: `user${i % 2500}`, connectionId: `conn${String(i).padStart(6, '0')}=` });
  }
  return registry;
}

/**
 * One client in a process of its own: a warm-up broadcast (JIT, lazy loading, sockets opened), then the measured
 * one, whose figures go to the parent. A fresh process per client and round, so no client pays for another's heap
 * (today's client leaves much more garbage behind, which the next client's collections would pay for) or sockets.
 */
async function worker(key: string, endpointUrl: URL): Promise<void> {
  const registry = await registryOfConnections();
  const client = buildClient(endpointUrl, key);
  const traced = values.trace ? traceClient(client) : undefined;
  await runOnce(registry, traced?.client ?? client);
  traced?.posts();
  const measured = await runOnce(registry, traced?.client ?? client);
  client.destroy();
  process.send?.({ ...measured, posts: traced?.posts() });
}

function runWorker(key: string, endpointUrl: URL): Promise<RunFigures> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1],
      ...process.argv.slice(2),
      '--worker',
      key,
      '--endpoint-url',
      endpointUrl.href,
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as RunFigures));
    child.once('exit', (code) => reject(new Error(`the ${key} worker exited (code ${code}) without figures`)));
  });
}

/** --trace: each client's round trip taken apart (medians over the runs of each part's mean). */
function printRoundTrips(keys: string[], labels: Map<string, string>, roundTrips: Map<string, RoundTrip[]>): void {
  const parts: [keyof RoundTrip, string][] = [
    ['toSocket', 'send() → written'],
    ['toEndpoint', 'written → endpoint read it'],
    ['heldOver', `endpoint held − ${delayMs} ms`],
    ['toClient', 'endpoint answered → client read headers'],
    ['settle', 'headers → send() settled'],
    ['refill', 'settled → slot refilled'],
    ['total', 'round trip'],
    ['endpointCpuUsPerPost', 'endpoint CPU µs per post'],
  ];
  console.log(
    `\nwhere a round trip goes (ms; medians over the runs of each part's mean; ${connections / concurrency} rounds per slot):`,
  );
  console.log(`client | ${parts.map(([, label]) => label).join(' | ')}`);
  for (const key of keys) {
    const rows = roundTrips.get(key) ?? [];
    if (rows.length === 0) continue;
    console.log(
      `${labels.get(key)} | ${parts.map(([part]) => median(rows.map((row) => row[part] ?? Number.NaN)).toFixed(2)).join(' | ')}`,
    );
  }
}

async function main(): Promise<void> {
  if (values.tls) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  if (values.worker !== undefined && values['endpoint-url'] !== undefined) {
    await worker(values.worker, new URL(values['endpoint-url']));
    return;
  }
  const certificate = values.tls ? await makeCertificate() : undefined;
  const { endpoint, port } = await startEndpoint(certificate);
  if (certificate !== undefined) rmSync(certificate.folder, { recursive: true, force: true });
  const endpointUrl = new URL(`${values.tls ? 'https' : 'http'}://127.0.0.1:${port}/bench`);
  const floorMs = (connections * delayMs) / concurrency;
  console.log(
    `broadcast-core: ${connections} connections, endpoint delay ${delayMs} ms, concurrency ${concurrency}, ` +
      `segments ${segments}, page size ${pageSize}, envelope ${encodeEnvelope(createEnvelope('system', { message: benchMessage(), level: 'info' })).byteLength} bytes, node ${process.version}, ${cpus().length} CPUs, ` +
      `load average ${loadavg()[0].toFixed(1)}, node flags: ${nodeFlags() || 'none'}, ` +
      `${values.tls ? 'HTTPS' : 'HTTP'}, session token ${process.env.AWS_SESSION_TOKEN?.length ?? 0} bytes`,
  );
  const keys = values.clients.split(',');
  const labels = new Map(buildLabels(keys));
  const figures = new Map<string, RunFigures[]>(keys.map((key) => [key, []]));
  const roundTrips = new Map<string, RoundTrip[]>(keys.map((key) => [key, []]));
  console.log(
    'run | client | elapsed ms | posts/s | elapsed / floor | client CPU µs per post | delivered | failed | complete',
  );
  for (let run = 1; run <= runs; run++) {
    // Rotating order: no client always runs right after the same other one (machine load drifts).
    for (let index = 0; index < keys.length; index++) {
      const key = keys[(run - 1 + index) % keys.length];
      if (values.trace) endpoint.send('trace');
      const result = await runWorker(key, endpointUrl);
      figures.get(key)?.push(result);
      if (result.posts !== undefined) {
        const { times, cpuUsPerPost } = await endpointTrace(endpoint);
        roundTrips.get(key)?.push({ ...roundTrip(result.posts, times), endpointCpuUsPerPost: cpuUsPerPost });
      }
      console.log(
        `${run} | ${labels.get(key)} | ${result.elapsedMs.toFixed(0)} | ${result.postsPerSecond.toFixed(0)} | ` +
          `${(result.elapsedMs / floorMs).toFixed(2)} | ${result.cpuUsPerPost.toFixed(0)} | ${result.delivered} | ` +
          `${result.failed} | ${result.complete}`,
      );
    }
  }

  const medians = new Map(
    keys.map((key) => {
      const rows = figures.get(key) ?? [];
      return [
        key,
        {
          elapsedMs: median(rows.map((row) => row.elapsedMs)),
          postsPerSecond: median(rows.map((row) => row.postsPerSecond)),
          cpuUsPerPost: median(rows.map((row) => row.cpuUsPerPost)),
        },
      ];
    }),
  );
  const floorCpu = medians.get('floor')?.cpuUsPerPost;
  console.log(`\nmedians of ${runs} runs:`);
  console.log('client | elapsed ms | posts/s | elapsed / floor | client CPU µs per post | CPU / raw floor');
  for (const key of keys) {
    const row = medians.get(key);
    if (row === undefined) continue;
    console.log(
      `${labels.get(key)} | ${row.elapsedMs.toFixed(0)} | ${row.postsPerSecond.toFixed(0)} | ${(row.elapsedMs / floorMs).toFixed(2)} | ` +
        `${row.cpuUsPerPost.toFixed(0)} | ${floorCpu === undefined ? '-' : `${(row.cpuUsPerPost / floorCpu).toFixed(2)}×`}`,
    );
  }
  if (values.trace) printRoundTrips(keys, labels, roundTrips);
  const tuned = medians.get('tuned');
  if (tuned !== undefined) {
    const elapsedTarget = TARGET_ELAPSED_OVER_FLOOR * floorMs;
    console.log(
      `\nissue 10 targets, tuned SDK client: CPU ${tuned.cpuUsPerPost.toFixed(0)} µs per post (target ≤ ${TARGET_CPU_US_PER_POST}: ` +
        `${tuned.cpuUsPerPost <= TARGET_CPU_US_PER_POST ? 'met' : 'not met'}); elapsed ${tuned.elapsedMs.toFixed(0)} ms ` +
        `(target ≤ ${elapsedTarget.toFixed(0)}: ${tuned.elapsedMs <= elapsedTarget ? 'met' : 'not met'})`,
    );
  }
  console.log(`floor: ${connections} × ${delayMs} ms / ${concurrency} = ${floorMs.toFixed(0)} ms`);
  console.log(`posts seen by the endpoint: ${await postsSeen(endpoint)}`);
  endpoint.send('stop');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
