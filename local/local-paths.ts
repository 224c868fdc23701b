import { resolve } from 'node:path';

/** The repository root: handler entries in the route table are relative to it. */
export const rootDir = resolve(__dirname, '..');

/** The development signing secret, created on first start under the git-ignored `.local/`. */
export const devSecretFile = resolve(rootDir, '.local', 'dev-secret');
