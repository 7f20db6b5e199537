// Temp folders for review tests; their run folders come from run/test-run.test-helpers.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'foldwise-interpret-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
