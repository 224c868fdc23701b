/** An emit made while disconnected: its action (reported if it is dropped) and the frame to send. */
export interface BufferedEmit {
  event: string;
  text: string;
  /** The acknowledgement waiting for this emit's answer, when it has one. */
  ackId?: number;
}

/**
 * The bounded first-in first-out queue of emits made while disconnected. The bound keeps a page that emits while
 * offline for hours from growing without end; the oldest emit is the one dropped, since the newest is the one the
 * user is most likely to still care about.
 *
 * @example
 * const buffer = new EmitBuffer(2, (dropped) => console.warn('dropped', dropped.event));
 * buffer.add({ event: 'send', text: '{"action":"send"}' });
 * buffer.flush((frame) => transport.send(frame.text)); // stops at the first frame the transport does not take
 */
export class EmitBuffer {
  private readonly frames: BufferedEmit[] = [];

  constructor(
    private readonly maxEmits: number,
    private readonly onDropped: (dropped: BufferedEmit) => void,
  ) {}

  /** How many emits wait. */
  get size(): number {
    return this.frames.length;
  }

  /** Queues an emit, dropping (and reporting) the oldest ones beyond the bound. */
  add(frame: BufferedEmit): void {
    this.frames.push(frame);
    while (this.frames.length > this.maxEmits) {
      const dropped = this.frames.shift()!;
      this.onDropped(dropped);
    }
  }

  /**
   * Sends the queued frames in order while `send` accepts them; a refused frame stays first in the queue, so the
   * order survives a connection lost in the middle of a flush.
   */
  flush(send: (frame: BufferedEmit) => boolean): void {
    while (this.frames.length > 0) {
      if (!send(this.frames[0])) return;
      this.frames.shift();
    }
  }
}
