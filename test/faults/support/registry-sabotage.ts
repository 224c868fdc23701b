// Test-only: the registry with one of its safeguards switched off, to show that the fault suite fails without it.
// The product has no switch for either (nothing should turn them off), so the can-fail suites replace the registry
// module in their own jest module registry (jest.mock), which the in-process handlers of the local stack load.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type * as RegistryModule from '../../../lambdas/core/registry';

/** Which safeguard is off; set before the stack starts. */
export const sabotage: {
  /** Removals of these connections are skipped: with the ids of the vanished and `$disconnect`-less connections, only the 410 cleanup would remove them. */
  keepRow?: (connectionId: string) => boolean;
  /** Reads return expired rows: the `expiresAt > :now` filter is taken out of every Query and Scan. */
  ttlFilterOff: boolean;
} = { ttlFilterOff: false };

type Command = { input: Record<string, unknown>; constructor: new (input: Record<string, unknown>) => unknown };

/** The same command without the TTL filter and its `:now` value (DynamoDB refuses an unused value). */
function withoutTtlFilter(command: Command): unknown {
  const { FilterExpression, ExpressionAttributeValues, ...input } = command.input;
  if (FilterExpression !== 'expiresAt > :now') return command;
  const { ':now': _now, ...values } = ExpressionAttributeValues as Record<string, unknown>;
  return new command.constructor({
    ...input,
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  });
}

/** The registry module with `createConnectionRegistry` wrapped by the current {@link sabotage}. */
export function sabotagedRegistryModule(actual: typeof RegistryModule): typeof RegistryModule {
  return {
    ...actual,
    createConnectionRegistry(options) {
      const client = {
        send: (command: Command) =>
          options.client.send((sabotage.ttlFilterOff ? withoutTtlFilter(command) : command) as never),
      } as unknown as DynamoDBDocumentClient;
      const registry = actual.createConnectionRegistry({ ...options, client });
      return {
        ...registry,
        async remove(userId, connectionId) {
          if (sabotage.keepRow?.(connectionId)) return [];
          return registry.remove(userId, connectionId);
        },
      };
    },
  };
}
