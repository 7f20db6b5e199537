// The part every long-running command shares: wait for one engine call, show its progress, let
// Ctrl-C cancel it cleanly (the engine then removes what it half-wrote), and print how it ended.
import type { CallHandle } from '../shared/contract';
import type { EngineClient } from '../shared/rpc';
import { printJson, reportFailure, showProgress } from './output';

export interface JobOutput<T, Shown = T> {
  /** --json: no progress bars, and the result as one JSON object on stdout. */
  json: boolean;
  /** Work on the result before it is shown (writing a file, say); what it returns is what is printed. */
  finish?(result: T): Promise<Shown>;
  /** What is shown, as text for people (used without --json). */
  format(shown: Shown): string;
  /** Ctrl-C cancels the call (default). False for calls that ignore cancelling, so Ctrl-C quits at once. */
  cancelOnInterrupt?: boolean;
}

/**
 * Waits for `handle`, drawing its progress on a terminal. The first Ctrl-C cancels the call (a second
 * one quits at once, as Node does by default). Prints the result, or the failure as one sentence with
 * exit code 1. Resolves to the result, or undefined when the call failed or was cancelled.
 */
export async function runJob<T, Shown = T>(client: EngineClient, handle: CallHandle<T>, { json, finish, format, cancelOnInterrupt = true }: JobOutput<T, Shown>): Promise<Shown | undefined> {
  const stop = showProgress(client, handle.job, json);
  const cancel = () => handle.cancel();
  if (cancelOnInterrupt) process.once('SIGINT', cancel);
  try {
    const result = await handle;
    stop();
    const shown = finish ? await finish(result) : (result as unknown as Shown);
    if (json) printJson(shown);
    else process.stdout.write(format(shown));
    return shown;
  } catch (error) {
    stop();
    reportFailure(error, json);
    return undefined;
  } finally {
    process.off('SIGINT', cancel);
  }
}
