import { resolve } from 'node:path';

/** The repository root: handler entries in the route table are relative to it. */
export const rootDir = resolve(__dirname, '..');

/** The development signing secret, created on first start under the git-ignored `.local/`. */
export const devSecretFile = resolve(rootDir, '.local', 'dev-secret');

/** The local stack's access key pair (functions sign `@connections` with it), created on first start. */
export const devCredentialsFile = resolve(rootDir, '.local', 'dev-credentials.json');
