// A PortLike over the web MessagePort the preload receives from main.
import type { PortLike } from '../shared/rpc';

export function portFromDom(port: MessagePort): PortLike & { close(): void } {
  const wrapped = {
    postMessage: (message: unknown) => port.postMessage(message),
    onMessage(listener: (message: unknown) => void) {
      const handler = (event: MessageEvent) => listener(event.data);
      port.addEventListener('message', handler);
      return () => port.removeEventListener('message', handler);
    },
    // Chromium fires 'close' on a port whose other end's process went away.
    onClose(listener: () => void) {
      port.addEventListener('close', listener);
      return () => port.removeEventListener('close', listener);
    },
    close: () => port.close(),
  };
  port.start();
  return wrapped;
}
