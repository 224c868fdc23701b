/**
 * Compiles a route selection expression such as `$request.body.action` into a function that picks the route
 * key for one frame. As on API Gateway: a frame that is not JSON, whose selected value is absent or not a
 * string, or names no known route, goes to `$default` (and the event's `routeKey` is then `$default`).
 * Returns `undefined` when nothing matches and there is no `$default` route.
 *
 * @example
 * const select = compileRouteSelection('$request.body.action', new Set(['ping', '$default']));
 * select('{"action":"ping"}'); // 'ping'
 * select('{"action":"dance"}'); // '$default'
 * select('not json'); // '$default'
 */
export function compileRouteSelection(
  expression: string,
  routeKeys: ReadonlySet<string>,
): (body: string) => string | undefined {
  const prefix = '$request.body.';
  if (!expression.startsWith(prefix) || expression.length === prefix.length) {
    throw new Error(`route selection expression must look like $request.body.<path>, got "${expression}"`);
  }
  const path = expression.slice(prefix.length).split('.');
  const fallback = routeKeys.has('$default') ? '$default' : undefined;
  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return fallback;
    }
    for (const segment of path) {
      if (value === null || typeof value !== 'object') return fallback;
      value = (value as Record<string, unknown>)[segment];
    }
    // `$`-prefixed keys are reserved for API Gateway's own routes; a frame cannot select them.
    if (typeof value !== 'string' || value.startsWith('$') || !routeKeys.has(value)) return fallback;
    return value;
  };
}
