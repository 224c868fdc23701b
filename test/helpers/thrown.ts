/**
 * What `act` throws, or undefined: for asserting an error's class and its fields in one `toMatchObject`.
 *
 * @example
 * expect(thrownBy(() => checkUserId('a\u0000'))).toMatchObject({ name: 'ValidationError', code: 'validation_error' });
 */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  return undefined;
}
