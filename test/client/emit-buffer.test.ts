import { type BufferedEmit, EmitBuffer } from '../../client/emit-buffer';

describe('EmitBuffer', () => {
  const emit = (n: number): BufferedEmit => ({ event: `action${n}`, text: `{"n":${n}}` });

  it('keeps at most its bound, dropping and reporting the oldest first', () => {
    // Prepare
    const dropped: BufferedEmit[] = [];
    const buffer = new EmitBuffer(2, (frame) => dropped.push(frame));

    // Act
    for (const n of [1, 2, 3, 4]) buffer.add(emit(n));

    // Assess
    expect(buffer.size).toBe(2);
    expect(dropped).toEqual([emit(1), emit(2)]);
    const sent: string[] = [];
    buffer.flush((frame) => sent.push(frame.text) > 0);
    expect(sent).toEqual(['{"n":3}', '{"n":4}']);
    expect(buffer.size).toBe(0);
  });

  it('stops flushing at the first frame not taken and keeps it first, so order survives a lost connection', () => {
    // Prepare
    const buffer = new EmitBuffer(10, () => {});
    for (const n of [1, 2, 3]) buffer.add(emit(n));
    const sent: string[] = [];

    // Act
    buffer.flush(({ text }) => {
      if (sent.length === 1) return false;
      sent.push(text);
      return true;
    });

    // Assess
    expect(sent).toEqual(['{"n":1}']);
    expect(buffer.size).toBe(2);
    buffer.flush((frame) => sent.push(frame.text) > 0);
    expect(sent).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });
});
