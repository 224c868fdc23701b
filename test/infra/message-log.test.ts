import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { messageLogTableSchema } from '../../lambdas/core/table-schema';
import { type FunctionName, functions } from '../../lambdas/routes';
import { RealtimeGatewayStack } from '../../lib/realtime-gateway-stack';
import { testAppContext } from './app-context';
import { type SynthesizedGateway, synthesizeGateway } from './gateway-template';

const functionNames = Object.keys(functions) as FunctionName[];

describe('the message log (lib/message-log.ts, issue 12)', () => {
  let synthesized: SynthesizedGateway;
  let template: Template;
  beforeAll(() => {
    synthesized = synthesizeGateway({ messageLog: { retentionSeconds: 7200, offlineDelivery: 'all' } });
    template = synthesized.template;
  });

  it('builds the log table from its schema, with the TTL the retention relies on', () => {
    // GIVEN the schema declared once / THEN the table has its keys, billing and TTL attribute
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: messageLogTableSchema.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: messageLogTableSchema.sortKey.name, KeyType: 'RANGE' },
      ],
      BillingMode: messageLogTableSchema.billingMode,
      TimeToLiveSpecification: { AttributeName: messageLogTableSchema.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it.each(functionNames)('%s gets the log settings exactly when it may touch the log', (name) => {
    // GIVEN the construct's messageLog props / THEN they reach the functions with log access, and only those
    const variables = template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties
      .Environment.Variables as Record<string, unknown>;
    if (functions[name].access.messageLog.length === 0) {
      expect(variables).not.toHaveProperty('MESSAGE_LOG_TABLE_NAME');
      expect(variables).not.toHaveProperty('MESSAGE_RETENTION_SECONDS');
      return;
    }
    expect(variables.MESSAGE_LOG_TABLE_NAME).toEqual({
      Ref: synthesized.logicalId(synthesized.gateway.messageLog.table),
    });
    expect(variables).toMatchObject({ MESSAGE_RETENTION_SECONDS: '7200', OFFLINE_DELIVERY: 'all' });
  });

  it('routes the resume action to the function that reads the log and writes only the offline cursor', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'resume' });
    expect(functions.wsResume.access).toEqual({
      table: [],
      manageConnections: false,
      verifiesTokens: false,
      fanOutTable: [],
      sendsTo: [],
      roomTable: [],
      messageLog: ['Query', 'UpdateItem'],
      sendsCompletionEvents: false,
    });
  });

  it('outputs the log table, for a backend that sends with the server library', () => {
    const stack = new RealtimeGatewayStack(new App({ context: testAppContext() }), 'LogOutputsStack', {
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    const table = stack.gateway.messageLog.table;
    Template.fromStack(stack).hasOutput('MessageLogTableName', {
      Value: { Ref: stack.getLogicalId(table.node.defaultChild as CfnElement) },
    });
  });
});
