import type { Envelope } from '../lambdas/core/envelope';
import { type AckCallback, AckError, PendingAcks, promiseCallback } from './acks';
import { ReconnectBackoff } from './backoff';
import { ConnectError, type ConnectErrorReason } from './connect-error';
import { armConnectTimeout, type ConnectionAttempt, stopAttemptTimers } from './connection-attempt';
import { type DisconnectReason, lostConnectionReason } from './disconnect-reason';
import { EmitBuffer } from './emit-buffer';
import { encodeEmit } from './emit-frame';
import { Emitter, type Listener } from './emitter';
import { HandshakeFailureReader, readRenewalRefusal } from './handshake-failure';
import { Heartbeat } from './heartbeat';
import { MessageHistory } from './message-history';
import { type RealtimeSocketOptions, type ResolvedSocketOptions, resolveSocketOptions } from './options';
import { isFresher, nextRenewal, type RenewalReason } from './renewal-schedule';
import { encodeOfflineReceipt, encodeResume, type ReplayData, type ReplayGap, type ReplaySession } from './replay';
import {
  type AuthenticatedData,
  type DeliveryReportData,
  type DeliverySummaryData,
  type DetailedDeliveryReportData,
  decodeServerFrame,
  isAdapterEventName,
  isAnswerFrame,
  RecentEnvelopeIds,
  type ServerErrorData,
} from './server-frames';
import { readTokenExpiry } from './token-expiry';
import { resolveToken, withoutAuthorization } from './token-source';
import { buildHandshake, resolveWebSocket, Transport, type TransportClose } from './transport';

/**
 * Carries the reconnection events, as socket.io-client's `socket.io` (the Manager) does in v4. The socket fires
 * them too, as v2 did, so either style of listener works.
 *
 * @example
 * socket.io.on('reconnect_attempt', (attempt) => console.log('attempt', attempt));
 */
export class ReconnectionEvents extends Emitter {}

/**
 * A socket.io-client-shaped socket over API Gateway WebSockets. Create it with `io(url, options)`.
 *
 * @example
 * const socket = io('wss://abc.execute-api.eu-west-1.amazonaws.com/prod', { auth: { token } });
 * socket.on('connect', () => console.log('connected as', socket.id));
 * socket.on('notification', (data) => console.log(data.title));
 * socket.emit('send', { userId: 'user456', type: 'chat', data: { message: 'hi' } });
 */
export class RealtimeSocket extends Emitter {
  /** The reconnection events (socket.io-client v4's Manager). */
  readonly io = new ReconnectionEvents();
  /** The connection id API Gateway gave the current connection; undefined while disconnected. */
  id: string | undefined;
  /** The userId the server authenticated (the token's `sub`). */
  userId: string | undefined;
  /** Whether the socket is connected and authenticated. */
  connected = false;
  /**
   * Whether the last connect recovered everything missed since the previous connection (socket.io-client's
   * `recovered`): true once the server's replay said nothing was lost; false on a first connect, when the server
   * reported a gap (`recovery_gap`: retention or cap exceeded), or when the replay did not answer in time.
   */
  recovered = false;

  private readonly url: string;
  private readonly options: ResolvedSocketOptions;
  private readonly backoff: ReconnectBackoff;
  private readonly buffer: EmitBuffer;
  private readonly recentEnvelopeIds = new RecentEnvelopeIds();
  private readonly acks = new PendingAcks();
  /** `timeout(ms)`'s flag, for the next emit only. */
  private nextAckTimeoutMs: number | undefined;
  private readonly history: MessageHistory;
  private current: ConnectionAttempt | undefined;
  private renewal: ConnectionAttempt | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** True between `connect()` and `disconnect()` (or giving up): the socket wants to be connected. */
  private wanted = false;
  private readonly handshakeFailures: HandshakeFailureReader;
  /** Bumped on every `connect()`/`disconnect()`, so an attempt started before one of them is abandoned. */
  private generation = 0;
  /** True while a renewal obtains its token, before it is `renewal`: no second renewal starts beside it. */
  private renewalStarting = false;
  /** Rooms joined with `join()`: a membership ends with its connection, so each new connection joins them again. */
  private readonly rooms = new Set<string>();

