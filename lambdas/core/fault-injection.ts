import type { SliceMessage } from './broadcast-fan-out';
import type { Environment } from './config';
import { ConfigurationError } from './errors';

/**
 * Fault injection for the broadcast worker, driven by configuration so that the local stack's crash tests run the
 * handler unchanged: `FAN_OUT_FAULTS` holds rules, each stopping a run of a slice of a broadcast of one message type
 * after that run's `afterPosts`-th post, as a crash between a post and its checkpoint would. The construct never sets
 * it; unset, there is no hook at all.
 *
 * ```json
 * [{ "messageType": "crash-once", "afterPosts": 40, "times": 1 }, { "messageType": "poison", "afterPosts": 1 }]
 * ```
 *
 * `times` bounds how many runs (in this process) the rule stops; absent: every run (a poisoned slice).
 */
export const FAULTS_SETTING = 'FAN_OUT_FAULTS';

export interface FaultRule {
  messageType: string;
  afterPosts: number;
  times?: number;
}

/** The injected crash. */
export class InjectedFaultError extends Error {
  constructor(message: SliceMessage, posts: number) {
    super(`injected fault: slice ${message.segment} of broadcast ${message.broadcastId} stopped after ${posts} posts`);
    this.name = 'InjectedFaultError';
  }
}

/**
 * Reads `FAN_OUT_FAULTS`; a value that is not a list of rules throws a ConfigurationError naming it.
 *
 * @example
 * readFaultRules({ FAN_OUT_FAULTS: '[{"messageType":"crash-once","afterPosts":40,"times":1}]' });
 */
export function readFaultRules(env: Environment): FaultRule[] {
  const raw = env[FAULTS_SETTING]?.trim();
  if (!raw) return [];
  let rules: unknown;
  try {
    rules = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(FAULTS_SETTING, 'must be a JSON list of fault rules');
  }
  const valid =
    Array.isArray(rules) &&
    rules.every(
      (rule) =>
        typeof rule?.messageType === 'string' &&
        Number.isInteger(rule.afterPosts) &&
        rule.afterPosts >= 1 &&
        (rule.times === undefined || (Number.isInteger(rule.times) && rule.times >= 1)),
    );
  if (!valid) {
    throw new ConfigurationError(FAULTS_SETTING, 'must be a list of { messageType, afterPosts >= 1, times? >= 1 }');
  }
  return rules as FaultRule[];
}

/**
 * The worker's `afterPost` hook for these rules, or undefined when there are none.
 *
 * @example
 * const afterPost = faultHook(readFaultRules(process.env)); // pass as SliceWorkerDependencies.afterPost
 */
export function faultHook(rules: readonly FaultRule[]): ((message: SliceMessage, posts: number) => void) | undefined {
  if (rules.length === 0) return undefined;
  const remaining = rules.map((rule) => rule.times ?? Number.POSITIVE_INFINITY);
  return (message, posts) => {
    const index = rules.findIndex((rule) => rule.messageType === message.type && rule.afterPosts === posts);
    if (index < 0 || remaining[index] <= 0) return;
    remaining[index]--;
    throw new InjectedFaultError(message, posts);
  };
}
