import { resolve } from 'node:path';
import { type FunctionName, functions, httpRoutes, queues, schedules, webSocketRoutes } from '../lambdas/routes';
import { createLambdaInvoker, importHandler, type LambdaInvoker } from './emulator/lambda-runner';
import { settingNames } from './lambda-environment';

/** API Gateway's integration timeouts. */
export const WEBSOCKET_INTEGRATION_TIMEOUT_MS = 29_000;
export const HTTP_INTEGRATION_TIMEOUT_MS = 30_000;

/**
 * The functions the local stack runs: the two authorizers, every route's function, every queue's consumer (the
 * local event source mappings invoke it) and every scheduled function (a local timer invokes it). The direct-invoke
 * function has no local caller.
 */
export function routedFunctionNames(): FunctionName[] {
  const names = new Set<FunctionName>(['wsAuthorizer', 'httpAuthorizer']);
  for (const route of webSocketRoutes) names.add(route.function);
  for (const route of httpRoutes) names.add(route.function);
  for (const queue of Object.values(queues)) names.add(queue.consumer.function);
  for (const schedule of Object.values(schedules)) names.add(schedule.function);
  return [...names];
}

/** A queue consumer's declared timeout in ms, or undefined for a function no queue feeds. */
function consumerTimeoutMs(name: FunctionName): number | undefined {
  const queue = Object.values(queues).find((candidate) => candidate.consumer.function === name);
  return queue && queue.consumer.timeoutSeconds * 1000;
}

/**
 * Loads each routed function's handler module from the route table's `entry`, one after the other, with
 * `process.env` holding the runtime variables and exactly that function's settings while it is imported (the
 * other settings are unset), so a module-scope read of a setting the function does not get fails here as it
 * would on AWS. Afterwards every function's settings stay set, for handlers that read them lazily.
 *
 * @example
 * const invokers = await loadRouteFunctions('/repo', runtime, (name) => localFunctionEnvironment(name, input));
 * await invokers.get('wsFrames')!.invoke(event);
 */
export async function loadRouteFunctions(
  rootDir: string,
  runtime: Record<string, string>,
  environmentOf: (name: FunctionName) => Record<string, string>,
  timeouts: { consumerTimeoutMs?: number } = {},
): Promise<Map<FunctionName, LambdaInvoker>> {
  const invokers = new Map<FunctionName, LambdaInvoker>();
  const everySetting: Record<string, string> = {};
  for (const name of routedFunctionNames()) {
    const environment = environmentOf(name);
    for (const setting of settingNames) delete process.env[setting];
    const declaredConsumerTimeout = consumerTimeoutMs(name);
    const timeoutMs =
      declaredConsumerTimeout !== undefined
        ? (timeouts.consumerTimeoutMs ?? declaredConsumerTimeout)
        : name.startsWith('http')
          ? HTTP_INTEGRATION_TIMEOUT_MS
          : WEBSOCKET_INTEGRATION_TIMEOUT_MS;
    const modulePath = resolve(rootDir, functions[name].entry);
    let handler: Awaited<ReturnType<typeof importHandler>>;
    try {
      handler = await importHandler(modulePath, { ...runtime, ...environment });
    } catch (error) {
      throw new Error(`cannot load ${name} from ${functions[name].entry}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    invokers.set(name, createLambdaInvoker(name, handler, { timeoutMs }));
    Object.assign(everySetting, environment);
  }
  Object.assign(process.env, everySetting);
  return invokers;
}
