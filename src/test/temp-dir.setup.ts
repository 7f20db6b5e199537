// Every test file gets its own temporary folder as os.tmpdir() (TMPDIR), removed when the file's
// tests end, so the many mkdtemp folders the tests make (caches, runs, photo corpora) never pile up
// in /tmp. Child processes and workers the tests start inherit it through the environment.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-test-'));
process.env.TMPDIR = dir;

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
