import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from '../../shared/rpc';
import { inProcessEngine } from './engine-process';
import { startServer, type ServeHandle } from './server';
import { wsServerPort } from './ws-port';

let tmp: string;
let server: ServeHandle;
const info = { name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: ['no GPU here'], threads: 2 } as const;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-serve-'));
  const web = path.join(tmp, 'web');
  const cache = path.join(tmp, 'cache');
  fs.mkdirSync(path.join(web, 'assets'), { recursive: true });
  fs.mkdirSync(path.join(cache, 'thumbs'), { recursive: true });
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>Foldwise</title>');
  fs.writeFileSync(path.join(web, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside the cache');
  fs.writeFileSync(path.join(cache, 'thumbs', 'abc.jpg'), 'jpeg bytes');
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(cache, 'thumbs', 'escape.jpg'));
  server = await startServer({
    port: 0,
    staticDir: web,
    cacheRoot: cache,
    uploadDir: path.join(cache, 'try-it'),
    imageFile: (id) => path.join(cache, 'thumbs', `${id}.jpg`),
    engine: inProcessEngine({ 'engine/info': async () => ({ ...info, reasons: [...info.reasons] }) }),
  });
});

afterAll(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${server.port}`;

function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status?: number; socket?: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => resolve({ socket }));
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    socket.on('error', () => resolve({}));
  });
}

describe('foldwise serve', () => {
  it('prints a 127.0.0.1 link with a long random token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
  });

  it('refuses pages, assets and images without the token', async () => {
    for (const route of ['/', '/assets/app.js', '/image/abc', '/?token=wrong']) {
      const res = await fetch(base() + route);
      expect(res.status, route).toBe(401);
    }
  });

  it('serves the page with the token, sets a cookie, and then accepts the cookie alone', async () => {
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Foldwise</title>');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toContain(`foldwise_token_${server.port}=`);
    const asset = await fetch(`${base()}/assets/app.js`, { headers: { cookie } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const http = await import('node:http');
    const status = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port: server.port, path: `/?token=${server.token}`, headers: { host: 'evil.example' } }, (res) => resolve(res.statusCode!));
    });
    expect(status).toBe(403);
  });

  it('serves images only from inside the cache', async () => {
    const q = `?token=${server.token}`;
    expect((await fetch(`${base()}/image/abc${q}`)).status).toBe(200);
    expect(await (await fetch(`${base()}/image/abc${q}`)).text()).toBe('jpeg bytes');
    expect((await fetch(`${base()}/image/escape${q}`)).status).toBe(404); // symlink pointing outside
    expect((await fetch(`${base()}/image/..%2Fsecret${q}`)).status).toBe(400);
    expect((await fetch(`${base()}/..%2Fsecret.txt${q}`)).status).toBe(404);
  });

  it('refuses the WebSocket without the token or from another origin', async () => {
    const ws = `ws://127.0.0.1:${server.port}/rpc`;
    expect((await upgrade(ws)).status).toBe(401);
    expect((await upgrade(`${ws}?token=nope`)).status).toBe(401);
    expect((await upgrade(`${ws}?token=${server.token}`, { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers rpc calls over the WebSocket with the token', async () => {
    const { socket } = await upgrade(`ws://127.0.0.1:${server.port}/rpc?token=${server.token}`, { origin: base() });
    expect(socket).toBeDefined();
    const client = createClient(wsServerPort(socket!));
    await expect(client.call('engine/info', {})).resolves.toMatchObject({ badge: 'WASM', reasons: ['no GPU here'] });
    await expect(client.call('dataset/scan', { root: '/x' })).rejects.toMatchObject({ name: 'rpc/not-available' });
    socket!.close();
  });

  it('keeps dropped images for "Try it" inside the cache and refuses other files', async () => {
    const q = `token=${server.token}`;
    const ok = await fetch(`${base()}/upload?name=photo.jpg&${q}`, { method: 'POST', body: 'fake jpeg' });
    expect(ok.status).toBe(200);
    const { path: saved } = (await ok.json()) as { path: string };
    expect(saved.startsWith(path.join(tmp, 'cache', 'try-it'))).toBe(true);
    expect(fs.readFileSync(saved, 'utf8')).toBe('fake jpeg');
    const bad = await fetch(`${base()}/upload?name=evil.sh&${q}`, { method: 'POST', body: 'rm -rf' });
    expect(bad.status).toBe(415);
  });
});
