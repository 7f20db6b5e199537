// A PortLike over a server-side `ws` socket, so serveRpc speaks the same messages over a WebSocket
// as it does over Electron ports. Messages are JSON text frames.
import type WebSocket from 'ws';
import type { PortLike } from '../../shared/rpc';

export function wsServerPort(socket: WebSocket): PortLike {
  return {
    postMessage(message) {
      // A closed socket means the page went away; its jobs are cancelled through onClose.
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    },
    onMessage(listener) {
      const handler = (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data.toString());
        } catch {
          return; // not JSON: not ours
        }
        listener(parsed);
      };
      socket.on('message', handler);
      return () => socket.off('message', handler);
    },
    onClose(listener) {
      socket.on('close', listener);
      return () => socket.off('close', listener);
    },
    close() {
      socket.close();
    },
  };
}
