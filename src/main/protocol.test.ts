// The foldwise:// handler as Electron would call it, with a stand-in session.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => ({ protocol: { registerSchemesAsPrivileged: () => undefined } }));
const { handleScheme } = await import('./protocol');
const { wrapPayload } = await import('../engine/cache-file');
const { THUMBNAIL_FORMAT } = await import('../engine/dataset/thumbnails');

type Handler = (request: { url: string; method: string }) => Promise<Response>;
let handler: Handler;
let tmp: string;
const id = 'ab12cd34';
const damagedId = 'ab99ef00';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-protocol-'));
  const ui = path.join(tmp, 'renderer');
  fs.mkdirSync(path.join(ui, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Foldwise</title>');
  fs.writeFileSync(path.join(ui, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
  // where the scan puts a thumbnail (src/engine/dataset thumbnailFile)
  const cache = path.join(tmp, 'cache');
  fs.mkdirSync(path.join(cache, 'thumbnails', id.slice(0, 2)), { recursive: true });
  fs.writeFileSync(path.join(cache, 'thumbnails', id.slice(0, 2), `${id}.jpg`), wrapPayload(THUMBNAIL_FORMAT, id, Buffer.from('jpeg bytes')));
  // a thumbnail whose bytes changed after it was written: its checksum no longer matches
  const damaged = wrapPayload(THUMBNAIL_FORMAT, damagedId, Buffer.from('jpeg bytes'));
  damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 1, damaged.length - 1);
  fs.writeFileSync(path.join(cache, 'thumbnails', damagedId.slice(0, 2), `${damagedId}.jpg`), damaged);
  vi.stubEnv('FOLDWISE_CACHE', cache);
  handleScheme({ protocol: { handle: (_scheme: string, h: Handler) => (handler = h) } } as never, ui);
});
afterAll(() => {
  vi.unstubAllEnvs();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const get = (url: string, method = 'GET') => handler({ url, method });

describe('foldwise:// protocol', () => {
  it('serves the UI with the CSP header', async () => {
    const page = await get('foldwise://app/index.html');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<title>Foldwise</title>');
    const script = await get('foldwise://app/assets/app.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('serves cached thumbnails by id', async () => {
    const image = await get(`foldwise://image/${id}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(await image.text()).toBe('jpeg bytes');
  });

  it('never serves a thumbnail that fails its checksum', async () => {
    expect((await get(`foldwise://image/${damagedId}`)).status).toBe(404);
  });

  it('refuses everything else', async () => {
    expect((await get('foldwise://app/../secret.txt')).status).toBe(404);
    expect((await get('foldwise://app/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get('foldwise://image/..%2f..%2fsecret.txt')).status).toBe(404);
    expect((await get('foldwise://image/unknown')).status).toBe(404);
    expect((await get('foldwise://files/etc/passwd')).status).toBe(404);
    expect((await get('foldwise://app/index.html', 'POST')).status).toBe(405);
  });
});
