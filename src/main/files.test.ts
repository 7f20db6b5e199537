import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appFile, cachedImage, contentType } from './files';

let tmp: string;
let ui: string;
let cache: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-files-'));
  ui = path.join(tmp, 'renderer');
  cache = path.join(tmp, 'cache');
  fs.mkdirSync(path.join(ui, 'assets'), { recursive: true });
  fs.mkdirSync(path.join(cache, 'thumbnails'), { recursive: true });
  fs.writeFileSync(path.join(ui, 'index.html'), '<!doctype html>');
  fs.writeFileSync(path.join(ui, 'assets', 'index.js'), '');
  fs.writeFileSync(path.join(cache, 'thumbnails', 'abc.jpg'), 'jpeg');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('foldwise:// files', () => {
  it('serves the built UI and nothing beside it', async () => {
    expect(await appFile(ui, '/')).toBe(fs.realpathSync(path.join(ui, 'index.html')));
    expect(await appFile(ui, '/assets/index.js')).toBe(fs.realpathSync(path.join(ui, 'assets', 'index.js')));
    expect(await appFile(ui, '/../secret.txt')).toBeNull();
    expect(await appFile(ui, '/%2e%2e/secret.txt')).toBeNull();
    expect(await appFile(ui, '/..%2fsecret.txt')).toBeNull();
    expect(await appFile(ui, '/assets')).toBeNull(); // a folder is not a file
    expect(await appFile(ui, '/missing.js')).toBeNull();
    expect(await appFile(ui, '/%E0%A4%A')).toBeNull(); // malformed escape
  });

  it('refuses a symlink inside the UI that points outside it', async () => {
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(ui, 'assets', 'link.js'));
    expect(await appFile(ui, '/assets/link.js')).toBeNull();
  });

  it('serves cached images only from inside the cache', async () => {
    const lookup = (id: string) => path.join(cache, 'thumbnails', `${id}.jpg`);
    expect(await cachedImage(cache, 'abc', lookup)).toBe(fs.realpathSync(path.join(cache, 'thumbnails', 'abc.jpg')));
    expect(await cachedImage(cache, 'nope', lookup)).toBeNull();
    expect(await cachedImage(cache, '../../secret', lookup)).toBeNull(); // not an id
    expect(await cachedImage(cache, 'x', () => path.join(tmp, 'secret.txt'))).toBeNull(); // a lookup that strays
    expect(await cachedImage(cache, 'x', () => null)).toBeNull();
  });

  it('names the content types the UI needs', () => {
    expect(contentType('a/index.html')).toMatch(/^text\/html/);
    expect(contentType('x.JS')).toMatch(/^text\/javascript/);
    expect(contentType('x.wasm')).toBe('application/wasm');
    expect(contentType('x.jpg')).toBe('image/jpeg');
    expect(contentType('x.unknown')).toBe('application/octet-stream');
  });
});
