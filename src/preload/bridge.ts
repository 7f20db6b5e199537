// The engine half of window.foldwise, kept free of electron so it is unit-tested: calls wait for
// the engine's port, survive an engine restart (pending ones fail with 'engine/died', later ones go
// to the new engine), and event listeners stay subscribed across restarts.
import type { BridgeOutcome, DesktopBridge, EngineEvents, EventName } from '../shared/contract';
import { eventSchemas } from '../shared/contract';
import { createClient, type EngineClient, type PortLike } from '../shared/rpc';
import type { Notice } from '../shared/types';

export interface EngineBridge extends Pick<DesktopBridge, 'call' | 'cancel' | 'on'> {
  /** main sent a port to a (new) engine. */
  attach(port: PortLike & { close?(): void }): void;
  /** main says the engine is gone: fail what is pending with this message and wait for a new port. */
  engineLost(message: string): void;
  /** Shows a notice to the app as an 'engine/notice' event. */
  notice(notice: Notice): void;
  /** main's menu picked a folder: the app hears it as an 'app/open-folder' event. Anything but a non-empty path is dropped. */
  folderPicked(root: unknown): void;
}

/** A port that queues what is posted until the real one arrives. */
function waitingPort() {
  let real: (PortLike & { close?(): void }) | null = null;
  const queue: unknown[] = [];
  const messageListeners = new Set<(m: unknown) => void>();
  const closeListeners = new Set<() => void>();
  const port: PortLike = {
    postMessage: (m) => (real ? real.postMessage(m) : queue.push(m)),
    onMessage: (l) => (messageListeners.add(l), () => messageListeners.delete(l)),
    onClose: (l) => (closeListeners.add(l), () => closeListeners.delete(l)),
  };
  return {
    port,
    connect(to: PortLike & { close?(): void }) {
      real = to;
      to.onMessage((m) => messageListeners.forEach((l) => l(m)));
      to.onClose?.(() => closeListeners.forEach((l) => l()));
      queue.splice(0).forEach((m) => to.postMessage(m));
    },
    close: () => real?.close?.(),
  };
}

export function createEngineBridge(): EngineBridge {
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  const pending = new Map<string, { cancel(): void }>();
  let waiting = waitingPort();
  let client: EngineClient;
  let attached = false;

  const dispatch = <E extends EventName>(event: E, payload: EngineEvents[E]) =>
    listeners.get(event)?.forEach((l) => (l as (p: EngineEvents[E]) => void)(payload));

  const fresh = () => {
    waiting = waitingPort();
    attached = false;
    const c = createClient(waiting.port);
    for (const event of Object.keys(eventSchemas) as EventName[]) c.on(event, (payload) => dispatch(event, payload));
    // The engine's process died under this port: what comes next waits for the restarted one.
    waiting.port.onClose?.(() => c === client && lose('The engine stopped unexpectedly; Foldwise is restarting it. Your saved project is safe.'));
    client = c;
  };

  const lose = (message: string) => {
    const old = client;
    const oldPort = waiting;
    fresh();
    old.close(message);
    oldPort.close();
  };

  fresh();

  return {
    attach(port) {
      if (attached) lose('The engine was restarted.');
      attached = true;
      waiting.connect(port);
    },
    engineLost: lose,
    notice: (notice) => dispatch('engine/notice', notice),
    folderPicked(root) {
      const parsed = eventSchemas['app/open-folder'].safeParse({ root });
      if (parsed.success) dispatch('app/open-folder', parsed.data);
    },
    call(name, args) {
      const handle = client.call(name, args);
      pending.set(handle.job, handle);
      const outcome = handle.then(
        (value) => ({ ok: true, value }) as const,
        (error: Error & { detail?: unknown }) =>
          ({ ok: false, error: { name: error.name, message: error.message, detail: error.detail } }) as const,
      ) as Promise<BridgeOutcome<never>>;
      void outcome.then(() => pending.delete(handle.job));
      return { job: handle.job, outcome };
    },
    cancel(job) {
      pending.get(job)?.cancel();
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (p: never) => void);
      return () => void set.delete(listener as (p: never) => void);
    },
  };
}
