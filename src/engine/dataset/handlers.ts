import type { ServerHandlers } from '../../shared/rpc';

export function datasetHandlers(): Pick<Partial<ServerHandlers>, 'dataset/scan' | 'dataset/browse'> {
  return {};
}
