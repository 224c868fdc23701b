import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpEvent } from '../../lambdas/handlers/middleware/http-request';
import { nowInSeconds } from './tokens';

/**
 * An HTTP API event from `test/fixtures/events/<name>.json`, changed by `patch`. The authorizer context's
 * `tokenExpiresAt` is moved to an hour from now: the handlers refuse an expired token, and a fixed date in a
 * fixture would make every test that reads it fail once that date has passed.
 *
 * @example
 * const event = httpEventFixture('http-message-user', (e) => { e.body = '{}'; });
 */
export function httpEventFixture(name: string, patch: (event: HttpEvent) => void = () => {}): HttpEvent {
  const path = join(__dirname, '..', 'fixtures', 'events', `${name}.json`);
  const event = JSON.parse(readFileSync(path, 'utf8')) as HttpEvent;
  const context = event.requestContext.authorizer?.lambda;
  if (context) context.tokenExpiresAt = nowInSeconds() + 3600;
  patch(event);
  return event;
}
