import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { launchChromium } from '../helpers/chromium';

/**
 * `websocket-client.html` in Chromium against the local stack, through the adapter's browser build: the page a
 * tester uses, driven as a tester would. The browser comes from npm (`@sparticuz/chromium`, see
 * test/helpers/chromium.ts), so a fresh machine needs nothing but `npm ci`.
 */

const root = resolve(__dirname, '..', '..');
const artifactsDir = resolve(root, 'artifacts');

describe('websocket-client.html in Chromium against the local stack', () => {
  let stack: LocalStack;
  let browser: Browser;
  let tokens: Record<'user123' | 'user456' | 'admin', string>;

  beforeAll(async () => {
    // No build first: the stack bundles the adapter it serves at /client/index.js in memory.
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
    tokens = {
      user123: await signDevToken(stack.jwtSecret, 'user123'),
      user456: await signDevToken(stack.jwtSecret, 'user456'),
      admin: await signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast' }),
    };
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** Uncaught exceptions in any page opened by openPage; each test ends by requiring none. */
  const pageErrors: string[] = [];
  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  async function openPage(query = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${stack.httpUrl}/${query}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    return page;
  }

  async function connectAs(page: Page, token: string): Promise<void> {
    await page.fill('#token', token);
    await page.click('#connect');
  }

  const frames = (page: Page, type: string, text: string) =>
    page.locator(`#log li.in[data-type="${type}"]`, { hasText: text });

  it('connects two users, delivers to one user only, broadcasts to both, pings, and refuses a bad token', async () => {
    const user123Page = await openPage();
    const user456Page = await openPage();
    // The page fills the URLs in when the local stack serves it.
    expect(await user123Page.inputValue('#httpUrl')).toBe(stack.httpUrl);
    expect(await user123Page.inputValue('#wsUrl')).toBe(stack.wsUrl);

    await connectAs(user123Page, tokens.user123);
    await connectAs(user456Page, tokens.user456);
    await user123Page.waitForSelector('#status[data-state="connected"]:has-text("user123")', { timeout: 10_000 });
    await user456Page.waitForSelector('#status[data-state="connected"]:has-text("user456")', { timeout: 10_000 });

    // Ping shows pong.
    await user123Page.click('#ping');
    await frames(user123Page, 'pong', 'serverTime').waitFor({ timeout: 10_000 });

    // An HTTP message to user123 appears on user123's page.
    await user123Page.fill('#targetUser', 'user123');
    await user123Page.fill('#messageType', 'chat');
    await user123Page.fill('#messageData', '{"message": "for user123 only"}');
    await user123Page.click('#sendUser');
    await frames(user123Page, 'chat', 'for user123 only').waitFor({ timeout: 10_000 });
    // The pushed message can arrive before the page has read the HTTP answer (the post precedes the response): wait.
    await user123Page.waitForSelector('#httpResult[data-status]', { timeout: 10_000 });
    expect(await user123Page.getAttribute('#httpResult', 'data-status')).toBe('200');

    // A broadcast (admin token for the HTTP call) appears on both pages.
    await user456Page.fill('#httpToken', tokens.admin);
    await user456Page.fill('#messageType', 'system');
    await user456Page.fill('#messageData', '{"message": "to everyone", "level": "info"}');
    await user456Page.click('#broadcast');
    await frames(user123Page, 'system', 'to everyone').waitFor({ timeout: 10_000 });
    await frames(user456Page, 'system', 'to everyone').waitFor({ timeout: 10_000 });
    // The direct message was answered before the broadcast was sent, so had it reached user456 it would be here.
    expect(await frames(user456Page, 'chat', 'for user123 only').count()).toBe(0);
    expect(await frames(user123Page, 'chat', 'for user123 only').count()).toBe(1);

    // A notification from user456 reaches user123 as a `notification` frame.
    await user456Page.fill('#httpToken', '');
    await user456Page.fill('#targetUser', 'user123');
    await user456Page.click('#notify');
    await frames(user123Page, 'notification', 'New comment').waitFor({ timeout: 10_000 });

    mkdirSync(artifactsDir, { recursive: true });
    await user123Page.screenshot({ path: resolve(artifactsDir, 'websocket-client-user123.png'), fullPage: true });
    await user456Page.screenshot({ path: resolve(artifactsDir, 'websocket-client-user456.png'), fullPage: true });

    // A bad token: the handshake is refused; the page says so and stops retrying.
    const refusedPage = await openPage();
    await connectAs(refusedPage, `${tokens.user123.slice(0, -4)}AAAA`);
    await refusedPage.waitForSelector('#status[data-state="refused"]', { timeout: 15_000 });
    expect(await refusedPage.textContent('#status')).toContain('unauthorized_or_refused');
    await refusedPage.screenshot({ path: resolve(artifactsDir, 'websocket-client-refused.png'), fullPage: true });
    expect(existsSync(resolve(artifactsDir, 'websocket-client-user123.png'))).toBe(true);
  }, 90_000);

  it('fills in the URLs and the token npm start prints, ?user= picks another user, and connects as them', async () => {
    const demoTokens = await stack.demoTokens();

    const asDefault = await openPage();
    const asUser456 = await openPage('?user=user456');
    const asNobody = await openPage('?user=nobody');

    expect(await asDefault.inputValue('#wsUrl')).toBe(stack.wsUrl);
    expect(await asDefault.inputValue('#httpUrl')).toBe(stack.httpUrl);
    expect(await asDefault.inputValue('#token')).toBe(demoTokens.user123);
    expect(await asUser456.inputValue('#token')).toBe(demoTokens.user456);
    expect(await asNobody.inputValue('#token')).toBe('');
    await asNobody.locator('#log li.error', { hasText: 'No local token for ?user=nobody' }).waitFor({ timeout: 5_000 });
    // Nothing typed in: Connect uses what the page filled in.
    await asDefault.click('#connect');
    await asUser456.click('#connect');
    await asDefault.waitForSelector('#status[data-state="connected"]:has-text("user123")', { timeout: 10_000 });
    await asUser456.waitForSelector('#status[data-state="connected"]:has-text("user456")', { timeout: 10_000 });
    await asUser456.click('#ping');
    await frames(asUser456, 'pong', 'serverTime').waitFor({ timeout: 10_000 });
    await Promise.all([asDefault.close(), asUser456.close(), asNobody.close()]);
  }, 60_000);

  it('opened as a file, loads the classic-script build and leaves the URLs to fill in', async () => {
    // The page and a build beside it in a folder of their own, so this never races another test over dist/.
    const folder = mkdtempSync(join(tmpdir(), 'websocket-client-file-'));
    copyFileSync(resolve(root, 'websocket-client.html'), join(folder, 'websocket-client.html'));
    execFileSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-client.ts', '--out-dir', join(folder, 'dist', 'client')],
      { cwd: root, stdio: 'pipe' },
    );
    const page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`file://${join(folder, 'websocket-client.html')}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });

    expect(
      await page.evaluate(() => typeof (window as { RealtimeGateway?: { io?: unknown } }).RealtimeGateway?.io),
    ).toBe('function');
    expect(await page.inputValue('#wsUrl')).toBe('');
    expect(await page.inputValue('#httpUrl')).toBe('');
    await page.click('#connect');
    await page.locator('#log li.error', { hasText: 'Fill in the WebSocket URL first' }).waitFor({ timeout: 5_000 });
  }, 60_000);
});
