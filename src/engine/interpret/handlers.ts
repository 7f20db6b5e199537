import type { ServerHandlers } from '../../shared/rpc';

export function reviewHandlers(): Pick<Partial<ServerHandlers>, 'review/evaluate' | 'review/heatmap'> {
  return {};
}
