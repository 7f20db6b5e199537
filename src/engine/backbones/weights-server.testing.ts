// Test helper: a real HTTP server on 127.0.0.1 (port 0) serving ../shared/weights, with Range support
// and the failures real networks have. Used by the downloader and handler tests only.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sharedDir } from '../paths';

export interface Served {
  url: string;
  requests: { path: string; range: string | undefined; bytes: number }[];
  close(): Promise<void>;
}

export interface Misbehave {
  /** Cut the connection after this many bytes of this file, on its first request only. */
  cut?: { file: string; after: number };
  /** Flip one byte of this file. */
  corrupt?: string;
  /** Send headers and a first chunk of this file, then nothing. */
  stall?: string;
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Send this file, then keep sending zeros until the client hangs up. */
  endless?: string;
}

export async function serveWeights(misbehave: Misbehave = {}): Promise<Served> {
  const root = path.join(sharedDir(), 'weights');
  const requests: Served['requests'] = [];
  let cutDone = false;
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    const file = path.join(root, rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    let body = fs.readFileSync(file);
    const name = path.basename(file);
    if (misbehave.corrupt === name) {
      body = Buffer.from(body);
      body[1000] = body[1000]! ^ 0xff;
    }
    const range = req.headers.range;
    const start = range && !misbehave.ignoreRange ? Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0) : 0;
    const slice = body.subarray(start);
    const log = { path: rel, range, bytes: 0 };
    requests.push(log);
    if (misbehave.endless === name) {
      res.writeHead(200); // no content-length: a stream that never ends
      res.write(slice);
      const zeros = Buffer.alloc(64 * 1024);
      const more = () => {
        if (res.destroyed || res.socket?.destroyed) return;
        log.bytes += zeros.length;
        if (res.write(zeros)) setImmediate(more);
        else res.once('drain', more);
      };
      more();
      return;
    }
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': slice.length,
      ...(start > 0 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (misbehave.stall === name) {
      res.write(slice.subarray(0, 1000));
      log.bytes = 1000;
      return; // never ends
    }
    if (misbehave.cut?.file === name && !cutDone) {
      cutDone = true;
      res.write(slice.subarray(0, misbehave.cut.after), () => {
        log.bytes = misbehave.cut!.after;
        setTimeout(() => res.socket?.destroy(), 50);
      });
      return;
    }
    log.bytes = slice.length;
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
