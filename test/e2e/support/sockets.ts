import WebSocket from 'ws';
import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../../../lambdas/routes';

/** How a client hands its token over at connect (see docs/protocol.md). */
export type TokenCarrier = 'header' | 'subprotocol' | 'query';

/** A frame from the server: the envelope, or API Gateway's own `{ message, connectionId, requestId }`. */
export interface ServerFrame {
  type?: string;
  data?: unknown;
  timestamp?: string;
  id?: string;
  from?: string;
  message?: string;
  [key: string]: unknown;
}

/**
 * An open client socket that queues every frame it receives, so a test can wait for the next one, or for one
 * of a given type, or check that none arrived.
 */
export class TestClient {
  readonly socket: WebSocket;
  readonly #queue: ServerFrame[] = [];
  readonly #waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      this.#queue.push(JSON.parse(data.toString()) as ServerFrame);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame (of `type`, when given; frames of other types before it are dropped). */
  async next(type?: string, timeoutMs = 5000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#queue.findIndex((frame) => type === undefined || frame.type === type);
      if (index >= 0) {
        const [frame] = this.#queue.splice(0, index + 1).slice(-1);
        return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no ${type ?? ''} frame within ${timeoutMs} ms; queued: ${JSON.stringify(this.#queue)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves if no frame arrives within `ms`; rejects with the frame otherwise. */
  async expectNothing(ms = 300): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#queue.length > 0) throw new Error(`unexpected frames: ${JSON.stringify(this.#queue)}`);
  }

  /** Closes normally and waits for the close handshake. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close(1000);
    await this.closed;
  }
}

export interface ConnectOptions {
  carrier?: TokenCarrier;
  origin?: string;
}

/**
 * Opens a socket with `token` on a carrier; resolves with a client once open, or rejects with an error
 * carrying the refusing HTTP status (`statusCode`).
 *
 * @example
 * const client = await connect(target.wsUrl, token, { carrier: 'subprotocol' });
 * client.send({ action: 'hello' });
 * await client.next('authenticated');
 */
export function connect(url: string, token: string | undefined, options: ConnectOptions = {}): Promise<TestClient> {
  const carrier = options.carrier ?? 'header';
  const headers: Record<string, string> = {};
  if (options.origin) headers.Origin = options.origin;
  let address = url;
  let protocols: string[] | undefined;
  if (token !== undefined) {
    if (carrier === 'header') headers.Authorization = `Bearer ${token}`;
    if (carrier === 'subprotocol') protocols = [webSocketSubprotocol, `${bearerSubprotocolPrefix}${token}`];
    if (carrier === 'query') address = `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(address, protocols, { headers });
    socket.once('open', () => resolve(new TestClient(socket)));
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      socket.terminate();
      reject(
        Object.assign(new Error(`handshake refused with ${response.statusCode}`), { statusCode: response.statusCode }),
      );
    });
    socket.once('error', reject);
  });
}

/** Polls until `probe` resolves true (registry rows are written and removed by asynchronous handlers). */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
