// Can-fail proof: the fault suite's scenario with the 410 cleanup switched off (removals of connections that vanished
// or lost their $disconnect are skipped, and only the 410 cleanup would remove those) must break the registry
// invariant, and the suite must see it.
import { type LocalStack, startLocalStack } from '../../local/stack';
import { sabotage } from './support/registry-sabotage';
import { faultSeed, faultStackOptions, runFaultScenario, safeguardScenario } from './support/scenario';

jest.mock('../../lambdas/core/registry', () =>
  jest
    .requireActual<typeof import('./support/registry-sabotage')>('./support/registry-sabotage')
    .sabotagedRegistryModule(jest.requireActual('../../lambdas/core/registry')),
);

const seed = faultSeed();
let stack: LocalStack;

beforeAll(async () => {
  console.info(`fault suite without 410 cleanup: seed ${seed}`);
  stack = await startLocalStack(faultStackOptions(seed));
  const faults = stack.faults!;
  sabotage.keepRow = (connectionId) => faults.vanished.has(connectionId) || faults.disconnectsDropped.has(connectionId);
}, 30_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

it('detects the stale rows left when 410 cleanup is off', async () => {
  const outcome = await runFaultScenario(stack, safeguardScenario);

  const stale = outcome.violations.filter((violation) => violation.invariant === 'registry-converges');
  expect(stack.faults!.counts.droppedDisconnects + stack.faults!.counts.gonePosts).toBeGreaterThan(0);
  console.info(`detected (${stale.length}): ${JSON.stringify(stale.slice(0, 3))}`);
  expect(stale.length).toBeGreaterThan(0);
}, 150_000);
