/** One HTTP API route as the emulator matches it. */
export interface HttpRouteBinding<TTarget> {
  method: string;
  /** API Gateway path syntax: `/websocket/users/{userId}/status`. */
  path: string;
  target: TTarget;
}

export interface HttpRouteMatch<TTarget> {
  routeKey: string;
  pathParameters: Record<string, string>;
  target: TTarget;
}

/**
 * Compiles routes into a matcher: literal segments match exactly, `{name}` matches one non-empty segment and
 * becomes a (URL-decoded) path parameter. Literal routes win over parameterized ones, as on API Gateway
 * (`/websocket/users/connected` before `/websocket/users/{userId}`).
 *
 * @example
 * const match = compileHttpRoutes([{ method: 'GET', path: '/users/{userId}/status', target: 'status' }]);
 * match('GET', '/users/user123/status'); // { routeKey: 'GET /users/{userId}/status', pathParameters: { userId: 'user123' }, ... }
 */
export function compileHttpRoutes<TTarget>(
  routes: readonly HttpRouteBinding<TTarget>[],
): (method: string, path: string) => HttpRouteMatch<TTarget> | undefined {
  const compiled = routes
    .map((route) => {
      const names: string[] = [];
      const pattern = route.path
        .split('/')
        .map((segment) => {
          const parameter = /^\{(\w+)\}$/.exec(segment);
          if (!parameter) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
          names.push(parameter[1]);
          return '([^/]+)';
        })
        .join('/');
      return { route, names, regex: new RegExp(`^${pattern}$`) };
    })
    .sort((a, b) => a.names.length - b.names.length);
  return (method, path) => {
    for (const { route, names, regex } of compiled) {
      if (route.method !== method) continue;
      const found = regex.exec(path);
      if (!found) continue;
      const pathParameters: Record<string, string> = {};
      try {
        names.forEach((name, index) => {
          pathParameters[name] = decodeURIComponent(found[index + 1]);
        });
      } catch {
        continue;
      }
      return { routeKey: `${route.method} ${route.path}`, pathParameters, target: route.target };
    }
    return undefined;
  };
}
