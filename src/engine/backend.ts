// Placeholder until the backend helper lands: see issue 2 "Backend choice".
import type { BackendInfo } from '../shared/types';

export async function describeBackend(): Promise<BackendInfo> {
  throw new Error('backend selection is not built yet');
}
