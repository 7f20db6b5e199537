// The ONLY file that reaches the engine: window.foldwise in Electron, a WebSocket in browser mode.
// Everything else in the renderer receives an AppApi and never knows which one it got.
import type { AppApi, DesktopBridge } from '../shared/contract';
import { appApiFromBridge, createClient, type PortLike } from '../shared/rpc';

/** A PortLike over the browser's WebSocket: JSON text frames, queued until the socket opens. */
function browserSocketPort(url: string): PortLike {
  const socket = new WebSocket(url);
  const queue: string[] = [];
  socket.addEventListener('open', () => queue.splice(0).forEach((m) => socket.send(m)));
  return {
    postMessage(message) {
      const text = JSON.stringify(message);
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
      else if (socket.readyState === WebSocket.CONNECTING) queue.push(text);
    },
    onMessage(listener) {
      const handler = (event: MessageEvent) => {
        if (typeof event.data !== 'string') return;
        try {
          listener(JSON.parse(event.data));
        } catch {
          // not JSON: not ours
        }
      };
      socket.addEventListener('message', handler);
      return () => socket.removeEventListener('message', handler);
    },
    onClose(listener) {
      socket.addEventListener('close', listener);
      return () => socket.removeEventListener('close', listener);
    },
    close: () => socket.close(),
  };
}

const lostListeners = new Set<() => void>();

/** Browser mode: the page was served by `foldwise serve`; its cookie carries the token to the socket. */
function browserApi(): AppApi {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const port = browserSocketPort(`${scheme}//${location.host}/rpc`);
  port.onClose?.(() => lostListeners.forEach((l) => l()));
  const client = createClient(port);
  return {
    shell: 'browser',
    call: (name, args) => client.call(name, args),
    on: (event, listener) => client.on(event, listener),
    imageUrl: (id) => `/image/${encodeURIComponent(id)}`,
    pickFolder: async () => null, // the page shows a path field and a server-side folder browser instead
    showInFolder: async () => false, // a web page cannot open the file manager
    pathForFile: () => null, // browsers hide where a dropped file lives
  };
}

function desktopBridge(): DesktopBridge | undefined {
  return (window as unknown as { foldwise?: DesktopBridge }).foldwise;
}

let api: AppApi | null = null;

/** The app's one connection to the engine. */
export function getApi(): AppApi {
  if (!api) {
    const bridge = desktopBridge();
    api = bridge ? appApiFromBridge(bridge) : browserApi();
  }
  return api;
}

/**
 * Called when the browser-mode connection drops, which means `foldwise serve` itself stopped: an engine
 * crash keeps the socket open (serve restarts the engine and says so with engine/notice, as Electron does).
 */
export function onConnectionLost(listener: () => void): () => void {
  lostListeners.add(listener);
  return () => lostListeners.delete(listener);
}

/**
 * A path the engine can read for a photo the user dropped or picked: its own path in Electron,
 * otherwise a copy uploaded into the cache by `foldwise serve`.
 */
export async function engineReadablePath(file: File): Promise<string> {
  const direct = getApi().pathForFile(file);
  if (direct) return direct;
  if (getApi().shell === 'electron') throw new Error(`Foldwise could not read "${file.name}".`);
  const res = await fetch(`/upload?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
  const body = (await res.json().catch(() => ({}))) as { path?: string; error?: string };
  if (!res.ok || !body.path) throw new Error(body.error ?? `Foldwise could not receive "${file.name}" (${res.status}).`);
  return body.path;
}
