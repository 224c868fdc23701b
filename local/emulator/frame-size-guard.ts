/** API Gateway's limit on one WebSocket frame; a message may span several frames up to 128 KB. */
export const MAX_FRAME_BYTES = 32 * 1024;

/**
 * Watches a client's raw byte stream frame by frame (without consuming it: `ws` parses the same bytes) and calls
 * `onOversize` once when a data frame's payload exceeds `maxFrameBytes`. The `ws` package only limits whole
 * messages; API Gateway also limits frames, which is what a browser (which never fragments) runs into.
 *
 * @example
 * const guard = new FrameSizeGuard(MAX_FRAME_BYTES, () => pool.close(connectionId, 1009, 'Message too big'));
 * rawSocket.prependListener('data', (chunk) => guard.inspect(chunk));
 */
export class FrameSizeGuard {
  readonly #maxFrameBytes: number;
  readonly #onOversize: () => void;
  /** Header bytes of the frame being read, until the header is complete. */
  #header: number[] = [];
  /** Payload bytes of the current frame still to pass by. */
  #payloadLeft = 0;
  #tripped = false;

  constructor(maxFrameBytes: number, onOversize: () => void) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#onOversize = onOversize;
  }

  inspect(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#tripped) {
      if (this.#payloadLeft > 0) {
        const skipped = Math.min(this.#payloadLeft, chunk.length - offset);
        this.#payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      this.#header.push(chunk[offset]);
      offset += 1;
      const headerLength = this.#headerLength();
      if (headerLength === undefined || this.#header.length < headerLength) continue;
      const opcode = this.#header[0] & 0x0f;
      const payloadLength = this.#payloadLength();
      this.#header = [];
      this.#payloadLeft = payloadLength;
      // Control frames (close, ping, pong: opcodes 8-10) are at most 125 bytes by the protocol itself.
      if (opcode < 0x8 && payloadLength > this.#maxFrameBytes) {
        this.#tripped = true;
        this.#onOversize();
      }
    }
  }

  /** Total header length once the first two bytes are known: 2, plus 2 or 8 for a long length, plus a 4-byte mask. */
  #headerLength(): number | undefined {
    if (this.#header.length < 2) return undefined;
    const lengthCode = this.#header[1] & 0x7f;
    const extended = lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0;
    const mask = this.#header[1] & 0x80 ? 4 : 0;
    return 2 + extended + mask;
  }

  #payloadLength(): number {
    const lengthCode = this.#header[1] & 0x7f;
    if (lengthCode < 126) return lengthCode;
    const bytes = this.#header.slice(2, lengthCode === 126 ? 4 : 10);
    return bytes.reduce((length, byte) => length * 256 + byte, 0);
  }
}
