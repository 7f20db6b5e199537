// How commands talk to people: progress bars on a TTY (stderr), one JSON object with --json (stdout).
import { SingleBar, Presets } from 'cli-progress';
import type { EngineClient } from '../shared/rpc';
import type { Progress } from '../shared/types';
import { RemoteError } from '../shared/rpc';
import { plainFsError } from '../engine/fs-errors';

/** Shows a progress bar per stage while `job` runs; silent when stderr is not a terminal or --json is set. */
export function showProgress(client: EngineClient, job: string, quiet: boolean): () => void {
  if (quiet || !process.stderr.isTTY) return () => undefined;
  let bar: SingleBar | null = null;
  let stage: Progress['stage'] | null = null;
  const off = client.on('job/progress', (p) => {
    if (p.job !== job) return;
    if (p.stage !== stage) {
      bar?.stop();
      stage = p.stage;
      bar = new SingleBar(
        { format: `${p.stage.padEnd(9)} {bar} {value}/{total} | ETA {eta_formatted} {message}`, stream: process.stderr, hideCursor: true },
        Presets.shades_classic,
      );
      bar.start(p.total, p.done, { message: p.message ?? '' });
    }
    bar?.setTotal(p.total);
    bar?.update(p.done, { message: p.message ?? '' });
  });
  return () => {
    off();
    bar?.stop();
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints an engine error as a sentence (never a stack trace) and sets a failing exit code. */
export function reportFailure(failure: unknown, json: boolean): void {
  const error = plainFsError(failure); // what the command itself wrote (heatmap --out), in the engine's words
  const name = error instanceof RemoteError || error instanceof Error ? error.name : 'error';
  const message = error instanceof Error ? error.message : String(error);
  if (json) printJson({ error: { name, message } });
  else process.stderr.write(`foldwise: ${message}\n`);
  process.exitCode = 1;
}
