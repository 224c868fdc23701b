import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import WebSocket from 'ws';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { eventually } from '../e2e/support/sockets';
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
  let bystander: WebSocket | undefined;
  let answers: Record<(typeof httpFiles)[number]['file'], HttpyacAnswer[]>;
  /** What user456's one socket received, and how it ended. */
  const user456 = { frames: [] as { type: string; id: string }[], closeCode: undefined as number | undefined };
  /** What user789's socket received: nothing disconnects it, so the asynchronous broadcast has time to arrive. */
  const user789Frames: { type: string; id: string }[] = [];
  const run = (file: string, values: Record<string, string>) => runHttpyac(file, { httpUrl: stack.httpUrl, ...values });

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
    const [userToken, adminToken, receiverToken, bystanderToken] = await Promise.all([
      signDevToken(stack.jwtSecret, 'user123'),
      signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast' }),
      signDevToken(stack.jwtSecret, 'user456'),
      signDevToken(stack.jwtSecret, 'user789'),
    ]);
    tokens = { userToken, adminToken };
    // user456 listens, so the sends have someone to reach and the disconnect something to close.
    const socket = new WebSocket(stack.wsUrl, { headers: { Authorization: `Bearer ${receiverToken}` } });
    socket.on('message', (data) => user456.frames.push(JSON.parse(String(data))));
    const closed = new Promise<void>((resolveClose) =>
      socket.on('close', (code) => {
        user456.closeCode = code;
        resolveClose();
      }),
    );
    await new Promise((resolveOpen, reject) => socket.once('open', resolveOpen).once('error', reject));
    // In this order: the safe file, then broadcast and disconnect (which closes user456's socket).
    const safe = await run('testing-websocket.http', tokens);
    // Only now, so that the safe file's connected-users answer is user456 alone.
    const listener = new WebSocket(stack.wsUrl, { headers: { Authorization: `Bearer ${bystanderToken}` } });
    bystander = listener;
    listener.on('message', (data) => user789Frames.push(JSON.parse(String(data))));
    await new Promise((resolveOpen, reject) => listener.once('open', resolveOpen).once('error', reject));
    const allUsers = await run('testing-websocket-all-users.http', tokens);
    await closed;
    answers = { 'testing-websocket.http': safe, 'testing-websocket-all-users.http': allUsers };
  }, 180_000);

  afterAll(async () => {
    bystander?.close();
    await stack?.stop();
  });

  it.each(httpFiles)('$file: every request answers as expected', ({ file, expected }) => {
    expect(answers[file].length).toBe(Object.keys(expected).length);
    expect(answerMismatches(answers[file], expected)).toEqual([]);
  });

  it("delivered the sends to user456's socket, which the disconnect then closed, and the broadcast to user789's", async () => {
    const messageIdOf = (file: (typeof httpFiles)[number]['file'], name: string) =>
      (answers[file].find((answer) => answer.name === name)?.body as { messageId?: string } | undefined)?.messageId;
    const broadcastId = messageIdOf('testing-websocket-all-users.http', 'broadcast');
    // The broadcast is asynchronous: it may reach user456 before the disconnect closes its socket, or not.
    expect(user456.frames.filter(({ type }) => type !== 'system').map(({ type, id }) => ({ type, id }))).toEqual([
      { type: 'chat', id: messageIdOf('testing-websocket.http', 'sendToUser') },
      { type: 'announcement', id: messageIdOf('testing-websocket.http', 'sendToUsers') },
      { type: 'notification', id: messageIdOf('testing-websocket.http', 'notification') },
    ]);
    const broadcastOnUser456 = user456.frames.filter(({ type }) => type === 'system').map(({ id }) => id);
    expect(broadcastOnUser456.length <= 1 && broadcastOnUser456.every((id) => id === broadcastId)).toBe(true);
    expect(user456.closeCode).toBe(1000);
    await eventually(async () => user789Frames.some(({ type }) => type === 'system'), 30_000);
    expect(user789Frames.filter(({ type }) => type === 'system').map(({ id }) => id)).toEqual([broadcastId]);
  });

  it('finds the wrong answers when the tokens are swapped, so the checks above can fail', async () => {
    // The admin's token where the plain user's belongs: every refusal for lack of permission now answers 200.
    const swapped = await run('testing-websocket.http', { ...tokens, userToken: tokens.adminToken });
    const failing = answerMismatches(swapped, safeRequests).map((problem) => problem.split(':')[0]);
    expect(failing).toEqual(expect.arrayContaining(['connectedUsersForbidden', 'otherStatusForbidden', 'myStatus']));
    // And a name the table lacks, or a row no request has, is reported too.
    const { sendToUser, ...withoutOne } = safeRequests;
    expect(sendToUser).toBeDefined();
    expect(answerMismatches(swapped, withoutOne)).toContain('sendToUser: no expected answer in expected-answers.ts');
    expect(answerMismatches([], { sendToUser })).toEqual(['sendToUser: expected, but no request of that name ran']);
  }, 120_000);
});
