/** What the heartbeat needs of a connection: send a frame (false when it is not open) and close it. */
export interface HeartbeatLink {
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

/**
 * Keeps one connection alive under API Gateway's 10-minute idle timeout, and detects a dead one: a `ping` goes out
 * every `intervalMs`, and if no frame at all arrives within `timeoutMs` of it the connection is closed with reason
 * `ping timeout` (the socket then reconnects). Any frame counts as an answer: a busy connection is a live one.
 *
 * @example
 * const heartbeat = new Heartbeat(transport, 5 * 60_000, 20_000);
 * heartbeat.start();
 * // on every frame received: heartbeat.frameReceived();
 * // when the connection ends: heartbeat.stop();
 */
export class Heartbeat {
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly link: HeartbeatLink,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** Starts pinging; an interval of 0 disables the heartbeat. */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.pingTimer = setInterval(() => {
      // A ping still unanswered keeps its deadline: re-arming it on every tick would never let it expire.
      if (this.deadline !== undefined) return;
      if (!this.link.send(JSON.stringify({ action: 'ping' }))) return;
      this.deadline = setTimeout(() => this.link.close(1000, 'ping timeout'), this.timeoutMs);
    }, this.intervalMs);
  }

  /** A frame arrived: the connection is alive, so the pending deadline is lifted. */
  frameReceived(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** Stops pinging and waiting. */
  stop(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.deadline);
  }
}
