import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareOutputFolder } from '../../scripts/output-folder';

describe('prepareOutputFolder (build scripts)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'output-folder-'));
    writeFileSync(join(root, 'package.json'), '{}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('refuses to replace a non-empty folder outside dist/, such as the repository itself', () => {
    expect(() => prepareOutputFolder(root, ['node', 'build', '--out-dir', root], join(root, 'dist', 'x'))).toThrow(
      /not empty and not under dist\/ or packages\/\*\/dist/,
    );
    expect(existsSync(join(root, 'package.json'))).toBe(true);
  });

  it('refuses dist/ itself, which holds every build', () => {
    mkdirSync(join(root, 'dist', 'client'), { recursive: true });
    writeFileSync(join(root, 'dist', 'client', 'index.js'), '');
    expect(() => prepareOutputFolder(root, ['--out-dir', join(root, 'dist')], join(root, 'dist', 'x'))).toThrow();
    expect(existsSync(join(root, 'dist', 'client', 'index.js'))).toBe(true);
  });

  it('empties a folder under dist/ and creates a missing one elsewhere', () => {
    const previous = join(root, 'dist', 'client');
    mkdirSync(previous, { recursive: true });
    writeFileSync(join(previous, 'stale.js'), '');
    expect(prepareOutputFolder(root, [], previous)).toBe(previous);
    expect(readdirSync(previous)).toEqual([]);

    const elsewhere = join(root, 'elsewhere');
    expect(prepareOutputFolder(root, ['--out-dir', elsewhere], previous)).toBe(elsewhere);
    expect(existsSync(elsewhere)).toBe(true);
  });

  it("replaces a package's own build folder, packages/<name>/dist, but not the package folder", () => {
    const packageDist = join(root, 'packages', 'client', 'dist');
    mkdirSync(packageDist, { recursive: true });
    writeFileSync(join(packageDist, 'stale.js'), '');
    writeFileSync(join(root, 'packages', 'client', 'package.json'), '{}');

    expect(prepareOutputFolder(root, ['--out-dir', packageDist], join(root, 'dist', 'x'))).toBe(packageDist);
    expect(readdirSync(packageDist)).toEqual([]);
    expect(() => prepareOutputFolder(root, ['--out-dir', join(root, 'packages', 'client')], packageDist)).toThrow();
    expect(existsSync(join(root, 'packages', 'client', 'package.json'))).toBe(true);
  });
});
