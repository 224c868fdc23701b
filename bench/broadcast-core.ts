/**
 * Benchmark (figures only, no pass or fail) of the broadcast delivery core, issue 3's "Done when":
 * 10,000 registered connections, a management endpoint that answers each post after 20 ms, 200 posts in flight.
 * The floor is 10,000 × 20 ms / 200 = 1 s; the budget is 3 s within one invocation.
 *
 * Run: `npx tsx bench/broadcast-core.ts` (options: `--connections N --delay-ms N --concurrency N --segments N
 * --page-size N --runs N --message-bytes N`). Run 1 includes the JIT warm-up and the SDK's lazy loading, as a broadcast right after
 * a cold start would.
 *
 * What is real: the delivery core (`broadcast`), the `ApiGatewayManagementApiClient` built by `clients.ts` with its
 * keep-alive socket pool and SigV4 signing, and a local HTTP server standing in for `@connections`, running in a
 * child process so its event loop and CPU time are not the client's (the client's CPU per post is printed too). What is not: the registry is in memory
 * (`bench/memory-registry.ts`), so the figures isolate posting from DynamoDB reads.
 *
 * The run is CPU-bound in the client (about 0.2 ms per post, most of it the SDK's request pipeline, the loopback
 * write and garbage collection). To see where it goes: `node --cpu-prof --cpu-prof-dir=/tmp/broadcast-profile
 * --import tsx bench/broadcast-core.ts --runs 2` (profiles stay out of git). Node flags in effect are printed in
 * the header: a larger young generation (`node --max-semi-space-size=32`, or `NODE_OPTIONS` on Lambda) cut the
 * client CPU per post by another 12-15% here (230 -> 200 µs), garbage collection being about 9% of the profile.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createManagementClient } from '../lambdas/core/clients';
import { broadcast } from '../lambdas/core/delivery';
import { createEnvelope } from '../lambdas/core/envelope';
import { encodeEnvelope } from '../lambdas/core/validation';
import { MemoryRegistry } from './memory-registry';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    'delay-ms': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '200' },
    segments: { type: 'string', default: '1' },
    'page-size': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    'message-bytes': { type: 'string' },
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
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The stand-in management endpoint: answers every request after `delayMs`, counts them. */
const endpointSource = `
const { createServer } = require('node:http');
const delayMs = Number(process.argv[1]);
let posts = 0;
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => setTimeout(() => { posts++; response.writeHead(200).end(); }, delayMs));
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message === 'count') process.send({ posts });
  if (message === 'stop') process.exit(0);
});
`;

function startEndpoint(): Promise<{ endpoint: ChildProcess; port: number }> {
  const endpoint = spawn(process.execPath, ['-e', endpointSource, String(delayMs)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) =>
    endpoint.once('message', (message) => resolve({ endpoint, port: (message as { port: number }).port })),
  );
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

async function main(): Promise<void> {
  const { endpoint, port } = await startEndpoint();
  const registry = new MemoryRegistry({ pageSize });
  for (let i = 0; i < connections; i++) {
    await registry.register({ userId: `user${i % 2500}`, connectionId: `conn${String(i).padStart(6, '0')}=` });
  }
  const floorMs = (connections * delayMs) / concurrency;
  console.log(
    `broadcast-core: ${connections} connections, endpoint delay ${delayMs} ms, concurrency ${concurrency}, ` +
      `segments ${segments}, page size ${pageSize}, envelope ${encodeEnvelope(createEnvelope('system', { message: benchMessage(), level: 'info' })).byteLength} bytes, node ${process.version}, ${cpus().length} CPUs, ` +
      `load average ${loadavg()[0].toFixed(1)}, node flags: ${nodeFlags() || 'none'}`,
  );
  // clients.ts builds the client exactly as the Lambda functions get it (keep-alive pool, standard retries, cached
  // middleware stack, one signer and one user-agent header per client: the per-post CPU the SDK spends is what
  // bounds a broadcast here).
  {
    const managementClient = createManagementClient({
      endpoint: new URL(`http://127.0.0.1:${port}/bench`),
      maxSockets: concurrency,
    });
    console.log(
      'run | elapsed ms | posts/s | elapsed / floor | client CPU ms per post | delivered | failed | complete',
    );
    for (let run = 1; run <= runs; run++) {
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
      const elapsed = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMsPerPost = (cpu.user + cpu.system) / 1000 / report.connections;
      console.log(
        `${run} | ${elapsed.toFixed(0)} | ${((report.connections / elapsed) * 1000).toFixed(0)} | ` +
          `${(elapsed / floorMs).toFixed(2)} | ${cpuMsPerPost.toFixed(3)} | ${report.delivered} | ${report.failed} | ` +
          `${report.complete}`,
      );
    }
    managementClient.destroy();
  }
  console.log(`\nfloor: ${connections} × ${delayMs} ms / ${concurrency} = ${floorMs.toFixed(0)} ms`);
  console.log(`posts seen by the endpoint: ${await postsSeen(endpoint)}`);
  endpoint.send('stop');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
