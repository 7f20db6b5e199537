// A browser tab's connection to the engine of `foldwise serve`. The tab keeps one WebSocket for as long
// as it is open, while behind it EngineHost may restart a crashed or hung engine. This does for a tab
// what the preload does for a desktop window: it fails the tab's pending calls when the engine is lost,
// holds new calls until the restarted engine is ready, and sends the same notices (engineNotices) as
// 'engine/notice' events, which the page already shows. So the page needs no reload and no code of its own.
import { engineNotices, type EngineHost } from '../../shared/engine-host';
import type { PortLike } from '../../shared/rpc';
import type { Notice } from '../../shared/types';

/** A connection into the engine process; closing it ends that connection only. */
export type EnginePort = PortLike & { close(): void };

/** The engine as `startServer` sees it. */
export interface ServeEngine {
  /** Connects a tab's socket to the engine until the returned function is called (the socket closed). */
  attach(page: PortLike): () => void;
  /** Stops the engine; resolves once its process is gone. */
  close(): Promise<void>;
}

/** Starts `host` and relays every attached tab to whichever engine it runs. */
export function hostedEngine(host: EngineHost<EnginePort>): ServeEngine {
  // Started now rather than on the first page load: loading TensorFlow.js takes a few seconds.
  void host.start();
  return { attach: (page) => relayPage(host, page), close: () => host.stop() };
}

// The relay reads just enough of src/shared/rpc.ts's envelopes to know which calls are unanswered.
type CallMessage = { t: 'call'; id: string };
const isCall = (m: unknown): m is CallMessage => (m as CallMessage | null)?.t === 'call' && typeof (m as CallMessage).id === 'string';
function answeredCall(m: unknown): string | null {
  const message = m as { t?: unknown; id?: unknown } | null;
  return (message?.t === 'result' || message?.t === 'error') && typeof message.id === 'string' ? message.id : null;
}

export function relayPage(host: EngineHost<EnginePort>, page: PortLike): () => void {
  let engine: EnginePort | null = null;
  /** Calls this tab made that the current engine has not answered yet. */
  const unanswered = new Set<string>();
  /** What the tab sent while no engine was ready, in order. */
  let waiting: unknown[] = [];

  const fail = (id: string, message: string) => page.postMessage({ t: 'error', id, error: { name: 'engine/died', message } });
  const notice = (payload: Notice) => page.postMessage({ t: 'event', name: 'engine/notice', payload });

  const forward = (message: unknown) => {
    if (isCall(message)) unanswered.add(message.id);
    engine?.postMessage(message);
  };

  const connect = () => {
    if (engine) return;
    const channel = host.openChannel();
    if (!channel) return;
    engine = channel;
    channel.onMessage((message) => {
      const id = answeredCall(message);
      if (id) unanswered.delete(id);
      page.postMessage(message);
    });
    // Normally the host's status says first why the engine went; this covers a connection lost alone.
    channel.onClose?.(() => channel === engine && lose('The engine stopped unexpectedly; Foldwise is restarting it. Your saved project is safe.'));
    waiting.splice(0).forEach(forward);
  };

  const lose = (message: string) => {
    const old = engine;
    engine = null;
    old?.close();
    unanswered.forEach((id) => fail(id, message));
    unanswered.clear();
  };

  const follow = engineNotices({ lost: lose, notice });
  const offStatus = host.onStatus((status) => {
    follow(status);
    if (status.state === 'ready') connect();
    // No engine will come by itself: what waits for one is answered now, not never.
    if (status.state === 'failed') waiting.splice(0).forEach((m) => isCall(m) && fail(m.id, status.message));
  });

  const offPage = page.onMessage((message) => {
    if (host.status.state === 'failed') return isCall(message) && fail(message.id, host.status.message);
    if (engine) forward(message);
    else waiting.push(message);
  });

  // A tab opened (or reloaded) after the engine gave up is the user asking to try again.
  if (host.status.state === 'failed') void host.retry();
  connect();

  return () => {
    offPage();
    offStatus();
    waiting = [];
    const old = engine;
    engine = null;
    old?.close(); // the engine aborts this tab's running calls
  };
}
