/**
 * The one rule for a userId, wherever it comes from: the token's `sub` (which becomes the registry's partition key
 * and every envelope's `from`) and every userId a request names (`userId`, `userIds`, the `{userId}` path
 * parameter, the direct-invoke event, the server library's arguments). One rule, so that an id a request may name
 * is exactly an id a token may hold: before it was shared, a send could address `"user\n123"`, which no token can
 * ever carry, so it could never reach anyone.
 *
 * A userId is a string of 1 to {@link MAX_USER_ID_LENGTH} characters, not only whitespace, without control
 * characters (U+0000 to U+001F and U+007F: they would corrupt log lines and registry keys alike), and well-formed
 * Unicode: a lone surrogate (`"\ud800"` escaped in JSON) has no UTF-8 encoding, so wherever the id is written as
 * UTF-8 (a registry key, a log line, the bytes of an envelope's `from`) it would turn into U+FFFD, another id.
 */

/** Longest userId: it is the registry's partition key and travels in every envelope's `from`. */
export const MAX_USER_ID_LENGTH = 128;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What is wrong with a userId, as the end of a sentence that starts with its name (`userId must not be empty`),
 * or undefined when it follows the rule. Callers wrap it in their own error type: a `ValidationError` for a
 * request, a token rejection for `sub`.
 *
 * @example
 * userIdProblem('user123'); // undefined
 * userIdProblem('user\n123'); // 'must not contain control characters (U+0000 to U+001F, U+007F)'
 * userIdProblem(42); // 'must be a string'
 */
export function userIdProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return 'is required';
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.trim().length === 0) return 'must not be only whitespace';
  if (value.length > MAX_USER_ID_LENGTH) return `must be at most ${MAX_USER_ID_LENGTH} characters`;
  if (controlCharacters.test(value)) return 'must not contain control characters (U+0000 to U+001F, U+007F)';
  if (loneSurrogate.test(value)) return 'must be well-formed Unicode (it holds a lone surrogate)';
  return undefined;
}
