#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addRealtimeGateway } from '../lib/gateway-app';
import { InvalidContextError } from '../lib/settings';

// Configuration comes from CDK context only (`-c key=value` or cdk.json); docs/configuration.md lists every key.
const app = new App();
try {
  addRealtimeGateway(app);
} catch (error) {
  // A configuration mistake is the operator's to fix: say which key and why, without a stack trace.
  if (error instanceof InvalidContextError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
