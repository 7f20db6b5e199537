// The CLI talks to the same engine service as the app, over an in-memory port pair,
// so what a command prints is exactly what the app would receive.
import { createClient, createPortPair, serveRpc, type EngineClient } from '../shared/rpc';
import { createService } from '../engine/service';

export function startLocalEngine(): EngineClient {
  const [enginePort, clientPort] = createPortPair();
  serveRpc(enginePort, createService());
  return createClient(clientPort);
}
