import { readFileSync } from 'node:fs';
import { cdkJsonContext } from './app-context';

// `cdk synth` prints "N feature flags are not configured" for every recommended flag cdk.json does not pin. The
// recommended set is the one this aws-cdk-lib ships (the same file `cdk init` writes): after an upgrade that adds
// flags, this test names them, so each is pinned (and its template change read) deliberately.
const recommended: Record<string, unknown> = JSON.parse(
  readFileSync(require.resolve('aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
);

describe('cdk.json feature flags', () => {
  it('pins every flag aws-cdk-lib recommends, at the recommended value', () => {
    const unpinned = Object.entries(recommended)
      .filter(([flag, value]) => JSON.stringify(cdkJsonContext[flag]) !== JSON.stringify(value))
      .map(([flag]) => flag);
    expect(unpinned).toEqual([]);
  });
});
