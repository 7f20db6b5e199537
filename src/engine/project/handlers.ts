import type { ServerHandlers } from '../../shared/rpc';

export function projectHandlers(): Pick<Partial<ServerHandlers>, 'project/open' | 'project/save' | 'project/recent'> {
  return {};
}
