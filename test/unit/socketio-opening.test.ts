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
  it('never lets the client declare a ping timeout before API Gateway ends the connection (2 h)', () => {
    expect(socketIoHeartbeat.pingInterval + socketIoHeartbeat.pingTimeout).toBeGreaterThanOrEqual(2 * 3600 * 1000);
    // A browser's setTimeout holds at most 2^31 - 1 ms; a longer delay fires at once.
    expect(socketIoHeartbeat.pingInterval + socketIoHeartbeat.pingTimeout).toBeLessThan(2 ** 31);
  });
});

describe('parseOpeningMessage', () => {
  it('reads a queued opening and refuses anything else', () => {
    expect(parseOpeningMessage('{"connectionId":"abc=","queuedAt":5}')).toEqual({ connectionId: 'abc=', queuedAt: 5 });
    expect(() => parseOpeningMessage('{"queuedAt":5}')).toThrow('connectionId');
    expect(() => parseOpeningMessage('{"connectionId":"abc="}')).toThrow('queuedAt');
  });
});
