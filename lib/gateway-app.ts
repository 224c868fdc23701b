import { type App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RealtimeGatewayStack } from './realtime-gateway-stack';
import { checkContextKeys, gatewayPropsFromContext } from './settings';

/**
 * Fills a CDK app with the gateway stack configured from the app's context, and registers cdk-nag's AwsSolutions
 * pack on it. `bin/app.ts` calls it; tests call it on their own `App` to check exactly what `cdk synth` checks.
 * One stack per stage: `-c stageName=dev` gives `RealtimeGateway-dev`, which can live beside `RealtimeGateway-prod`.
 * `env` pins the stack to an account and region (bin/app.ts passes the CLI's `CDK_DEFAULT_ACCOUNT` and
 * `CDK_DEFAULT_REGION`); without it the template is region-agnostic.
 *
 * @example
 * const stack = addRealtimeGateway(new App()); // throws InvalidContextError naming a bad or unknown context key
 * addRealtimeGateway(new App(), { region: 'eu-central-2' }); // synthesized for one region
 */
export function addRealtimeGateway(app: App, env?: Environment): RealtimeGatewayStack {
  // A mistyped key (`-c stagename=dev`) must stop synth, not deploy the defaults.
  checkContextKeys(Object.keys(app.node.getAllContext()));
  const gateway = gatewayPropsFromContext((key) => app.node.tryGetContext(key));
  const stack = new RealtimeGatewayStack(app, `RealtimeGateway-${gateway.stageName ?? 'prod'}`, {
    description: 'realtime-gateway: JWT-authenticated WebSocket and HTTP APIs with a DynamoDB connection registry',
    gateway,
    env,
  });
  // cdk-nag 3 registers as a policy-validation plugin (the Aspects API of cdk-nag 2 is gone).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
