import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageLogSetting, Setting } from '../../lambdas/core/config';
import { ContextKey } from '../../lib/settings';

// docs/configuration.md is the operator's reference: a key or setting added in code but not documented there fails.
const documentation = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
const tableRows = documentation.split('\n').filter((line) => line.startsWith('| `'));

describe('docs/configuration.md', () => {
  it.each(Object.values(ContextKey))('documents the CDK context key %s in a table row', (key) => {
    expect(tableRows.some((row) => row.includes(`\`${key}\``))).toBe(true);
  });

  it.each([...Object.values(Setting), ...Object.values(MessageLogSetting)])(
    'documents the Lambda setting %s in a table row',
    (setting) => {
      expect(tableRows.some((row) => row.includes(`\`${setting}\``))).toBe(true);
    },
  );
});
