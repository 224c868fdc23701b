import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { signDevToken } from '../../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../../local/stack';

/** One event a Socket.IO client received: its name and arguments. */
export interface ReceivedEvent {
  name: string;
  args: unknown[];
}

/**
 * The options that point an unmodified socket.io-client at a WebSocket API stage: the origin as the URL, the stage
 * as `path` (socket.io-client appends `/` and `?EIO=4&transport=websocket`), the websocket transport only (API
 * Gateway has no HTTP long-polling), and no automatic reconnection (tests watch each disconnect).
 *
 * @example
 * const { url, options } = socketIoAddress('ws://127.0.0.1:8090/local');
 * // url 'http://127.0.0.1:8090', options.path '/local'
 */
export function socketIoAddress(stageUrl: string): { url: string; options: Partial<ManagerOptions & SocketOptions> } {
  const stage = new URL(stageUrl);
  const scheme = stage.protocol === 'wss:' ? 'https:' : 'http:';
  return {
    url: `${scheme}//${stage.host}`,
    options: { path: stage.pathname, transports: ['websocket'], reconnection: false },
  };
}

/**
 * A real socket.io-client v4 socket that records every event, so a test can wait for the next one of a name.
 */
export class SocketIoTestClient {
  readonly socket: Socket;
  readonly #events: ReceivedEvent[] = [];
  readonly #waiters: Array<() => void> = [];
  /** The reason of the client's `disconnect` event. */
  readonly disconnected: Promise<string>;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.onAny((name: string, ...args: unknown[]) => this.#push({ name, args }));
    this.disconnected = new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
  }

  #push(event: ReceivedEvent): void {
    this.#events.push(event);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** The next event named `name` (earlier events of other names stay queued). */
  async next(name: string, timeoutMs = 5000): Promise<unknown[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#events.findIndex((event) => event.name === name);
      if (index >= 0) return this.#events.splice(index, 1)[0].args;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${name} event within ${timeoutMs} ms; got ${JSON.stringify(this.#events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every event received and not yet taken by `next`. */
  pending(): ReceivedEvent[] {
    return [...this.#events];
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Connects an unmodified socket.io-client to a stage; resolves once `connect` fired, rejects with the
 * `connect_error`.
 *
 * @example
 * const client = await connectSocketIo(target.wsUrl, { extraHeaders: { Authorization: `Bearer ${token}` } });
 * client.socket.id; // the API Gateway connection id
 */
export function connectSocketIo(
  stageUrl: string,
  options: Partial<ManagerOptions & SocketOptions>,
): Promise<SocketIoTestClient> {
  const address = socketIoAddress(stageUrl);
  const socket = io(address.url, { ...address.options, ...options });
  const client = new SocketIoTestClient(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** What {@link useIdleSocketIoStack} gives a suite: a socket that sends nothing of its own, closed after the suite. */
export interface IdleSocketIoStack {
  /** Connects user123 with reconnection on (fast), as an application would leave it. */
  idleClient(): Promise<Socket>;
}

/**
 * A local stack with a shortened idle timeout (and ping sweeps every `scheduleIntervalMs`, 0 for none), started for
 * the file, and the idle socket.io-client the heartbeat tests watch.
 *
 * @example
 * const { idleClient } = useIdleSocketIoStack({ idleTimeoutMs: 1000, scheduleIntervalMs: 250 });
 * it('stays connected', async () => { const socket = await idleClient(); ... });
 */
export function useIdleSocketIoStack(options: {
  idleTimeoutMs: number;
  scheduleIntervalMs: number;
}): IdleSocketIoStack {
  let stack: LocalStack | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true, ...options });
  }, 60_000);
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await stack?.stop();
  });

  return {
    async idleClient() {
      if (!stack) throw new Error('the local stack is started in beforeAll: connect inside a test');
      const token = await signDevToken(stack.jwtSecret, 'user123');
      const { url, options: address } = socketIoAddress(stack.wsUrl);
      const socket = io(url, {
        ...address,
        reconnection: true,
        reconnectionDelay: 50,
        extraHeaders: { Authorization: `Bearer ${token}` },
      });
      sockets.push(socket);
      return socket;
    },
  };
}
