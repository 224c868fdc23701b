#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addRealtimeGateway } from '../lib/gateway-app';
import { InvalidContextError } from '../lib/settings';

// Configuration comes from CDK context only (`-c key=value` or cdk.json); docs/configuration.md lists every key.
const app = new App();
try {
  // The CLI sets these from the profile or AWS_REGION (region, us-east-1 when none is configured) and its
  // credentials (account), as `cdk init` apps use them: `AWS_REGION=eu-central-2 npx cdk synth` synthesizes for
  // that region. Run without the CLI, both are unset and the template is region-agnostic.
  addRealtimeGateway(app, { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
} catch (error) {
  // A configuration mistake is the operator's to fix: say which key and why, without a stack trace.
  if (error instanceof InvalidContextError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
