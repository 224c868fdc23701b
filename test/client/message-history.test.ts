import { MessageHistory } from '../../client/message-history';

const id = (ms: number, seq = 0) => `${String(ms).padStart(13, '0')}-${seq.toString(16).padStart(4, '0')}-abcdef`;

describe('the adapter message history', () => {
  it('keeps the largest log id as the cursor and drops a copy of one seen', () => {
    const history = new MessageHistory();
    expect(history.accept({ logId: id(1000) })).toBe(true);
    expect(history.accept({ logId: id(3000) })).toBe(true);
    // A concurrent sender's message, older than the cursor but new to the socket.
    expect(history.accept({ logId: id(2000) })).toBe(true);
    expect(history.accept({ logId: id(2000) })).toBe(false);
    expect(history.lastLogId).toBe(id(3000));
    // No log id (an ephemeral message): always fired.
    expect(history.accept({})).toBe(true);
    expect(history.accept({})).toBe(true);
  });

  it('starts from a saved cursor and forgets ids older than the replay window', () => {
    const history = new MessageHistory(id(1_000_000));
    history.windowMs = 1000;
    history.accept({ logId: id(1_000_500) });
    history.accept({ logId: id(1_002_000) });

    // 1,000,500 is now older than the window before the cursor: a replay cannot bring it again.
    expect(history.accept({ logId: id(1_000_500) })).toBe(true);
    expect(history.accept({ logId: id(1_002_000) })).toBe(false);
  });
});
