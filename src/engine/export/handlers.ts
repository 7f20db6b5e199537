import type { ServerHandlers } from '../../shared/rpc';

export function exportHandlers(): Pick<Partial<ServerHandlers>, 'model/export' | 'model/predict'> {
  return {};
}
