// In browser mode the engine runs in a child process, as it runs in a utility process in the app:
// its long synchronous number crunching (Grad-CAM, fine-tuning on the CPU) must never stall the
// HTTP server, and a crash of the engine must not take the server down. Every WebSocket gets its
// own connection, multiplexed over the child's IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { createPortPair, serveRpc, type PortLike, type ServerHandlers } from '../../shared/rpc';

/** What crosses the IPC channel: one connection's rpc message, or its opening and closing. */
type Envelope = { conn: string; t: 'open' | 'close' } | { conn: string; t: 'msg'; data: unknown };

export type EnginePort = PortLike & { close(): void };

export interface EngineHost {
  /** A new connection to the engine, for one browser tab. */
  connect(): EnginePort;
  close(): Promise<void>;
}

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

/**
 * Forks `script args` as the engine and hands out connections to it. A crashed engine closes its
 * connections (the page says so) and the next connection starts a fresh one.
 */
export function forkEngine(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}): EngineHost {
  let child: ChildProcess | null = null;
  let closing = false;
  let next = 0;
  const connections = new Map<string, ReturnType<typeof virtualPort>>();

  const start = (): ChildProcess => {
    const started = fork(script, args, { env: options.env ?? process.env, execArgv: options.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    started.on('message', (raw) => {
      const envelope = raw as Envelope;
      if (envelope?.t === 'msg') connections.get(envelope.conn)?.deliver(envelope.data);
    });
    started.on('exit', (code, signal) => {
      if (child === started) child = null;
      for (const connection of connections.values()) connection.shut();
      connections.clear();
      if (!closing) process.stderr.write(`foldwise: the engine stopped (${signal ?? `exit code ${code}`}); reload the page to start it again.\n`);
    });
    return started;
  };

  const send = (envelope: Envelope) => {
    if (child?.connected) child.send(envelope);
  };
  // Started now rather than on the first page load: loading TensorFlow.js takes a few seconds.
  child = start();

  return {
    connect() {
      if (closing) throw new Error('The engine is shutting down.');
      child ??= start();
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
    },
    async close() {
      closing = true;
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
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

/** An in-process engine (tests, and where forking is impossible): each connection is a port pair. */
export function inProcessEngine(handlers: Partial<ServerHandlers>): EngineHost {
  return {
    connect() {
      const [engineSide, clientSide] = createPortPair();
      serveRpc(engineSide, handlers);
      return clientSide;
    },
    close: async () => undefined,
  };
}
