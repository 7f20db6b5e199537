// The real ForkedEngine: dist/engine/entry.js in an Electron utility process, reached through
// MessageChannelMain ports (one for main's handshake, one per window), as VS Code does.
import { MessageChannelMain, utilityProcess, type MessagePortMain } from 'electron';
import { portFromEmitter } from '../shared/rpc';
import type { ForkedEngine } from '../shared/engine-host';

/** Must match CONNECT_MESSAGE in src/engine/entry.ts (not imported: main must not load the engine's code). */
const CONNECT_MESSAGE = 'foldwise/connect';

export interface EngineProcessOptions {
  /** dist/engine/entry.js */
  entry: string;
  /** Extra environment for the engine, e.g. where bundled backbones are. */
  env?: Record<string, string>;
  /** After kill(), how long the process may take to exit before it is killed by force (default 3 s). */
  forceKillAfterMs?: number;
}

export function forkEngine(options: EngineProcessOptions): ForkedEngine<MessagePortMain> {
  const child = utilityProcess.fork(options.entry, [], {
    serviceName: 'Foldwise engine',
    // No cwd: in an installed app the entry lives inside app.asar, which is not a folder one can chdir into.
    env: { ...process.env, ...options.env },
    stdio: 'inherit',
  });
  let exited = false;
  let spawned = false;
  const beforeSpawn: MessagePortMain[] = [];
  const exitListeners: ((code: number | null) => void)[] = [];
  const send = (port: MessagePortMain) => child.postMessage({ type: CONNECT_MESSAGE }, [port]);
  child.once('spawn', () => {
    spawned = true;
    beforeSpawn.splice(0).forEach(send);
  });
  child.once('exit', (code) => {
    exited = true;
    beforeSpawn.splice(0).forEach((port) => port.close());
    // Never post to the child from here: posting to an exited utility process can crash main.
    exitListeners.forEach((l) => l(code));
  });

  const openChannel = (): MessagePortMain => {
    if (exited) throw new Error('The engine process has exited.');
    const { port1, port2 } = new MessageChannelMain();
    if (spawned) send(port1);
    else beforeSpawn.push(port1); // sent once the process runs
    return port2;
  };

  return {
    control: portFromEmitter(openChannel()),
    openChannel,
    onExit: (listener) => {
      if (exited) listener(null);
      else exitListeners.push(listener);
    },
    kill: () => {
      if (exited) return;
      child.kill();
      // A process stuck in a native call may not act on the polite signal; the restarted engine must
      // not share the machine with it.
      const pid = child.pid;
      const force = setTimeout(() => {
        if (exited || pid === undefined) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it exited in the meantime
        }
      }, options.forceKillAfterMs ?? 3_000);
      force.unref?.();
    },
  };
}
