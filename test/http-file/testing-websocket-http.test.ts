import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { allUsersRequests, type ExpectedAnswer, safeRequests } from './expected-answers';

/**
 * The testers' `.http` files: portable (requests and variables only, so VS Code REST Client, JetBrains HTTP Client and
 * httpyac all run them), and right (run with httpyac against the local stack, every named request answers as
 * `expected-answers.ts` says).
 */

const root = resolve(__dirname, '..', '..');
const httpFiles = [
  { file: 'testing-websocket.http', expected: safeRequests },
  { file: 'testing-websocket-all-users.http', expected: allUsersRequests },
] as const;

interface HttpFileRequest {
  name?: string;
  lines: string[];
}

/** Splits a file at its `###` delimiters (REST Client: a line starting with three or more `#`). */
function requestsOf(file: string): HttpFileRequest[] {
  const text = readFileSync(resolve(root, file), 'utf8');
  return text
    .split(/^#{3,}.*$/m)
    .slice(1)
    .map((block) => {
      const lines = block.split('\n');
      const name = lines.map((line) => /^# @name (\S+)$/.exec(line)?.[1]).find((found) => found !== undefined);
      return { name, lines };
    });
}

/** The variables a file's requests refer to as `{{name}}` (comments and delimiter lines are not sent). */
function variablesOf(file: string): Set<string> {
  const sent = readFileSync(resolve(root, file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(#|\/\/)/.test(line))
    .join('\n');
  return new Set([...sent.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((match) => match[1]!));
}

interface HttpyacAnswer {
  name: string;
  status: number;
  body: unknown;
}

/** Runs one file with httpyac (`--json`) and returns each named request's answer. */
function runHttpyac(file: string, variables: Record<string, string>): Promise<HttpyacAnswer[]> {
  const args = [resolve(root, 'node_modules', 'httpyac', 'bin', 'httpyac.js'), 'send', resolve(root, file)];
  args.push('--all', '--json', '-e', 'local');
  for (const [name, value] of Object.entries(variables)) args.push('--var', `${name}=${value}`);
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      args,
      { cwd: root, timeout: 90_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        // Without `??` lines httpyac has nothing to fail on: a non-zero exit means a request could not be sent.
        if (error) return reject(new Error(`httpyac failed on ${file}: ${error.message}\n${stderr}`));
        const report = JSON.parse(stdout) as {
          requests: { name: string; response?: { statusCode: number; body?: string } }[];
        };
        resolveRun(
          report.requests.map(({ name, response }) => ({
            name,
            status: response?.statusCode ?? 0,
            body: response?.body ? parseJson(response.body) : undefined,
          })),
        );
      },
    );
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every way the answers differ from the table: a wrong status or body, a request without a row, a row never run. */
function answerMismatches(answers: HttpyacAnswer[], table: Record<string, ExpectedAnswer>): string[] {
  const problems: string[] = [];
  for (const answer of answers) {
    const expected = table[answer.name];
    if (!expected) {
      problems.push(`${answer.name}: no expected answer in expected-answers.ts`);
      continue;
    }
    if (answer.status !== expected.status) {
      problems.push(`${answer.name}: status ${answer.status}, expected ${expected.status}`);
    }
    if (expected.body) {
      try {
        expect(answer.body).toMatchObject(expected.body);
      } catch (error) {
        problems.push(`${answer.name}: ${(error as Error).message}`);
      }
    }
  }
  const answered = new Set(answers.map((answer) => answer.name));
  for (const name of Object.keys(table)) {
    if (!answered.has(name)) problems.push(`${name}: expected, but no request of that name ran`);
  }
  return problems;
}

describe('the .http files hold requests and variables only', () => {
  it.each(httpFiles)('$file uses no line that only one client understands', ({ file }) => {
    const clientSpecific = readFileSync(resolve(root, file), 'utf8')
      .split('\n')
      .filter(
        (line) =>
          /^\s*\?\?/.test(line) || // httpyac assertions: REST Client sends them as body
          /^\s*[<>]\s*(\{%|\S+\.js\s*$)/.test(line) || // JetBrains/httpyac handler scripts
          /^\s*@[\w-]+\s*=/.test(line) || // file variables: httpyac's --var cannot override them
          /^\s*(#|\/\/)\s*@(?!name\s)/.test(line), // request metadata other than @name (httpyac's @ref, @loop, ...)
      );
    expect(clientSpecific).toEqual([]);
  });

  it.each(httpFiles)('$file refers only to plain variables, all documented in the environments', ({ file }) => {
    const publicEnv = JSON.parse(readFileSync(resolve(root, 'http-client.env.json'), 'utf8'));
    const privateEnv = JSON.parse(readFileSync(resolve(root, 'http-client.private.env.json.example'), 'utf8'));
    for (const environment of ['local', 'stage']) {
      const defined = new Set([
        ...Object.keys(publicEnv[environment] ?? {}),
        ...Object.keys(privateEnv[environment] ?? {}),
      ]);
      // No `{{$processEnv ...}}` or `{{ js }}`: each client has its own system variables and expressions.
      expect([...variablesOf(file)].filter((name) => !defined.has(name))).toEqual([]);
    }
    // And the REST Client settings sample in the safe file's header names every variable too.
    const header = readFileSync(resolve(root, 'testing-websocket.http'), 'utf8').split(/^###/m)[0]!;
    const sample = header.slice(header.indexOf('"rest-client.environmentVariables"'));
    for (const name of variablesOf(file)) expect(sample).toContain(`"${name}"`);
  });

  it.each(httpFiles)(
    '$file names every request, and each name has exactly one expected answer',
    ({ file, expected }) => {
      const names = requestsOf(file).map((request) => request.name);
      expect(names).not.toContain(undefined);
      expect(new Set(names).size).toBe(names.length);
      expect([...names].sort()).toEqual(Object.keys(expected).sort());
    },
  );

  it('keeps broadcast and disconnect out of the safe file, and the other file starts with its warning', () => {
    const routes = requestsOf('testing-websocket.http').map(
      (request) => request.lines.find((line) => /^(GET|POST|PUT|PATCH|DELETE) /.test(line)) ?? '',
    );
    expect(routes.filter((line) => /\/message\/broadcast|\/disconnect/.test(line))).toEqual([]);
    const firstLines = readFileSync(resolve(root, 'testing-websocket-all-users.http'), 'utf8').split('\n', 2).join(' ');
    expect(firstLines).toMatch(/^# WARNING: these requests reach every user connected to the target/);
  });
});

describe('the .http files run by httpyac against the local stack', () => {
  let stack: LocalStack;
  let tokens: { userToken: string; adminToken: string };
  const run = (file: string, values: Record<string, string>) => runHttpyac(file, { httpUrl: stack.httpUrl, ...values });

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
    const [userToken, adminToken] = await Promise.all([
      signDevToken(stack.jwtSecret, 'user123'),
      signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast' }),
    ]);
    tokens = { userToken, adminToken };
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(httpFiles)(
    '$file: every request answers as expected',
    async ({ file, expected }) => {
      const answers = await run(file, tokens);
      expect(answers.length).toBe(Object.keys(expected).length);
      expect(answerMismatches(answers, expected)).toEqual([]);
    },
    120_000,
  );

  it('finds the wrong answers when the tokens are swapped, so the checks above can fail', async () => {
    // The admin's token where the plain user's belongs: every refusal for lack of permission now answers 200.
    const answers = await run('testing-websocket.http', { ...tokens, userToken: tokens.adminToken });
    const failing = answerMismatches(answers, safeRequests).map((problem) => problem.split(':')[0]);
    expect(failing).toEqual(expect.arrayContaining(['connectedUsersForbidden', 'otherStatusForbidden', 'myStatus']));
    // And a name the table lacks, or a row no request has, is reported too.
    const { sendToUser, ...withoutOne } = safeRequests;
    expect(sendToUser).toBeDefined();
    expect(answerMismatches(answers, withoutOne)).toContain('sendToUser: no expected answer in expected-answers.ts');
    expect(answerMismatches([], { sendToUser })).toEqual(['sendToUser: expected, but no request of that name ran']);
  }, 120_000);
});
