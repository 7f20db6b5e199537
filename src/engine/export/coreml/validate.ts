// Apple's own Core ML validator (coremltools' C++ Model::load + validate, built for Linux), run on a
// written .mlmodel. It checks structure (layers, shapes, weight counts); it does not run the model:
// nothing on Linux computes Core ML predictions.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sharedDir } from '../../paths';

export interface ValidatorAnswer {
  valid: boolean;
  /** Apple's message, e.g. "VALID" or "INVALID : validator error: ...". */
  message: string;
}

/** The validator binary, where this machine has it (../shared/tools/validate_mlmodel). */
export function coremlValidator(): string | null {
  const file = path.join(sharedDir(), 'tools', 'validate_mlmodel');
  return fs.existsSync(file) ? file : null;
}

/** Runs Apple's validator on `file`. Throws when the validator itself cannot run (then it says why). */
export async function runCoremlValidator(validator: string, file: string): Promise<ValidatorAnswer> {
  try {
    const { stdout } = await promisify(execFile)(validator, [file], { timeout: 60_000 });
    return { valid: / VALID\b/.test(stdout) && !/INVALID/.test(stdout), message: answerOf(stdout, file) };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    // It exits with the number of invalid files: 1 means it ran and refused the model.
    if (e.code === 1 && e.stdout && /INVALID/.test(e.stdout)) return { valid: false, message: answerOf(e.stdout, file) };
    const why = (e.stderr || e.message).trim();
    const hint = /libprotobuf/.test(why) ? ' Install Debian\'s libprotobuf32 (apt-get install libprotobuf32).' : '';
    throw new Error(`Apple's Core ML validator (${validator}) could not run: ${why}.${hint}`);
  }
}

/** "VALID : ..." or "INVALID : ..." without the file name in front. */
function answerOf(stdout: string, file: string): string {
  const line = stdout.split('\n').find((l) => l.includes('VALID')) ?? stdout;
  return line.startsWith(`${file}: `) ? line.slice(file.length + 2).trim() : line.trim();
}
