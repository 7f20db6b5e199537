// Transport-agnostic rpc: call, event and cancel over anything that can post a message.
// The same code runs over an in-memory pair (tests), Electron MessagePorts (app) and a WebSocket (serve).
import { z } from 'zod';
import {
  type AppApi,
  type DesktopBridge,
  eventSchemas,
  handlerSchemas,
  type ArgsOf,
  type CallHandle,
  type EngineEvents,
  type EventName,
  type HandlerName,
  type ResultOf,
} from './contract';
import { throttleCallEvents } from './event-throttle';
import type { SerializedError } from './types';

/** The least a transport must offer. `onClose` is how a dead peer is noticed. */
export interface PortLike {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): () => void;
  onClose?(listener: () => void): () => void;
  close?(): void;
}

/** An error with a name the UI can act on, e.g. 'dataset/empty' or 'backend/cuda-missing'. */
export class EngineError extends Error {
  constructor(name: string, message: string, readonly detail?: unknown) {
    super(message);
    this.name = name;
  }
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof EngineError) return { name: error.name, message: error.message, detail: error.detail };
  if (error instanceof z.ZodError) return { name: 'rpc/invalid', message: z.prettifyError(error), detail: error.issues };
  if (error instanceof Error) {
    const name = error.name === 'AbortError' ? 'job/cancelled' : error.name === 'Error' ? 'engine/error' : error.name;
    return { name, message: error.message };
  }
  return { name: 'engine/error', message: String(error) };
}

const Envelope = z.discriminatedUnion('t', [
  z.object({ t: z.literal('call'), id: z.string(), name: z.string(), args: z.unknown() }),
  z.object({ t: z.literal('cancel'), id: z.string() }),
  z.object({ t: z.literal('result'), id: z.string(), value: z.unknown() }),
  z.object({ t: z.literal('error'), id: z.string(), error: z.object({ name: z.string(), message: z.string(), detail: z.unknown().optional() }) }),
  z.object({ t: z.literal('event'), name: z.string(), payload: z.unknown() }),
]);

// ---- server -------------------------------------------------------------------------------------

export interface CallContext {
  /** The caller's id for this call; progress events carry it. */
  job: string;
  /** Aborted when the caller cancels or goes away. */
  signal: AbortSignal;
  /** Rate-limited per call (see event-throttle.ts): report every step; the boundary decides what goes out. */
  emit<E extends EventName>(event: E, payload: EngineEvents[E]): void;
}

export type ServerHandlers = {
  [K in HandlerName]: (args: z.output<(typeof handlerSchemas)[K]['args']>, ctx: CallContext) => Promise<ResultOf<K>>;
};

/** Answers calls arriving on `port` with `handlers`. Returns a function that stops listening. */
export function serveRpc(port: PortLike, handlers: Partial<ServerHandlers>): { emit: CallContext['emit']; stop(): void } {
  const running = new Map<string, AbortController>();
  const emit: CallContext['emit'] = (name, payload) => port.postMessage({ t: 'event', name, payload });

  const handle = async (id: string, name: string, rawArgs: unknown) => {
    const controller = new AbortController();
    running.set(id, controller);
    const events = throttleCallEvents(emit);
    try {
      // Own keys only: `in` would let 'toString' or 'constructor' through to a TypeError.
      if (!Object.hasOwn(handlerSchemas, name)) throw new EngineError('rpc/unknown-call', `The engine has no call named "${name}".`);
      const key = name as HandlerName;
      const handler = (Object.hasOwn(handlers, key) ? handlers[key] : undefined) as ((a: unknown, c: CallContext) => Promise<unknown>) | undefined;
      if (!handler) throw new EngineError('rpc/not-available', `"${name}" is not available in this engine.`);
      const args = handlerSchemas[key].args.parse(rawArgs);
      const value = await handler(args, { job: id, signal: controller.signal, emit: events.emit });
      events.close(); // held progress (the last step) before the answer
      port.postMessage({ t: 'result', id, value });
    } catch (error) {
      events.close();
      const serialized = controller.signal.aborted
        ? { name: 'job/cancelled', message: 'Cancelled.' }
        : serializeError(error);
      try {
        port.postMessage({ t: 'error', id, error: serialized });
      } catch {
        // A detail the port cannot clone must not leave the caller waiting forever.
        port.postMessage({ t: 'error', id, error: { name: serialized.name, message: serialized.message } });
      }
    } finally {
      running.delete(id);
    }
  };

  const off = port.onMessage((raw) => {
    const parsed = Envelope.safeParse(raw);
    if (!parsed.success) return; // not ours: ignore rather than crash the engine
    const message = parsed.data;
    if (message.t === 'call') void handle(message.id, message.name, message.args);
    else if (message.t === 'cancel') running.get(message.id)?.abort();
  });
  const offClose = port.onClose?.(() => running.forEach((c) => c.abort()));
  return {
    emit,
    stop() {
      off();
      offClose?.();
      running.forEach((c) => c.abort());
    },
  };
}

// ---- client -------------------------------------------------------------------------------------

export class RemoteError extends Error {
  constructor(readonly serialized: SerializedError) {
    super(serialized.message);
    this.name = serialized.name;
  }
  get detail(): unknown {
    return this.serialized.detail;
  }
}

