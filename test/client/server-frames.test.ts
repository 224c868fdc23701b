import { RecentEnvelopeIds } from '../../client/server-frames';

describe('RecentEnvelopeIds', () => {
  it('reports an id seen among the last ones, and forgets the oldest beyond its capacity', () => {
    // Prepare
    const recent = new RecentEnvelopeIds(2);

    // Act
    const firstSight = ['a', 'b', 'c'].map((id) => recent.seenBefore(id));

    // Assess
    expect(firstSight).toEqual([false, false, false]);
    expect(recent.seenBefore('c')).toBe(true);
    expect(recent.seenBefore('b')).toBe(true);
    expect(recent.seenBefore('a')).toBe(false);
  });
});