  constructor(url: string, options: RealtimeSocketOptions = {}) {
    super();
    if (typeof url !== 'string' || url.length === 0) throw new TypeError('io(url): url must be a non-empty string');
    buildHandshake({ url, token: undefined, carrier: 'header', query: options.query ?? {}, headers: {} });
    this.url = url;
    this.options = resolveSocketOptions(options);
    this.backoff = new ReconnectBackoff(this.options);
    this.history = new MessageHistory(this.options.resumeFrom);
    this.handshakeFailures = new HandshakeFailureReader(this.options.timeout, this.options.refusedAfterFailures);
    this.buffer = new EmitBuffer(this.options.maxBufferedEmits, (dropped) => {
      this.acks.dropped(dropped.ackId);
      this.emitLocal('emit_dropped', { action: dropped.event, frame: dropped.text });
    });
    if (this.options.autoConnect) this.connect();
  }

  /**
   * Adds a listener. The adapter's own events are typed (see {@link RealtimeSocketEvents}); a message type such as
   * `chat` or `notification` gets `(data, envelope)`.
   *
   * @example
   * socket.on('disconnect', (reason) => console.log(reason));
   * socket.on('chat', (data, envelope) => console.log(envelope.from, data));
   */
  override on<E extends keyof RealtimeSocketEvents>(event: E, listener: RealtimeSocketEvents[E]): this;
  override on(event: string, listener: Listener): this;
  override on(event: string, listener: Listener): this {
    return super.on(event, listener);
  }

  /**
   * Adds a listener that runs once.
   *
   * @example
   * socket.once('connect', () => console.log('connected as', socket.userId));
   */
  override once<E extends keyof RealtimeSocketEvents>(event: E, listener: RealtimeSocketEvents[E]): this;
  override once(event: string, listener: Listener): this;
  override once(event: string, listener: Listener): this {
    return super.once(event, listener);
  }

  /** Whether the socket is not connected. */
  get disconnected(): boolean {
    return !this.connected;
  }

  /** Whether the socket is connected or trying to be (socket.io-client's `active`). */
  get active(): boolean {
    return this.wanted;
  }

  /**
   * The log id of the newest message fired: what the next connect resumes from. Save it (e.g. in `localStorage`)
   * and pass it back as the `resumeFrom` option to pick up where a reloaded page left off.
   */
  get lastLogId(): string | undefined {
    return this.history.lastLogId;
  }

  /** How many emits wait for a connection. */
  get bufferedEmits(): number {
    return this.buffer.size;
  }

  /**
   * Opens the connection (again). Does nothing if the socket is connected or already trying.
   *
   * @example
   * const socket = io(url, { auth: { token }, autoConnect: false });
   * socket.connect();
   */
  connect(): this {
    if (this.wanted) return this;
    this.wanted = true;
    this.generation += 1;
    this.handshakeFailures.reset();
    this.backoff.reset();
    void this.startAttempt(false);
    return this;
  }

  /** Alias of {@link RealtimeSocket.connect}, as in socket.io-client. */
  open(): this {
    return this.connect();
  }

  /**
   * Closes the connection for good: no reconnection until `connect()` is called. Fires `disconnect` with
   * `io client disconnect` if the socket was connected.
   *
   * @example
   * window.addEventListener('beforeunload', () => socket.disconnect());
   */
  disconnect(): this {
    this.wanted = false;
    // Closing for good ends the memberships, as on a Socket.IO server: a later `connect()` starts without rooms.
    this.rooms.clear();
    this.generation += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropRenewal();
    const attempt = this.current;
    this.current = undefined;
    if (attempt) {
      stopAttemptTimers(attempt);
      attempt.transport.close(1000, 'io client disconnect');
    }
    this.markDisconnected('io client disconnect');
    return this;
  }

  /** Alias of {@link RealtimeSocket.disconnect}, as in socket.io-client. */
  close(): this {
    return this.disconnect();
  }

