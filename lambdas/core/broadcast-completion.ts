import { CompletionEventSetting } from './config';
import type { DeliveryLogger } from './delivery';
import { ConfigurationError } from './errors';
import type { BroadcastStatus, FanOutState } from './fan-out-state';

/**
 * The completion event of an asynchronous broadcast or room fan-out: once every slice has settled (walked its
 * segment, or was dead-lettered), one EventBridge event carries the status the status route answers
 * (`GET /websocket/broadcasts/{id}`), so a backend can react to "everyone was reached" without polling.
 *
 * Who sends it: every slice run that ends its slice (`done`), finds its slice already done (a duplicate message), or
 * dead-letters it calls {@link settleBroadcast}. It reads the broadcast's status (one strongly consistent Query);
 * unless every slice has settled it stops there. Otherwise it takes the completion lease on the status item (a
 * conditional UpdateItem: not yet sent, lease free or expired), sends the event, and records it sent. DynamoDB applies
 * writes to one item one at a time, so of two runs that settle the last two slices at once (each sees the other's
 * `done`, as its Query follows its own write) one takes the lease and the other stops; a redelivered or duplicate
 * message finds the event recorded and sends nothing.
 *
 * The one window left: a run that dies after PutEvents and before recording it (its lease then expires, and the
 * message's redelivery sends the event again). Sending once at most would instead lose the event to a crash between
 * the lease and PutEvents; EventBridge itself delivers to targets at least once, so a target must tolerate a repeat
 * anyway (the broadcast id is the key), and a lost completion cannot be noticed by anyone.
 */

/** The event's `source`. */
export const COMPLETION_EVENT_SOURCE = 'realtime-gateway';
/** The event's `detail-type`. */
export const COMPLETION_DETAIL_TYPE = 'Broadcast Completed';

/** Where completion events go. */
export interface CompletionEvents {
  /** Sends one completion event whose detail is `status`; throws when the bus did not accept it. */
  publish(status: BroadcastStatus): Promise<void>;
}

/**
 * A bus name as PutEvents' `EventBusName` takes it: a name (`default`, `orders`, `aws.partner/...`) or an event bus
 * ARN (EventBridge API reference, PutEventsRequestEntry: 1 to 1600 characters, `(arn:aws[\w-]*:events:...)?[/\.\-_A-Za-z0-9]+`).
 */
const EVENT_BUS_NAME = /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;

/**
 * Reads the completion event setting once: `COMPLETION_EVENT_BUS` (the bus name or ARN; `default` for the account's
 * default bus). Unset or empty: no events (`undefined`). A value that is no bus name throws a
 * {@link ConfigurationError} naming the setting.
 *
 * @example
 * readCompletionEventConfig({ COMPLETION_EVENT_BUS: 'default' }); // { eventBusName: 'default' }
 * readCompletionEventConfig({}); // undefined: completion events are off
 */
export function readCompletionEventConfig(
  env: Record<string, string | undefined>,
): { eventBusName: string } | undefined {
  const value = env[CompletionEventSetting.completionEventBus]?.trim();
  if (!value) return undefined;
  if (value.length > 1600 || !EVENT_BUS_NAME.test(value)) {
    throw new ConfigurationError(
      CompletionEventSetting.completionEventBus,
      `must be an event bus name or ARN (letters, digits, . - _ /), got "${value}"`,
    );
  }
  return { eventBusName: value };
}

export interface SettleDependencies {
  state: Pick<FanOutState, 'readStatus' | 'claimCompletion' | 'recordCompletion' | 'releaseCompletion'>;
  events: CompletionEvents;
  /** This run's owner (the slice run's). */
  owner: string;
  /** Epoch ms the completion lease may last: the invocation's deadline, like a slice's lease. */
  leaseUntil: number;
  /** Epoch ms; tests pass a fixed clock. */
  now?: () => number;
  logger?: DeliveryLogger;
}

/** What a settle did: sent the event, or why not. */
export type SettleOutcome = 'sent' | 'unfinished' | 'settled-elsewhere' | 'unknown';

/**
 * Sends the broadcast's completion event if every slice has settled and no run has sent it (see the module's
 * comment for why exactly one is sent). A failed send gives the lease back and throws, so the caller's message is
 * retried and its redelivery settles again.
 *
 * @example
 * await settleBroadcast({ state, events, owner: 'req-1/msg-1', leaseUntil: Date.now() + 60_000 }, 'b-123');
 * // 'sent' | 'unfinished' | 'settled-elsewhere' | 'unknown'
 */
export async function settleBroadcast(deps: SettleDependencies, broadcastId: string): Promise<SettleOutcome> {
  const status = await deps.state.readStatus(broadcastId);
  if (!status) return 'unknown';
  if (status.state !== 'complete' && status.state !== 'failed') return 'unfinished';
  if (!(await deps.state.claimCompletion(broadcastId, deps.owner, deps.leaseUntil))) return 'settled-elsewhere';
  try {
    await deps.events.publish(status);
  } catch (error) {
    await deps.state.releaseCompletion(broadcastId, deps.owner);
    throw error;
  }
  await deps.state.recordCompletion(broadcastId, deps.owner, new Date((deps.now ?? Date.now)()).toISOString());
  deps.logger?.info('broadcast completion event sent', { broadcastId, state: status.state });
  return 'sent';
}
