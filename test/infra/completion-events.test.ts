import { CompletionEventSetting } from '../../lambdas/core/config';
import { type FunctionName, functions } from '../../lambdas/routes';
import { ContextKey, gatewayPropsFromContext, InvalidContextError } from '../../lib/settings';
import { type SynthesizedGateway, statementsOfRole, synthesizeGateway } from './gateway-template';

const functionNames = Object.keys(functions) as FunctionName[];
const senders = functionNames.filter((name) => functions[name].access.sendsCompletionEvents);

function environmentOf(synthesized: SynthesizedGateway, name: FunctionName): Record<string, unknown> {
  const resource = synthesized.template.toJSON().Resources[synthesized.functionId(name)];
  return resource.Properties.Environment.Variables;
}

function putEventsStatements(synthesized: SynthesizedGateway, name: FunctionName) {
  return statementsOfRole(synthesized.template, synthesized.roleId(name)).filter((statement) =>
    statement.Action.some((action) => action.startsWith('events:')),
  );
}

describe('the broadcast completion event (route table flag sendsCompletionEvents, lib/fan-out.ts)', () => {
  it('is sent by the broadcast worker alone', () => {
    expect(senders).toEqual(['broadcastWorker']);
  });

  it('by default: the worker may PutEvents on the default bus of its account and region only, and gets its name', () => {
    // GIVEN a gateway with default props
    const synthesized = synthesizeGateway({});

    // THEN exactly the worker gets the setting and one PutEvents grant on the default bus
    for (const name of functionNames) {
      const statements = putEventsStatements(synthesized, name);
      if (senders.includes(name)) {
        expect(environmentOf(synthesized, name)[CompletionEventSetting.completionEventBus]).toBe('default');
        expect(statements).toEqual([
          {
            Effect: 'Allow',
            Action: ['events:PutEvents'],
            Resource: 'arn:aws:events:eu-west-1:123456789012:event-bus/default',
          },
        ]);
      } else {
        expect(environmentOf(synthesized, name)).not.toHaveProperty(CompletionEventSetting.completionEventBus);
        expect(statements).toEqual([]);
      }
    }
  });

  it('goes to the named bus, and the grant follows it', () => {
    const synthesized = synthesizeGateway({ completionEvents: { eventBusName: 'orders' } });

    expect(environmentOf(synthesized, 'broadcastWorker')[CompletionEventSetting.completionEventBus]).toBe('orders');
    expect(putEventsStatements(synthesized, 'broadcastWorker')).toEqual([
      expect.objectContaining({
        Action: ['events:PutEvents'],
        Resource: 'arn:aws:events:eu-west-1:123456789012:event-bus/orders',
      }),
    ]);
  });

  it('takes a bus ARN as is', () => {
    const arn = 'arn:aws:events:eu-west-1:210987654321:event-bus/central';
    const synthesized = synthesizeGateway({ completionEvents: { eventBusName: arn } });

    expect(environmentOf(synthesized, 'broadcastWorker')[CompletionEventSetting.completionEventBus]).toBe(arn);
    expect(putEventsStatements(synthesized, 'broadcastWorker')).toEqual([
      expect.objectContaining({ Action: ['events:PutEvents'], Resource: arn }),
    ]);
  });

  it('turned off: no setting and no grant anywhere, and the worker may no longer Query the fan-out state', () => {
    const synthesized = synthesizeGateway({ completionEvents: { enabled: false } });
    const stateTable = synthesized.logicalId(synthesized.gateway.fanOut.table);

    const workerOnState = statementsOfRole(synthesized.template, synthesized.roleId('broadcastWorker'))
      .filter((statement) => JSON.stringify(statement.Resource).includes(`"${stateTable}"`))
      .flatMap((statement) => statement.Action)
      .sort();
    expect(workerOnState).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);

    for (const name of functionNames) {
      expect(environmentOf(synthesized, name)).not.toHaveProperty(CompletionEventSetting.completionEventBus);
      expect(putEventsStatements(synthesized, name)).toEqual([]);
    }
  });

  it('reads its context keys, and names the key that is wrong', () => {
    const read = (context: Record<string, unknown>) => gatewayPropsFromContext((key) => context[key]);
    const error = (context: Record<string, unknown>) => {
      try {
        read(context);
      } catch (thrown) {
        return thrown as InvalidContextError;
      }
      throw new Error('expected an InvalidContextError');
    };

    expect(read({}).completionEvents).toBeUndefined();
    expect(read({ completionEvents: 'false' }).completionEvents).toEqual({ enabled: false });
    expect(read({ completionEventBusName: 'orders' }).completionEvents).toEqual({ eventBusName: 'orders' });
    expect(error({ completionEvents: 'maybe' }).message).toContain(`"${ContextKey.completionEvents}"`);
    expect(error({ completionEventBusName: 'has space' }).message).toContain(
      `"${ContextKey.completionEventBusName}" must be an event bus name`,
    );
    expect(error({ completionEvents: false, completionEventBusName: 'orders' })).toBeInstanceOf(InvalidContextError);
  });
});