  /**
   * Sends a frame, or buffers it until the socket is connected. The mapping:
   * - `emit('ping')` → `{"action":"ping"}`; the answer fires `pong`;
   * - `emit('hello')` → `{"action":"hello"}`; the answer fires `authenticated`;
   * - `emit('send', { userId | userIds, type, data })` → the socket's send route; the answer fires `delivery`
   *   (or `error`);
   * - any other `emit(action, payload)` → a custom route: `{"action": action, ...payload}` when the payload is an
   *   object, else `{"action": action, "data": payload}`. An action the server does not route gets an `error`.
   *
   * A function as the last argument is an acknowledgement callback, as in socket.io-client: it gets the route's
   * answer as `(data, envelope)` instead of the answer's event (`pong`, `delivery`, `error`, ...); after
   * {@link RealtimeSocket.timeout} it gets an error first, `(err, data, envelope)`. The answer comes back on the
   * connection the frame went out on only: if that connection closes first, a plain callback is never called and an
   * error-first one gets an {@link AckError} `disconnected`.
   *
   * @example
   * socket.emit('send', { userId: 'user456', type: 'chat', data: { message: 'Hello!' } });
   * socket.emit('ping', (data) => console.log('server time', data.serverTime));
   */
  emit(action: string, ...args: unknown[]): this {
    const timeoutMs = this.nextAckTimeoutMs;
    this.nextAckTimeoutMs = undefined;
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as AckCallback) : undefined;
    // `emitWithAck` without `timeout()` wants an error-first callback and no timer.
    const ackId = callback
      ? this.acks.register(callback, {
          withError: timeoutMs !== undefined,
          timeoutMs: Number.isFinite(timeoutMs) ? timeoutMs : undefined,
        })
      : undefined;
    let text: string;
    try {
      text = encodeEmit(action, args, ackId);
    } catch (error) {
      this.acks.cancel(ackId); // an emit refused here was never sent: nothing stays pending
      throw error;
    }
    const frame = { event: action, text, ackId };
    if (this.connected && this.current?.transport.send(frame.text)) {
      this.acks.sent(ackId, this.current);
      return this;
    }
    this.buffer.add(frame);
    return this;
  }

  /**
   * Emits with an acknowledgement and returns the answer's data, as socket.io-client's `emitWithAck`. Rejects with
   * an {@link AckError}: `server_error` (with the server's `code`) when the route answered with an `error` frame,
   * `disconnected` when the connection closed first, `timeout` after {@link RealtimeSocket.timeout}, `dropped`
   * when the offline buffer dropped the emit.
   *
   * @example
   * const report = await socket.timeout(5000).emitWithAck('send', { userId: 'user456', type: 'chat', data: {} });
   * report.recipients.user456; // 'delivered'
   */
  emitWithAck<T = unknown>(action: string, ...args: unknown[]): Promise<T> {
    const timeoutMs = this.nextAckTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      this.nextAckTimeoutMs = timeoutMs ?? Number.POSITIVE_INFINITY;
      try {
        this.emit(action, ...args, promiseCallback(resolve as (data: unknown) => void, reject));
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * Sets a timeout for the next emit's acknowledgement, whose callback then takes an error first, as
   * socket.io-client's `timeout()`.
   *
   * @example
   * socket.timeout(5000).emit('ping', (err, data) => { if (err) console.warn('no pong in 5 s'); });
   */
  timeout(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('timeout(ms): ms must be a non-negative number');
    this.nextAckTimeoutMs = ms;
    return this;
  }

  /**
   * Sends a message to one user or several through the socket's send route (`emit('send', ...)` in short).
   *
   * @example
   * socket.sendTo('user456', 'chat', { message: 'Hello!' });
   * socket.sendTo(['user456', 'user789'], 'announcement', { text: 'Deploy at 5' });
   */
  sendTo(userIds: string | string[], type: string, data: unknown): this {
    const recipients = Array.isArray(userIds) ? { userIds } : { userId: userIds };
    return this.emit('send', { ...recipients, type, data });
  }

  /**
   * Joins a room (the server's `join` action): the token must grant it (a `room:<pattern>` permission, e.g.
   * `room:chat:*`). Resolves once the server answered `joined`; rejects with an {@link AckError} carrying the
   * server's `code` (`forbidden`, `invalid_room`, `too_many_rooms`, `room_full`, ...), or `disconnected` when the
   * connection closed first. A membership belongs to a connection, so the socket joins its rooms again after a
   * reconnection or a token renewal.
   *
   * @example
   * await socket.join('chat:42');
   * socket.on('chat', (data) => render(data)); // messages sent to the room arrive like any other
   */
  join(room: string): Promise<void> {
    return this.roomRequest('join', room).then(() => {
      this.rooms.add(room);
    });
  }

  /**
   * Leaves a room (the server's `leave` action); leaving a room the socket is not in is fine.
   *
   * @example
   * await socket.leave('chat:42');
   */
  leave(room: string): Promise<void> {
    this.rooms.delete(room);
    return this.roomRequest('leave', room);
  }

  private roomRequest(action: 'join' | 'leave', room: string): Promise<void> {
    // The answer is matched by its ackId: another frame's error can never be taken for this request's.
    return this.emitWithAck(action, { room }).then(() => undefined);
  }

  private rejoinRooms(): void {
    for (const room of this.rooms) this.emit('join', { room });
  }

  // ---- connection lifecycle ----

  private async startAttempt(renewalReason: RenewalReason | false): Promise<void> {
    const isRenewal = renewalReason !== false;
    const generation = this.generation;
    let token: string | undefined;
    let resolved: Awaited<ReturnType<typeof resolveWebSocket>>;
    try {
      resolved = await resolveWebSocket(this.options.WebSocket);
    } catch (error) {
      if (generation === this.generation) this.failAttempt(isRenewal, 'invalid_options', messageOf(error), {});
      return;
    }
    try {
      token = await resolveToken(this.options.auth, this.options.extraHeaders);
    } catch (error) {
      if (generation === this.generation) {
        this.failAttempt(isRenewal, 'token_error', `The token could not be obtained: ${messageOf(error)}`, {
          retry: true,
        });
      }
      return;
    }
    if (generation !== this.generation || !this.wanted) return;
    const tokenExpiresAtMs = readTokenExpiry(token);
    const replaced = this.current;
    if (renewalReason === 'token' && replaced && !isFresher(token, tokenExpiresAtMs, replaced)) {
      // The token source has nothing newer (a static token): a new connection would gain nothing. Keep this one
      // and its 2-hour renewal; once the token has expired the server refuses sends with `token_expired`, which
      // renews again and lets the handshake's refusal end the session.
      this.scheduleRenewal(replaced, { withToken: false });
      return;
    }
    const carrier = this.options.tokenCarrier ?? (resolved.isNodeWs ? 'header' : 'subprotocol');
    let handshake: ReturnType<typeof buildHandshake>;
    try {
      handshake = buildHandshake({
        url: this.url,
        token,
        carrier,
        query: this.options.query,
        headers: resolved.isNodeWs ? withoutAuthorization(this.options.extraHeaders) : {},
      });
    } catch (error) {
      this.failAttempt(isRenewal, 'invalid_options', messageOf(error), {});
      return;
    }
    if (!isRenewal && this.backoff.attemptCount > 0) this.emitBoth('reconnect_attempt', this.backoff.attemptCount);
    const attempt: ConnectionAttempt = {
      isRenewal,
      renewalReason: renewalReason === false ? undefined : renewalReason,
      token,
      tokenExpiresAtMs,
      knowsHandshakeStatus: resolved.isNodeWs,
    } as ConnectionAttempt;
    // A connection that will replay holds live messages from its first frame (see onFrame).
    if (!isRenewal && this.options.resume) attempt.heldBeforeReplay = [];
    try {
      attempt.transport = new Transport(resolved.WebSocket, handshake, {
        open: () => this.onOpen(attempt),
        frame: (text) => this.onFrame(attempt, text),
        close: (details) => this.onTransportClose(attempt, details),
      });
    } catch (error) {
      this.failAttempt(isRenewal, 'invalid_options', messageOf(error), {});
      return;
    }
    if (isRenewal) this.renewal = attempt;
    else this.current = attempt;
    armConnectTimeout(attempt, this.options.timeout);
  }

  private onOpen(attempt: ConnectionAttempt): void {
    this.handshakeFailures.reset();
    // The server answers hello with the connection id; only then is the socket "connected".
    attempt.transport.send(JSON.stringify({ action: 'hello' }));
  }

  private onFrame(attempt: ConnectionAttempt, text: string): void {
    attempt.heartbeat?.frameReceived();
    const decoded = decodeServerFrame(text);
    if ('unreadable' in decoded) {
      this.emitLocal('error', decoded.unreadable);
      return;
    }
    const { envelope } = decoded;
    if (envelope.type === 'authenticated') {
      this.onAuthenticated(attempt, envelope as Envelope<AuthenticatedData>);
      return;
    }
    if (envelope.type === 'replay') {
      this.onReplayPage(attempt, envelope as Envelope<ReplayData>);
      return;
    }
    if (!isAnswerFrame(envelope.type) && (attempt.replay || attempt.heldBeforeReplay)) {
      // Live messages wait until the replay has fired everything missed before them: the server posts to a new
      // connection from its `$connect` on, so some arrive even before `authenticated` answers `hello`.
      (attempt.replay?.held ?? attempt.heldBeforeReplay)?.push(envelope);
      return;
    }
    this.fireEnvelope(attempt, envelope);
  }

  /** Fires one envelope, live or replayed, unless it is a copy of one already fired (same id or log id). */
  private fireEnvelope(attempt: ConnectionAttempt, envelope: Envelope): void {
    if (!this.history.accept(envelope)) return;
    if (this.recentEnvelopeIds.seenBefore(envelope.id)) return;
    this.emitLocal('frame', envelope);
    // An answer to an emit with a callback goes to the callback instead of its event.
    const acknowledged = this.acks.settle(envelope);
    if (acknowledged || isAnswerFrame(envelope.type)) {
      if (!acknowledged) this.emitLocal(envelope.type, envelope.data, envelope);
      // The server refused a send because the token expired: only a new connection with a fresh token can send.
      if (envelope.type === 'error' && (envelope.data as Partial<ServerErrorData>)?.code === 'token_expired') {
        this.renew(attempt, 'token_expired');
      }
      return;
    }
    this.emitLocal('message', envelope);
    if (!isAdapterEventName(envelope.type)) this.emitLocal(envelope.type, envelope.data, envelope);
  }

  private onAuthenticated(attempt: ConnectionAttempt, envelope: Envelope<AuthenticatedData>): void {
    const firstForAttempt = attempt.connectionId === undefined;
    attempt.connectionId = envelope.data?.connectionId;
    if (!firstForAttempt || (attempt !== this.current && attempt !== this.renewal)) {
      // An `authenticated` answering a user's own `emit('hello')`.
      this.emitLocal('frame', envelope);
      this.emitLocal('authenticated', envelope.data, envelope);
      return;
    }
    clearTimeout(attempt.connectTimer);
    this.startTimers(attempt);
    if (attempt.isRenewal) {
      this.completeRenewal(attempt, envelope);
      return;
    }
    // A promoted renewal reconnects without a backoff delay, yet listeners of `reconnect` must still hear of it.
    const attempts = Math.max(this.backoff.attemptCount, attempt.replacesLostConnection ? 1 : 0);
    this.backoff.reset();
    this.id = envelope.data?.connectionId;
    this.userId = envelope.data?.userId;
    let roomsRejoined = false;
    const announce = (): void => {
      this.connected = true;
      // Buffered emits go first, so an emit made inside a `connect` listener follows them.
      this.flushBuffer();
      // After a reconnection: the rooms the lost connection was in (empty on a first connection), unless the resume
      // joined them already.
      if (!roomsRejoined) this.rejoinRooms();
      this.emitLocal('connect');
      this.emitLocal('frame', envelope);
      this.emitLocal('authenticated', envelope.data, envelope);
      if (attempts > 0) this.emitBoth('reconnect', attempts);
    };
    if (!this.options.resume) {
      this.recovered = false;
      announce();
      return;
    }
    // `connect` waits for the replay's first page, so `recovered` is known when it fires (as in socket.io-client).
    const replay: ReplaySession = {
      after: this.history.lastLogId,
      held: attempt.heldBeforeReplay ?? [],
      announce,
      firstPage: true,
    };
    attempt.heldBeforeReplay = undefined;
    attempt.replay = replay;
    const rooms = [...this.rooms];
    if (replay.after === undefined || rooms.length === 0) {
      attempt.transport.send(encodeResume(replay.after, undefined));
      this.armReplayTimeout(attempt, replay);
      return;
    }
    // The rooms are joined before the resume is asked, so the server's ordering argument holds for them too: a room
    // message whose members were read after a join is posted live (held, and its replayed copy dropped by id), and one
    // read before it was recorded before it, so the resume's later read finds it. The resume names the rooms joined
    // again: the server replays those of them the user belongs to.
    roomsRejoined = true;
    this.rejoinRoomsBefore(attempt, rooms, (joined) => {
      if (attempt !== this.current || attempt.replay !== replay) return;
      // Every page names the same rooms: the pages of one resume read the same streams.
      replay.rooms = joined;
      attempt.transport.send(encodeResume(replay.after, undefined, joined));
      this.armReplayTimeout(attempt, replay);
    });
  }

  /** Joins `rooms` on this connection, then calls `done` with those joined (a refused join leaves its room out). */
  private rejoinRoomsBefore(attempt: ConnectionAttempt, rooms: string[], done: (joined: string[]) => void): void {
    const joined: string[] = [];
    let waiting = rooms.length;
    for (const room of rooms) {
      const ackId = this.acks.register(
        (error: unknown, _data: unknown, envelope: unknown) => {
          // Refused (an `error` frame: a grant revoked, a full room) or unanswered: not named in the resume.
          if (!error && (envelope as Envelope | undefined)?.type !== 'error') joined.push(room);
          waiting -= 1;
          if (waiting === 0) done(joined);
        },
        { withError: true, timeoutMs: this.options.timeout > 0 ? this.options.timeout : undefined },
      );
      attempt.transport.send(encodeEmit('join', [{ room }], ackId));
      this.acks.sent(ackId, attempt);
    }
  }

  /** Takes one `replay` page: fires its messages, asks for the next page, or ends the replay. */
  private onReplayPage(attempt: ConnectionAttempt, envelope: Envelope<ReplayData>): void {
    const replay = attempt.replay;
    if (!replay || attempt !== this.current) return;
    const page = envelope.data;
    clearTimeout(replay.timer);
    if (replay.firstPage) {
      replay.firstPage = false;
      this.recovered = page.recovered === true;
      if (typeof page.windowMs === 'number' && page.windowMs > 0) this.history.windowMs = page.windowMs;
      replay.announce();
    }
    // Gaps come on the first page (retention, cap) or on the page of a message too large for a page.
    if (Array.isArray(page.gaps) && page.gaps.length > 0) {
      this.recovered = false;
      this.emitLocal('recovery_gap', page.gaps);
    }
    const messages = Array.isArray(page.messages) ? page.messages : [];
    for (const message of messages) this.fireEnvelope(attempt, message);
    if (attempt !== this.current || attempt.replay !== replay) return;
    const lastFired = messages.at(-1)?.logId;
    if (replay.after === undefined && typeof lastFired === 'string') {
      // Offline delivery's receipt, once the page's messages fired: the user's other devices do not get them again.
      attempt.transport.send(encodeOfflineReceipt(lastFired));
    }
    if (typeof page.next === 'string') {
      attempt.transport.send(encodeResume(replay.after, page.next, replay.rooms));
      this.armReplayTimeout(attempt, replay);
      return;
    }
    this.endReplay(attempt, replay);
  }

  /** Ends a replay: the live messages held meanwhile fire now, copies of replayed ones dropped. */
  private endReplay(attempt: ConnectionAttempt, replay: ReplaySession): void {
    clearTimeout(replay.timer);
    attempt.replay = undefined;
    for (const held of replay.held) this.fireEnvelope(attempt, held);
  }

  /** A replay page that does not come within `timeout` ends the replay, unrecovered, rather than hold live messages. */
  private armReplayTimeout(attempt: ConnectionAttempt, replay: ReplaySession): void {
    if (this.options.timeout <= 0) return;
    replay.timer = setTimeout(() => {
      if (attempt.replay !== replay) return;
      if (replay.firstPage) {
        replay.firstPage = false;
        this.recovered = false;
        replay.announce();
      }
      this.emitLocal('recovery_gap', [{ reason: 'timeout' }]);
      this.recovered = false;
      this.endReplay(attempt, replay);
    }, this.options.timeout);
  }

  private completeRenewal(attempt: ConnectionAttempt, envelope: Envelope<AuthenticatedData>): void {
    const rooms = [...this.rooms];
    if (rooms.length === 0) {
      this.switchToRenewal(attempt, envelope);
      return;
    }
    // Make before break for the rooms too: the new connection joins them while the old one is still a member, so no
    // room message falls between the two (one sent to both arrives twice and its copy is dropped by id).
    this.rejoinRoomsBefore(attempt, rooms, () => {
      if (attempt === this.renewal) this.switchToRenewal(attempt, envelope);
    });
  }

  private switchToRenewal(attempt: ConnectionAttempt, envelope: Envelope<AuthenticatedData>): void {
    const previous = this.current;
    const previousId = this.id;
    this.renewal = undefined;
    this.current = attempt;
    this.id = envelope.data?.connectionId;
    if (previous) {
      stopAttemptTimers(previous);
      previous.transport.close(1000, 'renewed');
    }
    this.flushBuffer();
    this.emitLocal('connection_renewed', { previousId, id: this.id });
  }

  private onTransportClose(attempt: ConnectionAttempt, details: TransportClose): void {
    stopAttemptTimers(attempt);
    this.acks.connectionClosed(attempt);
    if (attempt === this.renewal) {
      this.renewal = undefined;
      // Unless the refusal ends the session, the old connection still serves; if API Gateway closes it, the
      // ordinary reconnection takes over.
      if (attempt.connectionId === undefined) this.onRenewalHandshakeFailed(attempt, details);
      return;
    }
    if (attempt !== this.current) return;
    this.current = undefined;
    if (attempt.connectionId !== undefined) {
      this.onConnectionLost(details);
      return;
    }
    this.onHandshakeFailed(attempt, details);
  }

  private onConnectionLost(details: TransportClose): void {
    const reason = lostConnectionReason(details);
    if (reason === 'io server disconnect') this.wanted = false;
    this.markDisconnected(reason);
    if (!this.wanted) {
      this.dropRenewal();
      return;
    }
    const renewal = this.renewal;
    if (renewal) {
      // The replacement already under way becomes the reconnection: one new connection, not two.
      this.renewal = undefined;
      renewal.isRenewal = false;
      renewal.replacesLostConnection = true;
      this.current = renewal;
      return;
    }
    this.scheduleReconnect();
  }

  /**
   * A renewal that failed before it was authenticated. A network failure leaves the old connection serving, but
   * a refused token ends the session: the connection's token no longer opens one, so the session must not outlive
   * it. `disconnect` fires, then `connect_error` with no retry, as for a refused first connect.
   */
  private onRenewalHandshakeFailed(attempt: ConnectionAttempt, details: TransportClose): void {
    const current = this.current;
    const refusal = readRenewalRefusal(details, attempt, current);
    if (!refusal) return;
    this.current = undefined;
    if (current) {
      stopAttemptTimers(current);
      current.transport.close(1000, 'token refused');
    }
    this.markDisconnected('io server disconnect');
    this.failAttempt(false, refusal.reason, refusal.message, { status: refusal.status });
  }

  private onHandshakeFailed(attempt: ConnectionAttempt, details: TransportClose): void {
    const failure = this.handshakeFailures.read(details, attempt);
    this.failAttempt(false, failure.reason, failure.message, { status: failure.status, retry: failure.retry });
  }

  /** Reports a failed attempt and retries it when the failure is transient and reconnection is allowed. */
  private failAttempt(
    isRenewal: boolean,
    reason: ConnectErrorReason,
    message: string,
    details: { status?: number; retry?: boolean },
  ): void {
    if (isRenewal) {
      this.renewal = undefined;
      return;
    }
    const attemptsLeft = this.backoff.attemptCount < this.options.reconnectionAttempts;
    const willRetry = details.retry === true && this.options.reconnection && attemptsLeft && this.wanted;
    const error = new ConnectError(reason, message, { status: details.status, willRetry });
    this.emitLocal('connect_error', error);
    if (this.backoff.attemptCount > 0) this.emitBoth('reconnect_error', error);
    if (willRetry) {
      this.scheduleReconnect();
      return;
    }
    this.wanted = false;
    if (details.retry === true && this.options.reconnection && !attemptsLeft) this.emitBoth('reconnect_failed');
  }

  private scheduleReconnect(): void {
    if (!this.options.reconnection || !this.wanted) {
      this.wanted = false;
      return;
    }
    if (this.backoff.attemptCount >= this.options.reconnectionAttempts) {
      this.wanted = false;
      this.emitBoth('reconnect_failed');
      return;
    }
    const delay = this.backoff.nextDelay();
    const generation = this.generation;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (generation === this.generation && this.wanted) void this.startAttempt(false);
    }, delay);
  }

  private markDisconnected(reason: DisconnectReason): void {
    if (!this.connected) return;
    this.connected = false;
    this.id = undefined;
    this.emitLocal('disconnect', reason);
  }

  // ---- timers ----

  private startTimers(attempt: ConnectionAttempt): void {
    attempt.heartbeat = new Heartbeat(attempt.transport, this.options.heartbeatInterval, this.options.heartbeatTimeout);
    attempt.heartbeat.start();
    attempt.authenticatedAt = Date.now();
    this.scheduleRenewal(attempt, { withToken: true });
  }

  /**
   * Arms the connection's renewal at the earlier of API Gateway's 2-hour limit ahead (`renewConnectionAfter` from
   * the `authenticated` reply) and the token's `exp` less `tokenRenewalMargin` (unless `withToken` is false).
   */
  private scheduleRenewal(attempt: ConnectionAttempt, { withToken }: { withToken: boolean }): void {
    clearTimeout(attempt.renewTimer);
    attempt.renewTimer = undefined;
    const next = nextRenewal({
      renewConnectionAfter: this.options.renewConnectionAfter,
      tokenRenewalMargin: this.options.tokenRenewalMargin,
      authenticatedAt: attempt.authenticatedAt,
      tokenExpiresAtMs: withToken ? attempt.tokenExpiresAtMs : undefined,
      now: Date.now(),
    });
    if (!next) return;
    const { reason } = next;
    attempt.renewTimer = setTimeout(() => this.renew(attempt, reason), next.delay);
  }

  /** Starts a make-before-break replacement of `attempt`, unless it is no longer the live one or one is under way. */
  private renew(attempt: ConnectionAttempt, reason: RenewalReason): void {
    if (attempt !== this.current || this.renewal || this.renewalStarting || !this.wanted) return;
    this.renewalStarting = true;
    void this.startAttempt(reason).finally(() => {
      this.renewalStarting = false;
    });
  }

  private dropRenewal(): void {
    const renewal = this.renewal;
    this.renewal = undefined;
    if (renewal) {
      stopAttemptTimers(renewal);
      renewal.transport.close(1000, 'io client disconnect');
    }
  }

  // ---- buffer, de-duplication, events ----

  private flushBuffer(): void {
    // `current` is read for every frame: a send cannot outlive the connection it was flushed to.
    this.buffer.flush((frame) => {
      const current = this.current;
      if (!current?.transport.send(frame.text)) return false;
      this.acks.sent(frame.ackId, current);
      return true;
    });
  }

  private emitBoth(event: string, ...args: unknown[]): void {
    this.emitLocal(event, ...args);
    this.io.emitLocal(event, ...args);
  }
}

