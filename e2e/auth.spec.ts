// `foldwise serve` refuses anyone without the printed link's token: pages, images and the socket.
import WebSocket from 'ws';
import { expect, startServe, test } from './fixtures';

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => {
      socket.close();
      resolve(101);
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('error', reject);
  });
}

test('without the token, pages, images and the engine socket are refused', async ({ served, request }) => {
  const base = `http://127.0.0.1:${served!.port}`;
  for (const route of ['/', '/index.html', '/image/abc', `/?token=${'x'.repeat(served!.token.length)}`]) {
    const res = await request.get(base + route, { headers: { cookie: '' } });
    expect([401, 403], `GET ${route}`).toContain(res.status());
    expect(await res.text()).not.toContain('<div id="root">');
  }
  expect([401, 403]).toContain(await upgradeStatus(`ws://127.0.0.1:${served!.port}/rpc`, { origin: base }));
  expect([401, 403]).toContain(await upgradeStatus(`ws://127.0.0.1:${served!.port}/rpc?token=wrong`, { origin: base }));
});

test('with the printed link the app loads, and its cookie opens the engine socket', async ({ app, served }) => {
  await expect(app.getByRole('heading', { level: 1 })).toHaveText('Folders');
  const cookies = await app.context().cookies();
  const cookie = cookies.find((c) => c.name === `foldwise_token_${served!.port}`);
  expect(cookie?.httpOnly).toBe(true);
  expect(await upgradeStatus(`ws://127.0.0.1:${served!.port}/rpc`, { origin: `http://127.0.0.1:${served!.port}`, cookie: `${cookie!.name}=${cookie!.value}` })).toBe(101);
});

test('when foldwise serve stops, the page says the connection was lost', async ({ page, sandbox }) => {
  const { child, served } = await startServe(sandbox.env);
  try {
    await page.goto(served.url);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Folders');
    await expect(page.getByTestId('backend-badge').first()).toHaveText(/GPU|CPU|WASM/); // the socket works
    child.kill('SIGTERM');
    await expect(page.getByRole('alert').filter({ hasText: 'connection to Foldwise' })).toBeVisible();
  } finally {
    child.kill('SIGKILL');
  }
});
