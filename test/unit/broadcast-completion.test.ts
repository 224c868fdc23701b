import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { readCompletionEventConfig } from '../../lambdas/core/broadcast-completion';
import { CompletionEventError, createEventBridgeCompletionEvents } from '../../lambdas/core/completion-event-bus';
import { CompletionEventSetting } from '../../lambdas/core/config';
import { ConfigurationError } from '../../lambdas/core/errors';
import type { BroadcastStatus } from '../../lambdas/core/fan-out-state';

const client = new EventBridgeClient({ region: 'us-east-1' });
const eventBridge = mockClient(client);

const status: BroadcastStatus = {
  broadcastId: 'b-1',
  messageId: 'm-1',
  type: 'system',
  createdAt: '2026-11-27T13:00:00.000Z',
  state: 'failed',
  complete: false,
  finishedAt: '2026-11-27T13:00:02.000Z',
  slices: { total: 2, queued: 0, running: 0, done: 1, deadLettered: 1 },
  connections: { delivered: 10, failed: 0, stale: 0, unknown: 2, throttled: 0, pending: 0 },
};

beforeEach(() => eventBridge.reset());

describe('createEventBridgeCompletionEvents', () => {
  it('puts one entry on the configured bus: source, detail-type, the status as detail, its finish as time', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await createEventBridgeCompletionEvents({ client, eventBusName: 'orders' }).publish(status);

    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'orders',
          Source: 'realtime-gateway',
          DetailType: 'Broadcast Completed',
          Detail: JSON.stringify(status),
          Time: new Date('2026-11-27T13:00:02.000Z'),
        },
      ],
    });
  });

  it("throws the refused entry's code: PutEvents answers a refusal without throwing", async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] });

    const publishing = createEventBridgeCompletionEvents({ client, eventBusName: 'default' }).publish(status);

    await expect(publishing).rejects.toBeInstanceOf(CompletionEventError);
    await expect(publishing).rejects.toMatchObject({ code: 'ThrottlingException' });
  });
});

describe('readCompletionEventConfig', () => {
  it('is off when unset or empty, and takes a bus name or ARN', () => {
    expect(readCompletionEventConfig({})).toBeUndefined();
    expect(readCompletionEventConfig({ [CompletionEventSetting.completionEventBus]: '  ' })).toBeUndefined();
    expect(readCompletionEventConfig({ [CompletionEventSetting.completionEventBus]: 'default' })).toEqual({
      eventBusName: 'default',
    });
    const arn = 'arn:aws:events:eu-west-1:123456789012:event-bus/orders';
    expect(readCompletionEventConfig({ [CompletionEventSetting.completionEventBus]: arn })).toEqual({
      eventBusName: arn,
    });
  });

  it('names the setting when the value is no bus name', () => {
    const reading = () => readCompletionEventConfig({ [CompletionEventSetting.completionEventBus]: 'my bus' });

    expect(reading).toThrow(ConfigurationError);
    expect(reading).toThrow(/COMPLETION_EVENT_BUS must be an event bus name/);
  });
});
