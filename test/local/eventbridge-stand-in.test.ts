import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { COMPLETION_DETAIL_TYPE, COMPLETION_EVENT_SOURCE } from '../../lambdas/core/broadcast-completion';
import { createEventBridgeCompletionEvents } from '../../lambdas/core/completion-event-bus';
import type { BroadcastStatus } from '../../lambdas/core/fan-out-state';
import { type LocalEventBridge, startLocalEventBridge } from '../../local/emulator/eventbridge/event-bus-server';
import { testCredentials } from './harness';

/**
 * The local EventBridge stand-in against the real `@aws-sdk/client-eventbridge` (AWS JSON 1.1). Shapes from the
 * EventBridge API reference: PutEvents (1 to 10 entries; FailedEntryCount and one result per entry, in order),
 * PutEventsResultEntry (InvalidArgument, MalformedDetail), and the user guide's "Amazon EventBridge events" for the
 * event a target receives (version, id, detail-type, source, account, time, region, resources, detail).
 */
describe('local EventBridge with the real EventBridge client', () => {
  let bus: LocalEventBridge;
  let client: EventBridgeClient;

  beforeEach(async () => {
    bus = await startLocalEventBridge({ region: 'us-east-1', credentials: testCredentials, eventBuses: ['orders'] });
    client = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials: testCredentials });
  });

  afterEach(async () => {
    client.destroy();
    await bus.stop();
  });

  it('records an accepted entry as the event a rule target receives, and answers its id', async () => {
    const time = new Date('2026-11-27T13:00:01.000Z');

    const answer = await client.send(
      new PutEventsCommand({
        Entries: [{ Source: 'shop', DetailType: 'Order Placed', Detail: '{"orderId":"o-1"}', Time: time }],
      }),
    );

    expect(answer.FailedEntryCount).toBe(0);
    expect(bus.events()).toEqual([
      {
        version: '0',
        id: answer.Entries?.[0].EventId,
        'detail-type': 'Order Placed',
        source: 'shop',
        account: '000000000000',
        time: '2026-11-27T13:00:01Z',
        region: 'us-east-1',
        resources: [],
        detail: { orderId: 'o-1' },
        eventBusName: 'default',
      },
    ]);
  });

  it('refuses a bad entry in its result without failing the others, in request order', async () => {
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'shop', DetailType: 'Order Placed', Detail: '[1, 2]' },
          { Source: 'shop', DetailType: 'Order Placed', Detail: '{}', EventBusName: 'orders' },
          { Source: 'shop', Detail: '{}' },
        ],
      }),
    );

    expect(answer.FailedEntryCount).toBe(2);
    expect(answer.Entries?.map((entry) => entry.ErrorCode)).toEqual(['MalformedDetail', undefined, 'InvalidArgument']);
    expect(bus.events().map((event) => event.eventBusName)).toEqual(['orders']);
  });

  it('fails the request for a bus that does not exist, more than 10 entries, or a request not signed by the stack', async () => {
    const entry = { Source: 'shop', DetailType: 'Order Placed', Detail: '{}' };
    await expect(
      client.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: 'nope' }] })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const stranger = new EventBridgeClient({
      endpoint: bus.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'not-the-stack-key' },
    });
    await expect(stranger.send(new PutEventsCommand({ Entries: [entry] }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    stranger.destroy();
    expect(bus.events()).toEqual([]);
  });

  it("carries the gateway's completion event: source, detail-type, the status as detail, its finish as time", async () => {
    const status: BroadcastStatus = {
      broadcastId: 'b-1',
      messageId: 'm-1',
      type: 'system',
      room: 'chat:42',
      createdAt: '2026-11-27T13:00:00.000Z',
      state: 'complete',
      complete: true,
      finishedAt: '2026-11-27T13:00:02.000Z',
      slices: { total: 1, queued: 0, running: 0, done: 1, deadLettered: 0 },
      connections: { delivered: 3, failed: 0, stale: 1, unknown: 0, throttled: 0, pending: 0 },
    };

    await createEventBridgeCompletionEvents({ client, eventBusName: 'orders' }).publish(status);

    expect(bus.events()).toEqual([
      expect.objectContaining({
        source: COMPLETION_EVENT_SOURCE,
        'detail-type': COMPLETION_DETAIL_TYPE,
        time: '2026-11-27T13:00:02Z',
        detail: status,
        eventBusName: 'orders',
      }),
    ]);
  });
});
