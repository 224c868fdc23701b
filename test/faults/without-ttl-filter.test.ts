// Can-fail proof: the fault suite's scenario with the registry's TTL filter switched off (`expiresAt > :now` taken
// out of every Query and Scan) must let expired rows be read, and the suite must see it.
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
  console.info(`fault suite without the TTL filter: seed ${seed}`);
  sabotage.ttlFilterOff = true;
  stack = await startLocalStack(faultStackOptions(seed));
}, 30_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

it('detects expired rows readable through the status routes when the TTL filter is off', async () => {
  const outcome = await runFaultScenario(stack, safeguardScenario);

  const readable = outcome.violations.filter((violation) => violation.invariant === 'expired-unreadable');
  console.info(`detected (${readable.length}): ${JSON.stringify(readable.slice(0, 3))}`);
  expect(readable.length).toBeGreaterThan(0);
}, 150_000);
