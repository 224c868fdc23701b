import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { messageLogTableSchema } from '../lambdas/core/table-schema';
import type { FunctionAccess } from '../lambdas/routes';
import { grantTableActions, tableFromSchema } from './schema-table';

export interface MessageLogTableProps {
  /**
   * What happens to the log when the stack is deleted: it holds at most a retention's worth of messages, replayable
   * only through the APIs being deleted with it.
   * @default RemovalPolicy.DESTROY
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

/**
 * The message log's table (`messageLogTableSchema`: streams, time-ordered ids, TTL = the retention) and the grants
 * of the route table's `messageLog` access: exactly the actions each function's code uses, on this table only.
 *
 * @example
 * const log = new MessageLogTable(this, 'MessageLog');
 * log.grantAccess(fn, functions.wsResume.access); // dynamodb:Query on the log, nothing else
 */
export class MessageLogTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: MessageLogTableProps = {}) {
    super(scope, id);
    this.table = tableFromSchema(this, 'Table', messageLogTableSchema, props.tableRemovalPolicy);
  }

  /** One statement with the function's `messageLog` actions on the log table; none when it has no access. */
  grantAccess(fn: lambda.IFunction, access: FunctionAccess): void {
    grantTableActions(fn, access.messageLog, this.table);
  }
}
