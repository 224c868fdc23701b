import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { FunctionName } from '../../lambdas/routes';
import { RealtimeGateway, type RealtimeGatewayProps } from '../../lib/realtime-gateway';
import { testAppContext } from './app-context';

/** A synthesized gateway and the logical ids the assertions refer to. */
export interface SynthesizedGateway {
  stack: Stack;
  gateway: RealtimeGateway;
  template: Template;
  /** Logical id of any construct's default CloudFormation resource. */
  logicalId(construct: IConstruct): string;
  /** Logical id of a route-table function's AWS::Lambda::Function. */
  functionId(name: FunctionName): string;
  /** Logical id of a route-table function's execution role. */
  roleId(name: FunctionName): string;
}

/**
 * GIVEN a stack holding only the gateway construct, synthesized without esbuild (bundling is skipped for every
 * stack, so the tests stay fast and need no handler to compile).
 */
export function synthesizeGateway(
  props: RealtimeGatewayProps = {},
  /** Adds to the stack before synthesis (the tree is frozen after it). */
  arrange?: (stack: Stack, gateway: RealtimeGateway) => void,
): SynthesizedGateway {
  const app = new App({ context: testAppContext() });
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const gateway = new RealtimeGateway(stack, 'Gateway', props);
  arrange?.(stack, gateway);
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  return {
    stack,
    gateway,
    template,
    logicalId,
    functionId: (name) => logicalId(gateway.functions[name]),
    roleId: (name) => logicalId(gateway.functions[name].role!),
  };
}

/** An IAM statement as synthesized, with `Action` always a list. */
export interface SynthesizedStatement {
  Effect: string;
  Action: string[];
  Resource: unknown;
}

/** Every statement of every policy attached to one role. */
export function statementsOfRole(template: Template, roleLogicalId: string): SynthesizedStatement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: SynthesizedStatement[] = [];
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties.Roles ?? []) as { Ref?: string }[];
    if (!roles.some((role) => role.Ref === roleLogicalId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      statements.push({ ...statement, Action: [statement.Action].flat() });
    }
  }
  return statements;
}

/** All actions a role may perform. */
export function actionsOfRole(template: Template, roleLogicalId: string): string[] {
  return statementsOfRole(template, roleLogicalId).flatMap((statement) => statement.Action);
}

/** Logical id of the one integration of `apiLogicalId` that targets the function `functionLogicalId`. */
export function integrationFor(template: Template, apiLogicalId: string, functionLogicalId: string): string {
  const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
    Properties: { ApiId: { Ref: apiLogicalId } },
  });
  const targeting = Object.entries(integrations)
    .filter(([, resource]) =>
      JSON.stringify(resource.Properties.IntegrationUri).includes(`{"Fn::GetAtt":["${functionLogicalId}","Arn"]}`),
    )
    .map(([id]) => id);
  if (targeting.length !== 1) {
    throw new Error(
      `expected one integration of ${apiLogicalId} targeting ${functionLogicalId}, found ${targeting.length}`,
    );
  }
  return targeting[0];
}

/** The `Target` an API Gateway v2 route has when it points at an integration. */
export function targetOf(integrationLogicalId: string): unknown {
  return { 'Fn::Join': ['', ['integrations/', { Ref: integrationLogicalId }]] };
}
