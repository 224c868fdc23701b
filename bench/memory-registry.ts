import type { ConnectedUsersPage, ConnectionRegistry, ScanOptions } from '../lambdas/core/registry';
import type { ConnectionItem } from '../lambdas/core/table-schema';

/**
 * An in-memory {@link ConnectionRegistry} for the broadcast benchmark and the delivery unit tests: it keeps
 * the interface's contract (live-only reads, pages, segments) without DynamoDB, so what is measured or tested
 * is the delivery core itself. Not for production: nothing is shared between processes.
 *
 * @example
 * const registry = new MemoryRegistry({ pageSize: 1000 });
 * await registry.register({ userId: 'user123', connectionId: 'abc=' });
 */
export class MemoryRegistry implements ConnectionRegistry {
  private readonly items = new Map<string, ConnectionItem>();
  /** Every item ever stored, in key order; rebuilt only when one is added (a removal is skipped at read time). */
  private sorted: ConnectionItem[] | undefined;
  /** `sorted` split by segment, per segment count asked for (rebuilt with `sorted`). */
  private readonly segmented = new Map<number, ConnectionItem[][]>();
  /** Every `remove` call, in order, so tests can tell which connection was removed. */
  readonly removed: Array<{ userId: string; connectionId: string }> = [];
  /** Pages read by `scanConnections`, all segments together. */
  pagesRead = 0;

  constructor(private readonly options: { pageSize?: number; ttlSeconds?: number; now?: () => Date } = {}) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private isLive(item: ConnectionItem, nowSeconds: number): boolean {
    return item.expiresAt > nowSeconds && this.items.get(key(item.userId, item.connectionId)) === item;
  }

  private sortedItems(): ConnectionItem[] {
    // Sorting (and hashing into segments) a benchmark's 200,000 items on every scan would cost more CPU than the
    // posts it feeds; a removal only needs skipping at read time.
    if (this.sorted === undefined) {
      this.sorted = [...this.items.values()].sort(compareKeys);
      this.segmented.clear();
    }
    return this.sorted;
  }

  private live(): ConnectionItem[] {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    return this.sortedItems().filter((item) => this.isLive(item, nowSeconds));
  }

  private segmentItems(segment: number, totalSegments: number): ConnectionItem[] {
    const sorted = this.sortedItems();
    let segments = this.segmented.get(totalSegments);
    if (segments === undefined) {
      segments = Array.from({ length: totalSegments }, (): ConnectionItem[] => []);
      for (const item of sorted) segments[segmentOf(item.userId, totalSegments)].push(item);
      this.segmented.set(totalSegments, segments);
    }
    return segments[segment] ?? [];
  }

  async register({
    userId,
    connectionId,
    protocol,
    replaying,
  }: {
    userId: string;
    connectionId: string;
    protocol?: string;
    replaying?: boolean;
  }): Promise<ConnectionItem> {
    const connectedAt = this.now();
    const item: ConnectionItem = {
      userId,
      connectionId,
      connectedAt: connectedAt.toISOString(),
      expiresAt: Math.floor(connectedAt.getTime() / 1000) + (this.options.ttlSeconds ?? 3 * 3600),
    };
    if (protocol === 'socket.io') item.protocol = protocol;
    if (replaying) item.replaying = true;
    this.items.set(key(userId, connectionId), item);
    this.sorted = undefined;
    return item;
  }

  /** Stores an item as given (an expired one, say). */
  put(item: ConnectionItem): void {
    this.items.set(key(item.userId, item.connectionId), item);
    this.sorted = undefined;
  }

  async remove(userId: string, connectionId: string): Promise<string[]> {
    this.removed.push({ userId, connectionId });
    this.items.delete(key(userId, connectionId));
    // The benchmarks join no rooms.
    return [];
  }

  async connection(userId: string, connectionId: string): Promise<ConnectionItem | undefined> {
    const item = this.items.get(key(userId, connectionId));
    return item && this.isLive(item, Math.floor(this.now().getTime() / 1000)) ? { ...item } : undefined;
  }

  async finishReplay(
    userId: string,
    connectionId: string,
    handoff: { liveAfter: string; replayReadAt: number },
  ): Promise<boolean> {
    const item = this.items.get(key(userId, connectionId));
    if (!item) return false;
    const { replaying: _replaying, ...live } = item;
    this.items.set(key(userId, connectionId), { ...live, ...handoff });
    this.sorted = undefined;
    return true;
  }

  async connectionsOf(userId: string): Promise<ConnectionItem[]> {
    return this.live().filter((item) => item.userId === userId);
  }

  async listConnectedUsers({ limit, cursor }: { limit: number; cursor?: string }): Promise<ConnectedUsersPage> {
    const users = [...new Set(this.live().map((item) => item.userId))];
    const start = cursor === undefined ? 0 : users.indexOf(cursor) + 1;
    const page = users.slice(start, start + limit);
    return start + limit < users.length ? { users: page, nextCursor: page.at(-1) } : { users: page };
  }

  async *scanConnections(options: ScanOptions = {}): AsyncIterable<ConnectionItem[]> {
    const { segment = 0, totalSegments = 1, startAfter } = options;
    const pageSize = options.pageSize ?? this.options.pageSize ?? 1000;
    // As DynamoDB does, a connection's segment follows from its partition key alone, so it stays in its segment
    // while others come and go (a slice resuming from a checkpoint must find the same connections after it).
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const inSegment = this.segmentItems(segment, totalSegments);
    const first = startAfter === undefined ? 0 : firstIndexAfter(inSegment, startAfter);
    const mine = inSegment.slice(first).filter((item) => this.isLive(item, nowSeconds));
    for (let start = 0; start < mine.length; start += pageSize) {
      this.pagesRead++;
      yield mine.slice(start, start + pageSize);
    }
  }
}

const key = (userId: string, connectionId: string): string => `${userId}\u0000${connectionId}`;
const compareKeys = (a: ConnectionKey, b: ConnectionKey): number =>
  a.userId === b.userId ? cmp(a.connectionId, b.connectionId) : cmp(a.userId, b.userId);

type ConnectionKey = Pick<ConnectionItem, 'userId' | 'connectionId'>;

/** The index of the first item after `start` in key order (a binary search: `items` is sorted). */
function firstIndexAfter(items: readonly ConnectionItem[], start: ConnectionKey): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys(items[middle], start) > 0) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** FNV-1a over the user id: a stable stand-in for DynamoDB's hashing of the partition key into segments. */
function segmentOf(userId: string, totalSegments: number): number {
  if (totalSegments === 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < userId.length; index++) {
    hash ^= userId.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % totalSegments;
}
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
