import type { ServerHandlers } from '../../shared/rpc';

export function trainHandlers(): Pick<Partial<ServerHandlers>, 'train/find-lr' | 'train/run' | 'train/pause' | 'train/estimate-fine-tune'> {
  return {};
}
