#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RealtimeGatewayStack } from '../lib/realtime-gateway-stack';
import { gatewayPropsFromContext, InvalidContextError } from '../lib/settings';

/**
 * The CDK app: one RealtimeGateway stack per stage (`-c stageName=dev` deploys `RealtimeGateway-dev` beside
 * `RealtimeGateway-prod`), checked by cdk-nag's AwsSolutions pack. Configuration comes from CDK context only;
 * docs/configuration.md lists every key.
 */
const app = new App();
try {
  const gateway = gatewayPropsFromContext((key) => app.node.tryGetContext(key));
  new RealtimeGatewayStack(app, `RealtimeGateway-${gateway.stageName ?? 'prod'}`, {
    description: 'realtime-gateway: JWT-authenticated WebSocket and HTTP APIs with a DynamoDB connection registry',
    gateway,
  });
} catch (error) {
  // A configuration mistake is the operator's to fix: say which key and why, without a stack trace.
  if (error instanceof InvalidContextError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
