// In browser mode the engine runs in a child process, as it runs in a utility process in the app:
// its long synchronous number crunching (Grad-CAM, fine-tuning on the CPU) must never stall the
// HTTP server, and a crash of the engine must not take the server down. The child is run by the same
// EngineHost as the desktop app's engine (handshake, watchdog, restart with backoff, crash-loop limit);
// here it gets a `fork` that starts this child and multiplexes connections over its IPC channel.
import { fork } from 'node:child_process';
import { EngineHost, type EngineHostOptions, type ForkedEngine } from '../../shared/engine-host';
import { createPortPair, serveRpc, type PortLike, type ServerHandlers } from '../../shared/rpc';
import { hostedEngine, type EnginePort, type ServeEngine } from './engine-relay';

/** What crosses the IPC channel: one connection's rpc message, or its opening and closing. */
type Envelope = { conn: string; t: 'open' | 'close' } | { conn: string; t: 'msg'; data: unknown };

/** What a user of `foldwise serve` does when the engine gave up: the page asks for a new one. */
const HOW_TO_RETRY = 'reload this page to start it again';

/** A virtual port: listeners, close listeners, and what to do when this side posts. */
function virtualPort(send: (message: unknown) => void, onClosed: () => void) {
  const listeners = new Set<(m: unknown) => void>();
  const closers = new Set<() => void>();
  let open = true;
  const shut = () => {
    if (!open) return;
    open = false;
    closers.forEach((c) => c());
  };
  const port: EnginePort = {
    postMessage: (message) => open && send(message),
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onClose(listener) {
      closers.add(listener);
      return () => closers.delete(listener);
    },
    close() {
      if (!open) return;
      shut();
      onClosed();
    },
  };
  return { port, deliver: (m: unknown) => open && listeners.forEach((l) => l(m)), shut };
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  execArgv?: string[];
  /** After kill(), how long the child may take to exit before it is killed by force (default 3 s). */
  forceKillAfterMs?: number;
}

/** One engine child (`script args`) as EngineHost's ForkedEngine: every channel is a connection over IPC. */
export function forkChild(script: string, args: string[], options: ChildOptions = {}): ForkedEngine<EnginePort> {
  const child = fork(script, args, { env: options.env ?? process.env, execArgv: options.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const connections = new Map<string, ReturnType<typeof virtualPort>>();
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  let exitCode: number | null | undefined; // undefined while it runs
  let next = 0;

  let exitSignal: string | null = null;
  const exited = (code: number | null, signal: string | null = null) => {
    if (exitCode !== undefined) return;
    exitCode = code;
    exitSignal = signal;
    // The host hears first, so each tab is told why (the host's status) before its connection closes.
    exitListeners.splice(0).forEach((l) => l(code, signal));
    for (const connection of connections.values()) connection.shut();
    connections.clear();
  };
  child.on('message', (raw) => {
    const envelope = raw as Envelope;
    if (envelope?.t === 'msg') connections.get(envelope.conn)?.deliver(envelope.data);
  });
  child.once('exit', (code, signal) => exited(code, signal));
  // A child that could not be started has no pid and may never emit 'exit'; other errors (a send to a
  // child that just died) are followed by 'exit'. Without a listener any of them would end the server.
  child.on('error', () => child.pid === undefined && exited(null));

  const send = (envelope: Envelope) => {
    if (exitCode === undefined && child.connected) child.send(envelope);
  };
  const openChannel = (): EnginePort => {
    if (exitCode !== undefined) throw new Error('The engine process has exited.');
    const conn = String(++next);
    const connection = virtualPort(
      (data) => send({ conn, t: 'msg', data }),
      () => {
        connections.delete(conn);
        send({ conn, t: 'close' });
      },
    );
    connections.set(conn, connection);
    send({ conn, t: 'open' });
    return connection.port;
  };

  return {
    control: openChannel(),
    openChannel,
    onExit: (listener) => (exitCode === undefined ? exitListeners.push(listener) : listener(exitCode, exitSignal)),
    kill: () => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      // A child stuck in a native call may not act on SIGTERM; the restarted engine must not share the machine with it.
      const force = setTimeout(() => exitCode === undefined && child.kill('SIGKILL'), options.forceKillAfterMs ?? 3_000);
      force.unref();
    },
  };
}

/**
 * `foldwise serve`'s engine: `script args` as a child process, restarted by EngineHost when it crashes
 * or hangs. `host` overrides the host's timings (tests).
 */
export function forkEngine(
  script: string,
  args: string[],
  options: ChildOptions & { host?: Omit<EngineHostOptions<EnginePort>, 'fork'> } = {},
): ServeEngine {
  return hostedEngine(new EngineHost({ howToRetry: HOW_TO_RETRY, ...options.host, fork: () => forkChild(script, args, options) }));
}

/** The child's side: serves `handlers` on each connection the parent opens; exits when the parent goes. */
export function runEngineChild(handlers: Partial<ServerHandlers>): void {
  if (!process.send) throw new Error('The engine child must be started by `foldwise serve` (it talks over an IPC channel).');
  const connections = new Map<string, { deliver(m: unknown): void; shut(): void; stop(): void }>();
  process.on('message', (raw) => {
    const envelope = raw as Envelope;
    if (envelope.t === 'open' && !connections.has(envelope.conn)) {
      const { conn } = envelope;
      const connection = virtualPort(
        (data) => process.send?.({ conn, t: 'msg', data } satisfies Envelope),
        () => undefined,
      );
      const rpc = serveRpc(connection.port, handlers);
      connections.set(conn, { ...connection, stop: rpc.stop });
    } else if (envelope.t === 'msg') {
      connections.get(envelope.conn)?.deliver(envelope.data);
    } else if (envelope.t === 'close') {
      // The tab went away: its running calls are aborted (serveRpc listens for the close).
      connections.get(envelope.conn)?.shut();
      connections.get(envelope.conn)?.stop();
      connections.delete(envelope.conn);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * An engine in this process, behind the same host and relay as the child (server tests): each channel
 * is a port pair, and kill() ends it the way a crash ends a child (its connections close).
 */
export function inProcessEngine(handlers: Partial<ServerHandlers>): ServeEngine {
  const forkInProcess = (): ForkedEngine<EnginePort> => {
    const engineSides: (PortLike & { close(): void })[] = [];
    const exitListeners: ((code: number | null) => void)[] = [];
    let alive = true;
    const openChannel = (): EnginePort => {
      const [engineSide, clientSide] = createPortPair();
      serveRpc(engineSide, handlers);
      engineSides.push(engineSide);
      return clientSide;
    };
    return {
      control: openChannel(),
      openChannel,
      onExit: (listener) => (alive ? exitListeners.push(listener) : listener(null)),
      kill: () => {
        if (!alive) return;
        alive = false;
        exitListeners.splice(0).forEach((l) => l(null));
        engineSides.forEach((p) => p.close());
      },
    };
  };
  return hostedEngine(new EngineHost({ fork: forkInProcess, howToRetry: HOW_TO_RETRY }));
}
