import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contentType, realFileInside } from './contained-files';

describe('contained files', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-contained-'));
  const root = path.join(tmp, 'cache');
  fs.mkdirSync(path.join(root, 'thumbs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'thumbs', 'a.jpg'), 'jpeg');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'thumbs', 'link.jpg'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds a real file inside the folder and nothing else', async () => {
    expect(await realFileInside(root, path.join(root, 'thumbs', 'a.jpg'))).toBe(fs.realpathSync(path.join(root, 'thumbs', 'a.jpg')));
    expect(await realFileInside(root, path.join(root, 'thumbs', 'link.jpg'))).toBeNull(); // symlink out of the folder
    expect(await realFileInside(root, path.join(root, '..', 'secret.txt'))).toBeNull();
    expect(await realFileInside(root, path.join(root, 'thumbs'))).toBeNull(); // a folder
    expect(await realFileInside(root, root)).toBeNull();
    expect(await realFileInside(root, path.join(root, 'missing.jpg'))).toBeNull();
  });

  it('names a content type by extension, with the caller choosing the fallback', () => {
    expect(contentType('x.GIF')).toBe('image/gif');
    expect(contentType('x.bin')).toBe('application/octet-stream');
    expect(contentType('thumb', 'image/jpeg')).toBe('image/jpeg');
  });
});
