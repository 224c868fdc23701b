/** What a REQUEST authorizer's IAM policy says about one action on one resource. */
export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
}

/**
 * IAM's wildcard match: `*` is any run of characters (none included), `?` exactly one, everything else literal.
 * Actions compare case-insensitively, resources (ARNs) case-sensitively, as IAM does.
 */
function wildcardMatches(pattern: string, value: string, caseSensitive: boolean): boolean {
  const source = [...pattern]
    .map((character) =>
      character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'si').test(value);
}

/** `Action: "x"` and `Action: ["x", "y"]` alike; undefined when the element is absent or malformed. */
function patterns(element: unknown): string[] | undefined {
  if (typeof element === 'string') return [element];
  if (Array.isArray(element) && element.length > 0 && element.every((entry) => typeof entry === 'string')) {
    return element;
  }
  return undefined;
}

/** Whether one statement's Action/NotAction and Resource/NotResource both cover the request; undefined if malformed. */
function statementApplies(statement: Statement, action: string, resource: string): boolean | undefined {
  const actions = patterns(statement.Action);
  const notActions = patterns(statement.NotAction);
  const resources = patterns(statement.Resource);
  const notResources = patterns(statement.NotResource);
  // IAM requires exactly one of Action / NotAction and one of Resource / NotResource.
  if ((actions === undefined) === (notActions === undefined)) return undefined;
  if ((resources === undefined) === (notResources === undefined)) return undefined;
  const actionMatches = actions
    ? actions.some((pattern) => wildcardMatches(pattern, action, false))
    : !notActions!.some((pattern) => wildcardMatches(pattern, action, false));
  const resourceMatches = resources
    ? resources.some((pattern) => wildcardMatches(pattern, resource, true))
    : !notResources!.some((pattern) => wildcardMatches(pattern, resource, true));
  return actionMatches && resourceMatches;
}

/**
 * Evaluates a Lambda authorizer's `policyDocument` for `action` on `resource` the way IAM (and so API Gateway)
 * does: a matching `Deny` wins, else a matching `Allow` admits, else the request is implicitly denied. A statement
 * matches when its Action (or NotAction) and Resource (or NotResource) cover the request: each a string or an
 * array, with `*` and `?` wildcards, actions case-insensitive (`execute-api:invoke` is `execute-api:Invoke`),
 * resources case-sensitive. Returns undefined for a malformed document (no statements, an Effect other than
 * `Allow` / `Deny`, a missing Action or Resource), which API Gateway treats as an authorizer failure (500).
 *
 * @example
 * evaluatePolicy(
 *   { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:*:*:abc/*' }] },
 *   'execute-api:Invoke',
 *   'arn:aws:execute-api:us-east-1:123456789012:abc/prod/$connect',
 * ); // 'allow'
 */
export function evaluatePolicy(document: unknown, action: string, resource: string): PolicyDecision | undefined {
  if (!document || typeof document !== 'object') return undefined;
  const raw = (document as { Statement?: unknown }).Statement;
  // IAM takes a single statement object as well as an array of them.
  const statements = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : [];
  if (statements.length === 0) return undefined;
  let allowed = false;
  let denied = false;
  for (const statement of statements as Statement[]) {
    if (!statement || typeof statement !== 'object') return undefined;
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') return undefined;
    const applies = statementApplies(statement, action, resource);
    if (applies === undefined) return undefined;
    if (!applies) continue;
    if (statement.Effect === 'Deny') denied = true;
    else allowed = true;
  }
  if (denied) return 'explicit-deny';
  return allowed ? 'allow' : 'implicit-deny';
}
