import { compileHttpRoutes } from '../../local/emulator/http-route-matcher';
import { compileRouteSelection } from '../../local/emulator/route-selection';

describe('compileRouteSelection', () => {
  it('follows a nested selection path', () => {
    const select = compileRouteSelection('$request.body.meta.kind', new Set(['join', '$default']));

    expect(select('{"meta":{"kind":"join"}}')).toBe('join');
    expect(select('{"meta":"join"}')).toBe('$default');
    expect(select('null')).toBe('$default');
  });

  it('selects nothing for an unmatched frame when there is no $default route', () => {
    const select = compileRouteSelection('$request.body.action', new Set(['ping']));

    expect(select('{"action":"pong"}')).toBeUndefined();
    expect(select('{"action":"ping"}')).toBe('ping');
  });

  it.each(['$request.body', 'request.body.action', '$request.header.action'])(
    'refuses the expression %p',
    (expression) => {
      expect(() => compileRouteSelection(expression, new Set())).toThrow(/route selection expression/);
    },
  );
});

describe('compileHttpRoutes', () => {
  const match = compileHttpRoutes([
    { method: 'GET', path: '/users/{userId}', target: 'user' },
    { method: 'GET', path: '/users/connected', target: 'connected' },
    { method: 'DELETE', path: '/users/{userId}/disconnect', target: 'disconnect' },
  ]);

  it('prefers a literal route over a parameterized one, whatever the declaration order', () => {
    expect(match('GET', '/users/connected')).toEqual({
      routeKey: 'GET /users/connected',
      pathParameters: {},
      target: 'connected',
    });
  });

  it('decodes path parameters and keeps the route key in API Gateway syntax', () => {
    expect(match('GET', '/users/user%40example.com')).toEqual({
      routeKey: 'GET /users/{userId}',
      pathParameters: { userId: 'user@example.com' },
      target: 'user',
    });
  });

  it.each([
    ['GET', '/users/a/disconnect'],
    ['POST', '/users/a'],
    ['GET', '/users/'],
    ['GET', '/users/%E0%A4%A'],
  ])('matches nothing for %s %s', (method, path) => {
    expect(match(method, path)).toBeUndefined();
  });
});