export interface EngineClient {
  call<K extends HandlerName>(name: K, args: ArgsOf<K>): CallHandle<ResultOf<K>>;
  on<E extends EventName>(event: E, listener: (payload: EngineEvents[E]) => void): () => void;
  /** Rejects every pending call; used when the engine is known to be gone. */
  close(reason?: string): void;
}

let counter = 0;
const newJobId = () => `${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

export function createClient(port: PortLike): EngineClient {
  const pending = new Map<string, { name: HandlerName; resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let closed: string | null = null;

  const failAll = (reason: string) => {
    if (closed) return;
    closed = reason;
    for (const p of pending.values()) p.reject(new RemoteError({ name: 'engine/died', message: reason }));
    pending.clear();
  };

  port.onMessage((raw) => {
    const parsed = Envelope.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.t === 'event') {
      const schema = Object.hasOwn(eventSchemas, message.name) ? eventSchemas[message.name as EventName] : undefined;
      const payload = schema?.safeParse(message.payload);
      if (!payload?.success) return; // an event we cannot trust is dropped, never half-used
      listeners.get(message.name)?.forEach((l) => l(payload.data));
      return;
    }
    if (message.t !== 'result' && message.t !== 'error') return;
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.t === 'error') return call.reject(new RemoteError(message.error));
    const result = handlerSchemas[call.name].result.safeParse(message.value);
    if (result.success) call.resolve(result.data);
    else call.reject(new RemoteError({ name: 'rpc/invalid-result', message: z.prettifyError(result.error), detail: result.error.issues }));
  });
  port.onClose?.(() => failAll('The engine stopped unexpectedly.'));

  return {
    call(name, args) {
      const id = newJobId();
      const promise = new Promise((resolve, reject) => {
        if (closed) return reject(new RemoteError({ name: 'engine/died', message: closed }));
        pending.set(id, { name, resolve, reject });
        port.postMessage({ t: 'call', id, name, args });
      }) as CallHandle<never>;
      return Object.assign(promise, {
        job: id,
        cancel: () => {
          if (pending.has(id)) port.postMessage({ t: 'cancel', id });
        },
      });
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (p: unknown) => void);
      return () => set.delete(listener as (p: unknown) => void);
    },
    close(reason = 'The engine connection was closed.') {
      failAll(reason);
    },
  };
}

// ---- transports ---------------------------------------------------------------------------------

/** Two connected in-memory ports; closing either end closes both. Messages are cloned like a real port. */
export function createPortPair(): [PortLike & { close(): void }, PortLike & { close(): void }] {
  const make = () => ({ listeners: new Set<(m: unknown) => void>(), closers: new Set<() => void>(), open: true });
  const a = make();
  const b = make();
  const close = () => {
    for (const side of [a, b]) {
      if (!side.open) continue;
      side.open = false;
      side.closers.forEach((c) => c());
    }
  };
  const port = (self: typeof a, other: typeof a) => ({
    postMessage(message: unknown) {
      if (!self.open) return;
      const copy = structuredClone(message);
      queueMicrotask(() => other.open && other.listeners.forEach((l) => l(copy)));
    },
    onMessage(listener: (m: unknown) => void) {
      self.listeners.add(listener);
      return () => self.listeners.delete(listener);
    },
    onClose(listener: () => void) {
      self.closers.add(listener);
      return () => self.closers.delete(listener);
    },
    close,
  });
  return [port(a, b), port(b, a)];
}

// ---- desktop bridge -----------------------------------------------------------------------------

/** Turns the preload's window.foldwise (see DesktopBridge) into an AppApi with real CallHandles and RemoteErrors. */
export function appApiFromBridge(bridge: DesktopBridge): AppApi {
  return {
    shell: 'electron',
    call(name, args) {
      const { job, outcome } = bridge.call(name, args);
      const promise = outcome.then((o) => {
        if (o.ok) return o.value;
        throw new RemoteError(o.error);
      }) as CallHandle<never>;
      return Object.assign(promise, { job, cancel: () => bridge.cancel(job) });
    },
    on: (event, listener) => bridge.on(event, listener),
    imageUrl: (id) => bridge.imageUrl(id),
    pickFolder: () => bridge.pickFolder(),
    showInFolder: (p) => bridge.showInFolder(p),
    pathForFile: (file) => bridge.pathForFile(file),
  };
}

// ---- message-port transports ----------------------------------------------------------------------

/** Electron's MessagePortMain (main and utility processes), described by shape so this file imports nothing. */
export interface EmitterMessagePort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'message' | 'close', listener: (...args: never[]) => void): unknown;
  start(): void;
  close(): void;
}

/** A PortLike over a MessagePortMain. Starts the port, which queues messages until then. */
export function portFromEmitter(port: EmitterMessagePort): PortLike & { close(): void } {
  const wrapped = {
    postMessage: (message: unknown) => port.postMessage(message),
    onMessage(listener: (message: unknown) => void) {
      const handler = (event: { data: unknown }) => listener(event.data);
      port.on('message', handler);
      return () => void port.removeListener('message', handler);
    },
    onClose(listener: () => void) {
      port.on('close', listener);
      return () => void port.removeListener('close', listener);
    },
    close: () => port.close(),
  };
  port.start();
  return wrapped;
}
