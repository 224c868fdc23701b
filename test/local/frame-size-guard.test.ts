import { FrameSizeGuard } from '../../local/emulator/frame-size-guard';

/** A masked client frame header plus payload, as a browser or `ws` sends it. */
function clientFrame(opcode: number, payloadLength: number, fin = true): Buffer {
  const lengthBytes =
    payloadLength < 126
      ? [payloadLength]
      : payloadLength < 65536
        ? [126, payloadLength >> 8, payloadLength & 0xff]
        : [
            127,
            0,
            0,
            0,
            0,
            (payloadLength >>> 24) & 0xff,
            (payloadLength >> 16) & 0xff,
            (payloadLength >> 8) & 0xff,
            payloadLength & 0xff,
          ];
  const header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | lengthBytes[0], ...lengthBytes.slice(1), 1, 2, 3, 4]);
  return Buffer.concat([header, Buffer.alloc(payloadLength, 0x61)]);
}

function watch(limit: number) {
  let trips = 0;
  return { guard: new FrameSizeGuard(limit, () => trips++), trips: () => trips };
}

describe('FrameSizeGuard', () => {
  it('lets frames up to the limit pass, whatever the length encoding', () => {
    const { guard, trips } = watch(70_000);

    guard.inspect(Buffer.concat([clientFrame(1, 10), clientFrame(1, 300), clientFrame(2, 70_000)]));

    expect(trips()).toBe(0);
  });

  it.each([
    ['a 16-bit length', 32 * 1024 + 1],
    ['a 64-bit length', 70_000],
  ])('trips once on a data frame over the limit with %s', (_case, length) => {
    const { guard, trips } = watch(32 * 1024);

    guard.inspect(Buffer.concat([clientFrame(1, 5), clientFrame(1, length), clientFrame(1, length)]));

    expect(trips()).toBe(1);
  });

  it('follows frames cut at every byte boundary', () => {
    const { guard, trips } = watch(1000);
    const stream = Buffer.concat([
      clientFrame(1, 999, false),
      clientFrame(0, 999),
      clientFrame(9, 4),
      clientFrame(0, 1001),
    ]);

    for (const byte of stream) guard.inspect(Buffer.from([byte]));

    expect(trips()).toBe(1);
  });

  it('counts continuation frames separately: a message may exceed the frame limit in several frames', () => {
    const { guard, trips } = watch(1000);

    guard.inspect(Buffer.concat([clientFrame(1, 1000, false), clientFrame(0, 1000, false), clientFrame(0, 1000)]));

    expect(trips()).toBe(0);
  });
});
