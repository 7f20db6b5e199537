import type { ServerHandlers } from '../../shared/rpc';

export function backboneHandlers(): Pick<Partial<ServerHandlers>, 'backbone/list' | 'backbone/ensure'> {
  return {};
}
