// Engine errors arrive with a name and a sentence; people see the sentence.
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return 'Something went wrong.';
}

/** True when a call ended because the user cancelled it (not a failure to report). */
export function isCancelled(error: unknown): boolean {
  return error instanceof Error && error.name === 'job/cancelled';
}
