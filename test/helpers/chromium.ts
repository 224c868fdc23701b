import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/**
 * Chromium for the browser tests, from npm alone: `@sparticuz/chromium` carries a brotli-compressed Linux Chromium
 * in its tarball (no install script, so npm 11's install-script blocking does not concern it), unpacked here on
 * first use. Nothing outside `npm ci` is needed: no apt package, no browser download. It is pinned to 147.0.0, the
 * newest release whose declared engines admit this project's Node 20 (148 and later declare Node >= 22.17, and npm
 * warns EBADENGINE on every install); playwright-core 1.65 drives it. The tarball's Chromium is Linux x64.
 */

const root = resolve(__dirname, '..', '..');

/** Where the unpacked browser is, and the flags its package recommends. */
export interface UnpackedChromium {
  executablePath: string;
  args: string[];
}

/**
 * The package unpacks into `os.tmpdir()/chromium` and returns early when that path merely exists, so two jest
 * workers unpacking at once could launch a half-written binary. Here each unpack runs in a fresh staging folder
 * (its own TMPDIR) that is renamed into place whole: the first rename wins, a later one finds the folder taken and
 * uses it. The folder is keyed by the package version, so an upgrade unpacks anew. It runs in a child process
 * because the package is ESM-only and locates its archives through `import.meta.url`, which jest's CommonJS
 * transform cannot run.
 *
 * @example
 * const { executablePath, args } = await unpackChromium();
 */
export async function unpackChromium(): Promise<UnpackedChromium> {
  const packageJson = join(root, 'node_modules', '@sparticuz', 'chromium', 'package.json');
  if (!existsSync(packageJson)) {
    throw new Error('@sparticuz/chromium is not installed: run npm ci (it is a devDependency)');
  }
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const folder = join(tmpdir(), `realtime-gateway-chromium-${version}`);
  const argsFile = join(folder, 'args.json');
  if (!existsSync(argsFile)) {
    const staging = mkdtempSync(join(tmpdir(), 'realtime-gateway-chromium-staging-'));
    const probe = [
      "import chromium from '@sparticuz/chromium';",
      'const executablePath = await chromium.executablePath();',
      'process.stdout.write(JSON.stringify({ executablePath, args: chromium.args }));',
    ].join('\n');
    try {
      const output = await new Promise<string>((resolveRun, reject) =>
        execFile(
          process.execPath,
          ['--input-type=module', '--eval', probe],
          { cwd: root, env: { ...process.env, TMPDIR: staging }, timeout: 120_000 },
          (error, stdout, stderr) =>
            error
              ? reject(new Error(`Unpacking @sparticuz/chromium failed: ${error.message}\n${stderr}`))
              : resolveRun(stdout),
        ),
      );
      const { executablePath, args } = JSON.parse(output) as UnpackedChromium;
      if (executablePath !== join(staging, 'chromium')) {
        throw new Error(`@sparticuz/chromium unpacked to ${executablePath}, expected ${join(staging, 'chromium')}`);
      }
      writeFileSync(join(staging, 'args.json'), JSON.stringify(args));
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    try {
      renameSync(staging, folder);
    } catch (error) {
      // Another worker renamed its copy into place first: use that one.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(argsFile)) throw error;
    }
  }
  return { executablePath: join(folder, 'chromium'), args: JSON.parse(readFileSync(argsFile, 'utf8')) as string[] };
}

/**
 * Launches the npm-provided Chromium headless through playwright-core.
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage();
 */
export async function launchChromium(): Promise<Browser> {
  const { executablePath, args } = await unpackChromium();
  // The package's flags are for Lambda, where `--single-process` avoids a sandbox error; here it makes the whole
  // browser exit when a test closes its last page, so the next test finds it gone.
  const flags = args.filter((flag) => flag !== '--single-process');
  return chromium.launch({ executablePath, args: flags, headless: true });
}
