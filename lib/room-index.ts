import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { roomTableSchema } from '../lambdas/core/table-schema';
import type { FunctionAccess } from '../lambdas/routes';

export interface RoomIndexProps {
  /** @default RemovalPolicy.DESTROY, like the registry: memberships die with their connections anyway */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

const attributeTypes = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER } as const;

/**
 * The room index (`roomTableSchema`: one item per room and connection, TTL from the connection) and the grants of the
 * route table's `roomTable` access: exactly the declared actions on this table, per function.
 *
 * @example
 * const roomIndex = new RoomIndex(this, 'Rooms');
 * roomIndex.grantAccess(fn, functions.wsRooms.access);
 */
export class RoomIndex extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RoomIndexProps = {}) {
    super(scope, id);
    const { partitionKey, sortKey } = roomTableSchema;
    this.table = new dynamodb.Table(this, 'RoomTable', {
      partitionKey: { name: partitionKey.name, type: attributeTypes[partitionKey.type] },
      sortKey: { name: sortKey.name, type: attributeTypes[sortKey.type] },
      billingMode: dynamodb.BillingMode[roomTableSchema.billingMode],
      timeToLiveAttribute: roomTableSchema.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /** The grant of one function's `roomTable` access: those actions on the room table, nothing else. */
  grantAccess(fn: lambda.IFunction, access: FunctionAccess): void {
    if (access.roomTable.length === 0) return;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: access.roomTable.map((action) => `dynamodb:${action}`),
        resources: [this.table.tableArn],
      }),
    );
  }
}
