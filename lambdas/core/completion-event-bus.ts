import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { COMPLETION_DETAIL_TYPE, COMPLETION_EVENT_SOURCE, type CompletionEvents } from './broadcast-completion';

// The EventBridge side of the completion event, apart from `broadcast-completion.ts` so that what imports the fan-out
// core (the server library among them) does not import the EventBridge client: only the worker sends the event.

/** PutEvents answered with a failed entry (the request itself succeeded: the SDK does not throw for that). */
export class CompletionEventError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`the completion event was refused: ${code}: ${message}`);
    this.name = 'CompletionEventError';
    this.code = code;
  }
}

/**
 * Completion events through EventBridge's PutEvents (IAM `events:PutEvents` on that bus): one entry, `source`
 * {@link COMPLETION_EVENT_SOURCE}, `detail-type` {@link COMPLETION_DETAIL_TYPE}, the status as `detail` (a rule
 * matches one broadcast on `detail.broadcastId`, one room on `detail.room`), the status's `finishedAt` as its time.
 *
 * @example
 * const events = createEventBridgeCompletionEvents({ client: new EventBridgeClient({}), eventBusName: 'default' });
 * await events.publish(status); // throws CompletionEventError when the entry was refused
 */
export function createEventBridgeCompletionEvents(options: {
  client: EventBridgeClient;
  eventBusName: string;
}): CompletionEvents {
  return {
    async publish(status) {
      const result = await options.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: options.eventBusName,
              Source: COMPLETION_EVENT_SOURCE,
              DetailType: COMPLETION_DETAIL_TYPE,
              Detail: JSON.stringify(status),
              Time: status.finishedAt ? new Date(status.finishedAt) : undefined,
            },
          ],
        }),
      );
      // A refused entry is reported in the answer, not thrown (PutEvents API reference: FailedEntryCount).
      if ((result.FailedEntryCount ?? 0) > 0) {
        const entry = result.Entries?.[0];
        throw new CompletionEventError(entry?.ErrorCode ?? 'Unknown', entry?.ErrorMessage ?? 'no message');
      }
    },
  };
}
