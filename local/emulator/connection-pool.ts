import type { WebSocket } from 'ws';
import type { ConnectionFacts } from './websocket-events';

/** One accepted connection: its socket, the facts its events carry, and its timers. */
export interface PooledConnection {
  facts: ConnectionFacts;
  socket: WebSocket;
  /** Epoch ms of the last frame the client sent (what `@connections` GET reports as `LastActiveAt`). */
  lastActiveAt: number;
  /** Set when the emulator itself closes the socket, so `$disconnect` reports its code, not the echo. */
  closedBy?: { code: number; reason: string };
  /** Set when the connection vanished (an injected network loss): its socket died and no `$disconnect` follows. */
  vanished?: boolean;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

/**
 * The open connections by id: what `@connections` looks up and what shutdown walks. A connection enters only
 * after `$connect` accepted it, so nothing can be posted to it before, as on API Gateway.
 *
 * @example
 * const pool = new ConnectionPool();
 * pool.add(connection);
 * pool.get(connection.facts.connectionId)?.socket.send('{"type":"chat"}');
 */
export class ConnectionPool {
  readonly #connections = new Map<string, PooledConnection>();

  add(connection: PooledConnection): void {
    this.#connections.set(connection.facts.connectionId, connection);
  }

  get(connectionId: string): PooledConnection | undefined {
    return this.#connections.get(connectionId);
  }

  remove(connectionId: string): void {
    this.#connections.delete(connectionId);
  }

  get size(): number {
    return this.#connections.size;
  }

  all(): PooledConnection[] {
    return [...this.#connections.values()];
  }

  /**
   * Kills one connection without a close frame and without `$disconnect`, as a network loss does (the injected
   * `gonePosts` fault): it leaves the pool at once, so every later `@connections` call for it is 410.
   */
  vanish(connectionId: string): boolean {
    const connection = this.#connections.get(connectionId);
    if (!connection || connection.closedBy) return false;
    connection.vanished = true;
    this.#connections.delete(connectionId);
    connection.socket.terminate();
    return true;
  }

  /**
   * Closes one connection from the server side with `code`, remembering the reason for its `$disconnect` event.
   * Closing a connection already closing is a no-op.
   */
  close(connectionId: string, code: number, reason: string): boolean {
    const connection = this.#connections.get(connectionId);
    if (!connection || connection.closedBy) return false;
    connection.closedBy = { code, reason };
    connection.socket.close(code, reason);
    return true;
  }
}
