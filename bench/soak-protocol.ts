import type { SystemEndpoints } from './protocol';

/** IPC between the soak runner (`bench/soak.ts`) and the local stack's process (`bench/soak-system.ts`). */

/** One look at the stack's process. */
export interface SoakSample {
  /** Epoch ms. */
  at: number;
  rssBytes: number;
  /** After a full collection: what survives. */
  heapUsedBytes: number;
  /** Buffers and other memory outside the V8 heap. */
  externalBytes: number;
  /** Sockets the WebSocket emulator holds open. */
  openConnections: number;
  /** Rows in the registry table, expired or not. */
  registryRows: number;
  /** CPU time the process has used since it started (user + system). */
  cpuMs: number;
}

/** `snapshotFile`: also write a V8 heap snapshot there after the collection (`--heap-snapshots`, to find what grows). */
export type SoakSystemCommand = { kind: 'stop' } | { kind: 'sample'; id: number; snapshotFile?: string };

export type SoakSystemReport =
  | { kind: 'ready'; endpoints: SystemEndpoints }
  | { kind: 'failed'; message: string }
  | { kind: 'sample'; id: number; sample: SoakSample }
  | { kind: 'sampleFailed'; id: number; message: string };
