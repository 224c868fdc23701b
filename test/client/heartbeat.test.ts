import { Heartbeat, type HeartbeatLink } from '../../client/heartbeat';

describe('Heartbeat', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function recordingLink(): HeartbeatLink & { sent: string[]; closes: string[] } {
    const sent: string[] = [];
    const closes: string[] = [];
    return {
      sent,
      closes,
      send: (text) => sent.push(text) > 0,
      close: (code, reason) => closes.push(`${code} ${reason}`),
    };
  }

  it('pings every interval while frames answer, and never closes', () => {
    // Prepare
    const link = recordingLink();
    const heartbeat = new Heartbeat(link, 1000, 300);
    heartbeat.start();

    // Act
    for (let tick = 0; tick < 3; tick += 1) {
      jest.advanceTimersByTime(1000);
      heartbeat.frameReceived();
    }
    jest.advanceTimersByTime(200);

    // Assess
    expect(link.sent).toEqual(Array(3).fill('{"action":"ping"}'));
    expect(link.closes).toEqual([]);
    heartbeat.stop();
  });

  it('closes with ping timeout when no frame follows a ping, without re-arming the deadline on the next tick', () => {
    // Prepare
    const link = recordingLink();
    const heartbeat = new Heartbeat(link, 1000, 1500);
    heartbeat.start();

    // Act
    jest.advanceTimersByTime(2000);
    const pingsBeforeDeadline = link.sent.length;
    jest.advanceTimersByTime(500);

    // Assess
    expect(pingsBeforeDeadline).toBe(1);
    expect(link.closes).toEqual(['1000 ping timeout']);
    heartbeat.stop();
  });

  it('sends nothing with an interval of 0, or once stopped', () => {
    // Prepare
    const disabledLink = recordingLink();
    const stoppedLink = recordingLink();
    new Heartbeat(disabledLink, 0, 300).start();
    const stopped = new Heartbeat(stoppedLink, 1000, 300);
    stopped.start();

    // Act
    stopped.stop();
    jest.advanceTimersByTime(5000);

    // Assess
    expect(disabledLink.sent).toEqual([]);
    expect(stoppedLink.sent).toEqual([]);
  });
});
