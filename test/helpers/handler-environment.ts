/** The callback URL of the WebSocket stage the unit tests' handlers post to (management API mocked). */
export const unitCallbackUrl = 'https://k3x9q2w7e1.execute-api.eu-west-1.amazonaws.com/prod';

// Every handler test wants a region for its SDK clients and no log or EMF lines in the test output; a test that
// asserts on those lines sets LOG_LEVEL or POWERTOOLS_METRICS_DISABLED itself, in `settings`.
const quietDefaults = {
  AWS_REGION: 'eu-west-1',
  LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
} as const;

/**
 * Sets the environment a handler reads at cold start, before the test imports it: a region, silent logs, no
 * metrics, then `settings` on top, where `undefined` removes a setting (so the handler's default is the one tested).
 *
 * @example
 * beforeAll(async () => {
 *   setHandlerEnvironment({ TABLE_NAME: 'Connections', CALLBACK_URL: unitCallbackUrl, SEND_PERMISSION: undefined });
 *   send = await import('../../lambdas/handlers/ws-send');
 * });
 */
export function setHandlerEnvironment(settings: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries({ ...quietDefaults, ...settings })) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
