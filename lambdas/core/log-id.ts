/**
 * Message log ids: time-ordered, fixed width, lexicographically sortable, so one DynamoDB sort key orders a stream
 * and one string comparison orders ids from different streams (a user's and the broadcast stream merge by id).
 *
 * Shape: `<13 decimal digits: epoch ms>-<4 hex: sequence>-<6 hex: random>`, e.g. `1764255600000-0000-a3f91c`.
 * Within one process ids are strictly increasing: a second id in the same millisecond (or a clock that stepped
 * back) keeps the last millisecond and bumps the sequence, so one sender's messages keep their send order. Between
 * processes (two Lambda containers) ids order by their clocks, to the millisecond; the random part only keeps two
 * containers from minting the same id. Resume tolerates the resulting skew (see `message-log.ts`).
 */

const MS_DIGITS = 13;
const SEQUENCE_LIMIT = 0x10000;

/** A generator of strictly increasing log ids for one process. */
export interface LogIdGenerator {
  next(): string;
}

/**
 * A generator over a clock (tests pass a fixed or stepped one).
 *
 * @example
 * const ids = createLogIdGenerator();
 * ids.next() < ids.next(); // true
 */
export function createLogIdGenerator(now: () => number = Date.now): LogIdGenerator {
  let lastMs = 0;
  let sequence = 0;
  return {
    next() {
      let ms = now();
      if (ms <= lastMs) {
        ms = lastMs;
        sequence += 1;
        // 65,536 ids in one millisecond: borrow the next millisecond rather than wrap (wrapping would reorder).
        if (sequence === SEQUENCE_LIMIT) {
          ms += 1;
          sequence = 0;
        }
      } else {
        sequence = 0;
      }
      lastMs = ms;
      return formatLogId(ms, sequence, randomHex(6));
    },
  };
}

function randomHex(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(length / 2)));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, length);
}

function formatLogId(ms: number, sequence: number, random: string): string {
  return `${String(ms).padStart(MS_DIGITS, '0')}-${sequence.toString(16).padStart(4, '0')}-${random}`;
}

/** The pattern every log id matches; a client's `resume` cursor is checked against it. */
export const LOG_ID_PATTERN = /^\d{13}-[0-9a-f]{4}-[0-9a-f]{6}$/;

/**
 * Whether a string is a log id.
 *
 * @example
 * isLogId('1764255600000-0000-a3f91c'); // true
 */
export function isLogId(value: unknown): value is string {
  return typeof value === 'string' && LOG_ID_PATTERN.test(value);
}

/**
 * The epoch milliseconds a log id was minted at.
 *
 * @example
 * logIdTime('1764255600000-0000-a3f91c'); // 1764255600000
 */
export function logIdTime(id: string): number {
  return Number(id.slice(0, MS_DIGITS));
}

/**
 * The smallest possible id of a millisecond: every id minted at or after `ms` sorts after it (or equals it), so it
 * serves as an exclusive lower bound of "minted from `ms` on" when one is subtracted first.
 *
 * @example
 * logIdFloor(1764255600000); // '1764255600000-0000-000000'
 */
export function logIdFloor(ms: number): string {
  return formatLogId(Math.max(0, Math.floor(ms)), 0, '000000');
}

/** The process's generator: ids minted by one container never repeat and never go back. */
export const logIds: LogIdGenerator = createLogIdGenerator();
