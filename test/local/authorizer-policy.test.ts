import { evaluatePolicy } from '../../local/emulator/authorizer-policy';

// IAM's evaluation, as API Gateway applies it to a Lambda authorizer's policy: an explicit Deny wins, else an Allow
// admits, else the request is implicitly denied; `*` and `?` wildcards; actions case-insensitive, resources
// case-sensitive. Sources: IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements: Action / Resource";
// API Gateway developer guide, "Control access to WebSocket APIs with AWS Lambda REQUEST authorizers".
const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e1/prod/$connect';
const invoke = 'execute-api:Invoke';
const policy = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });
const allow = (Action: unknown, Resource: unknown) => ({ Effect: 'Allow', Action, Resource });
const deny = (Action: unknown, Resource: unknown) => ({ Effect: 'Deny', Action, Resource });

describe('evaluatePolicy', () => {
  it.each([
    ['the exact methodArn', allow(invoke, methodArn)],
    ['Resource *', allow(invoke, '*')],
    ['Action *', allow('*', methodArn)],
    ['execute-api:*', allow('execute-api:*', methodArn)],
    ['a lower-case action (actions are case-insensitive)', allow('execute-api:invoke', methodArn)],
    ['an upper-case action', allow('EXECUTE-API:INVOKE', methodArn)],
    ['wildcard region, account and route', allow(invoke, 'arn:aws:execute-api:*:*:k3x9q2w7e1/*')],
    ['a ? for one character', allow(invoke, 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e?/prod/$connect')],
    ['arrays of actions and resources', allow(['sqs:SendMessage', invoke], ['arn:aws:s3:::bucket', methodArn])],
    ['a wildcard action prefix', allow('execute-api:Inv*', methodArn)],
  ])('allows on %s', (_case, statement) => {
    expect(evaluatePolicy(policy(statement), invoke, methodArn)).toBe('allow');
  });

  it('takes a single statement object as well as an array', () => {
    expect(evaluatePolicy({ Version: '2012-10-17', Statement: allow(invoke, methodArn) }, invoke, methodArn)).toBe(
      'allow',
    );
  });

  it.each([
    ['another API', allow(invoke, 'arn:aws:execute-api:eu-west-1:123456789012:otherapi01/prod/$connect')],
    ['another stage', allow(invoke, 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e1/dev/$connect')],
    ['another region', allow(invoke, 'arn:aws:execute-api:us-east-1:123456789012:k3x9q2w7e1/prod/$connect')],
    ['another action', allow('execute-api:ManageConnections', methodArn)],
    ['another service', allow('lambda:Invoke*', '*')],
    ['the resource in other case (resources are case-sensitive)', allow(invoke, methodArn.toUpperCase())],
    ['a ? that must match exactly one character', allow(invoke, `${methodArn}?`)],
  ])('implicitly denies an Allow for %s', (_case, statement) => {
    expect(evaluatePolicy(policy(statement), invoke, methodArn)).toBe('implicit-deny');
  });

  it('lets a matching Deny win over a matching Allow, whatever the order', () => {
    expect(evaluatePolicy(policy(deny(invoke, '*'), allow(invoke, methodArn)), invoke, methodArn)).toBe(
      'explicit-deny',
    );
    expect(
      evaluatePolicy(
        policy(allow('*', '*'), deny('execute-api:*', 'arn:aws:execute-api:*:*:k3x9q2w7e1/*')),
        invoke,
        methodArn,
      ),
    ).toBe('explicit-deny');
  });

  it('ignores a Deny that does not match', () => {
    expect(
      evaluatePolicy(
        policy(allow(invoke, methodArn), deny(invoke, 'arn:aws:execute-api:*:*:other/*')),
        invoke,
        methodArn,
      ),
    ).toBe('allow');
  });

  it('reads NotAction and NotResource', () => {
    expect(evaluatePolicy(policy({ Effect: 'Allow', NotAction: 's3:*', Resource: methodArn }), invoke, methodArn)).toBe(
      'allow',
    );
    expect(evaluatePolicy(policy({ Effect: 'Allow', Action: invoke, NotResource: methodArn }), invoke, methodArn)).toBe(
      'implicit-deny',
    );
  });

  it('treats regular-expression characters in a pattern as literals', () => {
    expect(
      evaluatePolicy(
        policy(allow(invoke, 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e1/prod/.+')),
        invoke,
        methodArn,
      ),
    ).toBe('implicit-deny');
  });

  it.each([
    ['no document', undefined],
    ['no statements', { Version: '2012-10-17', Statement: [] }],
    ['an Effect other than Allow or Deny', policy({ Effect: 'allow', Action: invoke, Resource: methodArn })],
    ['a statement without Resource', policy({ Effect: 'Allow', Action: invoke })],
    ['a statement without Action', policy({ Effect: 'Allow', Resource: methodArn })],
    ['an Action that is not a string', policy(allow(42, methodArn))],
  ])('calls a document with %s malformed (API Gateway: 500)', (_case, document) => {
    expect(evaluatePolicy(document, invoke, methodArn)).toBeUndefined();
  });
});
