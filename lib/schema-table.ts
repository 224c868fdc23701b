import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/** A table declaration of `lambdas/core/table-schema.ts`: the shape every one of them has. */
export interface TableSchema {
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
  readonly sortKey: { readonly name: string; readonly type: 'S' | 'N' };
  readonly timeToLiveAttribute: string;
  readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
}

const attributeTypes = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER } as const;

/**
 * A DynamoDB table built from its one declaration (the local stack builds the same one from it): keys, billing, the
 * TTL attribute, and point-in-time recovery on every table (cdk-nag's DynamoDB rule, and a registry or log lost to a
 * bad deploy is worth the restore).
 *
 * @example
 * const table = tableFromSchema(this, 'ConnectionTable', connectionTableSchema, props.tableRemovalPolicy);
 */
export function tableFromSchema(
  scope: Construct,
  id: string,
  schema: TableSchema,
  removalPolicy: RemovalPolicy = RemovalPolicy.DESTROY,
): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    partitionKey: { name: schema.partitionKey.name, type: attributeTypes[schema.partitionKey.type] },
    sortKey: { name: schema.sortKey.name, type: attributeTypes[schema.sortKey.type] },
    billingMode: dynamodb.BillingMode[schema.billingMode],
    timeToLiveAttribute: schema.timeToLiveAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
  });
}

/**
 * Grants exactly the DynamoDB actions a route table access list names, on one table; nothing when the list is empty.
 *
 * @example
 * grantTableActions(fn, functions.wsResume.access.messageLog, logTable); // dynamodb:Query on the log only
 */
export function grantTableActions(fn: lambda.IFunction, actions: readonly string[], table: dynamodb.ITable): void {
  if (actions.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources: [table.tableArn] }),
  );
}
