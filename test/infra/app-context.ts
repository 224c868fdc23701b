import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `context` of cdk.json (the pinned feature flags), which `cdk synth` hands to bin/app.ts. Test apps start from
 * it so they synthesize what the CLI synthesizes: a flag that changes a template changes it in the tests too.
 */
export const cdkJsonContext: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/** cdk.json's context plus the test's own keys, with esbuild bundling skipped for every stack (fast, no handler built). */
export function testAppContext(context: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [], ...context };
}
