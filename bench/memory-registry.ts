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
  /** Every `remove` call, in order, so tests can tell which connection was removed. */
  readonly removed: Array<{ userId: string; connectionId: string }> = [];
  /** Pages read by `scanConnections`, all segments together. */
  pagesRead = 0;

  constructor(private readonly options: { pageSize?: number; ttlSeconds?: number; now?: () => Date } = {}) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private live(): ConnectionItem[] {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    return [...this.items.values()]
      .filter((item) => item.expiresAt > nowSeconds)
      .sort((a, b) => (a.userId === b.userId ? cmp(a.connectionId, b.connectionId) : cmp(a.userId, b.userId)));
  }

  async register({ userId, connectionId }: { userId: string; connectionId: string }): Promise<ConnectionItem> {
    const connectedAt = this.now();
    const item: ConnectionItem = {
      userId,
      connectionId,
      connectedAt: connectedAt.toISOString(),
      expiresAt: Math.floor(connectedAt.getTime() / 1000) + (this.options.ttlSeconds ?? 3 * 3600),
    };
    this.items.set(key(userId, connectionId), item);
    return item;
  }

  /** Stores an item as given (an expired one, say). */
  put(item: ConnectionItem): void {
    this.items.set(key(item.userId, item.connectionId), item);
  }

  async remove(userId: string, connectionId: string): Promise<void> {
    this.removed.push({ userId, connectionId });
    this.items.delete(key(userId, connectionId));
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
    const { segment = 0, totalSegments = 1 } = options;
    const pageSize = options.pageSize ?? this.options.pageSize ?? 1000;
    const mine = this.live().filter((_, index) => index % totalSegments === segment);
    for (let start = 0; start < mine.length; start += pageSize) {
      this.pagesRead++;
      yield mine.slice(start, start + pageSize);
    }
  }
}

const key = (userId: string, connectionId: string): string => `${userId}\u0000${connectionId}`;
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