/** The events a socket fires, for typed listeners in application code. */
export interface RealtimeSocketEvents {
  connect: () => void;
  authenticated: (data: AuthenticatedData, envelope: Envelope<AuthenticatedData>) => void;
  disconnect: (reason: DisconnectReason) => void;
  connect_error: (error: ConnectError) => void;
  reconnect: (attempts: number) => void;
  reconnect_attempt: (attempt: number) => void;
  reconnect_error: (error: ConnectError) => void;
  reconnect_failed: () => void;
  connection_renewed: (ids: { previousId: string | undefined; id: string | undefined }) => void;
  emit_dropped: (dropped: { action: string; frame: string }) => void;
  /** Messages sent while the socket was away may be lost: the replay reached past the retention or the cap. */
  recovery_gap: (gaps: ReplayGap[]) => void;
  message: (envelope: Envelope) => void;
  frame: (envelope: Envelope) => void;
  pong: (data: { serverTime: string }, envelope: Envelope) => void;
  delivery: (report: DeliveryReportData, envelope: Envelope<DeliveryReportData>) => void;
  error: (error: ServerErrorData, envelope?: Envelope) => void;
  joined: (data: { room: string }, envelope: Envelope) => void;
  left: (data: { room: string }, envelope: Envelope) => void;
  presence: (data: { room: string; userId: string; event: 'joined' | 'left' }, envelope: Envelope) => void;
}

export type { AckErrorReason } from './acks';
export type { AuthOption, TokenSource } from './token-source';
export type {
  AuthenticatedData,
  ConnectErrorReason,
  DeliveryReportData,
  DeliverySummaryData,
  DetailedDeliveryReportData,
  DisconnectReason,
  Listener,
  RealtimeSocketOptions,
  ServerErrorData,
};
export { AckError, ConnectError };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
