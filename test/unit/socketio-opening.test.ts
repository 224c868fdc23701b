import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { decodePacket } from 'engine.io-parser';
import {
  OPENING_RETRY,
  parseOpeningMessage,
  postOpening,
  socketIoHeartbeat,
} from '../../lambdas/core/socketio-opening';
import { schedules } from '../../lambdas/routes';

const managementClient = new ApiGatewayManagementApiClient({
  region: 'eu-west-1',
  endpoint: 'https://api.example.com/prod',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const management = mockClient(managementClient);
const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });

/** A clock that the fake sleep moves forward. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const waits: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    waits,
  };
}

beforeEach(() => management.reset());

describe('postOpening', () => {
  it('posts the Engine.IO open packet with the connection id as sid and the documented heartbeat', async () => {
    management.on(PostToConnectionCommand).resolves({});
    const time = fakeTime();

    await expect(
      postOpening({ managementClient, ...time }, { connectionId: 'abc=', queuedAt: time.now() }),
    ).resolves.toBe('opened');

    const data = management.commandCalls(PostToConnectionCommand)[0].args[0].input.Data as Uint8Array;
    const packet = decodePacket(new TextDecoder().decode(data));
    expect(packet.type).toBe('open');
    expect(JSON.parse(packet.data as string)).toEqual({ sid: 'abc=', upgrades: [], ...socketIoHeartbeat });
  });

  it('tries again while the gateway answers 410 (the $connect has not completed yet), backing off', async () => {
    management.on(PostToConnectionCommand).rejectsOnce(gone()).rejectsOnce(gone()).resolves({});
    const time = fakeTime();

    await expect(
      postOpening({ managementClient, ...time }, { connectionId: 'abc=', queuedAt: time.now() }),
    ).resolves.toBe('opened');

    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 3);
    expect(time.waits).toEqual([OPENING_RETRY.firstDelayMs, OPENING_RETRY.firstDelayMs * 2]);
  });

  it('gives up as gone once the retry window has passed (the client left)', async () => {
    management.on(PostToConnectionCommand).rejects(gone());
    const time = fakeTime();

    await expect(
      postOpening({ managementClient, ...time }, { connectionId: 'abc=', queuedAt: time.now() }),
    ).resolves.toBe('gone');

    expect(time.now() - 1_000_000).toBeLessThanOrEqual(OPENING_RETRY.windowMs);
    expect(Math.max(...time.waits)).toBe(OPENING_RETRY.maxDelayMs);
  });

  it('throws any other failure, so the record is tried again', async () => {
    management.on(PostToConnectionCommand).rejects(new ForbiddenException({ message: 'no', $metadata: {} }));
    const time = fakeTime();

    await expect(
      postOpening({ managementClient, ...time }, { connectionId: 'abc=', queuedAt: time.now() }),
    ).rejects.toThrow(ForbiddenException);
  });
});

describe('the heartbeat announced', () => {
  it('pings as often as the sweep runs, and gives up no sooner than the gateway closes an idle connection', () => {
    const rateMs = schedules.socketIoPings.rateMinutes * 60 * 1000;
    expect(socketIoHeartbeat.pingInterval).toBe(rateMs);
    // A sweep may take up to another period before it reaches a connection; the gateway's idle timeout is 10 min.
    expect(socketIoHeartbeat.pingInterval + socketIoHeartbeat.pingTimeout).toBeGreaterThanOrEqual(10 * 60 * 1000);
    // The sweep must come round before the gateway's idle timeout: it resets only on the client's pong.
    expect(rateMs).toBeLessThan(10 * 60 * 1000);
  });
});

describe('parseOpeningMessage', () => {
  it('reads a queued opening and refuses anything else', () => {
    expect(parseOpeningMessage('{"connectionId":"abc=","queuedAt":5}')).toEqual({ connectionId: 'abc=', queuedAt: 5 });
    expect(() => parseOpeningMessage('{"queuedAt":5}')).toThrow('connectionId');
    expect(() => parseOpeningMessage('{"connectionId":"abc="}')).toThrow('queuedAt');
  });
});
