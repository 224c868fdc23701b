import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { roomTableSchema } from '../lambdas/core/table-schema';
import type { FunctionAccess } from '../lambdas/routes';
import { grantTableActions, tableFromSchema } from './schema-table';

export interface RoomIndexProps {
  /** @default RemovalPolicy.DESTROY, like the registry: memberships die with their connections anyway */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

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
    this.table = tableFromSchema(this, 'RoomTable', roomTableSchema, props.tableRemovalPolicy);
  }

  /** The grant of one function's `roomTable` access: those actions on the room table, nothing else. */
  grantAccess(fn: lambda.IFunction, access: FunctionAccess): void {
    grantTableActions(fn, access.roomTable, this.table);
  }
}
