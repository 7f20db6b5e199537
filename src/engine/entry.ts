// Engine process entry. In the desktop app this file runs in an Electron utility process: main
// sends it MessagePorts over process.parentPort (one for its own handshake, one per window) and
// every port gets the same engine service. Nothing here imports electron: parentPort is a global
// of utility processes, described below by the little of it that is used.
import { portFromEmitter, serveRpc, type EmitterMessagePort, type ServerHandlers } from '../shared/rpc';
import { createService } from './service';

/** What main posts along with a port: anything else on parentPort is ignored. */
export const CONNECT_MESSAGE = 'foldwise/connect';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown; ports: EmitterMessagePort[] }) => void): unknown;
}

/** Serves `handlers` on every port main connects; returns how many are being served (for tests). */
export function attachEngine(parent: ParentPort, handlers: Partial<ServerHandlers>): { connections(): number } {
  let open = 0;
  parent.on('message', (event) => {
    const data = event.data as { type?: unknown } | null;
    if (data?.type !== CONNECT_MESSAGE) return;
    for (const raw of event.ports) {
      const port = portFromEmitter(raw);
      open++;
      const server = serveRpc(port, handlers);
      // A closed window's port: stop its calls (serveRpc aborts them) and let it go.
      port.onClose?.(() => {
        open--;
        server.stop();
      });
    }
  });
  return { connections: () => open };
}

const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;

if (parentPort) {
  // A crash must end the process so main notices (utility 'exit') and restarts a clean engine.
  process.on('uncaughtException', (error) => {
    console.error('[foldwise engine] uncaught exception, exiting:', error);
    process.exit(70);
  });
  process.on('unhandledRejection', (reason) => console.error('[foldwise engine] unhandled rejection:', reason));
  attachEngine(parentPort, createService());
} else if (/[\\/]engine[\\/]entry\.[cm]?js$/.test(process.argv[1] ?? '')) {
  // Started by hand with node: there is no app to talk to.
  console.error('dist/engine/entry.js is the desktop app\'s engine process; it needs Electron. Use the `foldwise` command instead.');
  process.exitCode = 2;
}
