// `foldwise serve`: the renderer and the engine over HTTP + WebSocket, on 127.0.0.1 only.
// Every request must carry the random token (in the query once, then in a cookie); the Host and
// Origin headers are checked too, so another website in the same browser cannot reach the engine.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { plainFsError } from '../fs-errors';
import { writeFileAtomic } from '../paths';
import { contentType, IMAGE_ID, isInside, realFileInside } from './contained-files';
import type { ServeEngine } from './engine-relay';
import { wsServerPort } from './ws-port';

export interface ServeOptions {
  /** 0 picks any free port. */
  port: number;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  /** The engine each WebSocket is relayed to (a child process, restarted when it crashes, in `foldwise serve`). */
  engine: ServeEngine;
  /** Only files inside this folder are ever served as images. */
  cacheRoot: string;
  /** Absolute path of the cached image (thumbnail) for a content id, or null when there is none. */
  imageFile(id: string): string | null;
  /** The bytes to send for that file (the thumbnail's JPEG, checked), or null when it fails its check; default: the file as it is. */
  readImage?(file: string, id: string): Promise<Buffer | null>;
  /** Where dropped images for "Try it" are written (inside cacheRoot). */
  uploadDir: string;
  /** Defaults to 32 random bytes. */
  token?: string;
}

export interface ServeHandle {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_UPLOAD = 25 * 1024 * 1024;
const UPLOAD_TYPES = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif', '.heic', '.heif']);

/** The same policy as the meta tag in index.html, also sent as a header. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: foldwise: blob:; connect-src 'self' ws://127.0.0.1:*; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

export async function startServer(options: ServeOptions): Promise<ServeHandle> {
  const token = options.token ?? crypto.randomBytes(32).toString('base64url');
  const server = http.createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  let port = options.port;
  // Cookies ignore ports, so two servers on one machine must not share a cookie name.
  const cookieName = () => `foldwise_token_${port}`;

  const hostAllowed = (host: string | undefined) => host === `${HOST}:${port}` || host === `localhost:${port}`;
  const authorised = (req: http.IncomingMessage, url: URL) =>
    sameToken(url.searchParams.get('token'), token) || sameToken(cookieValue(req.headers.cookie, cookieName()), token);

  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': type,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      ...extra,
    });
    res.end(body);
  };

  const serveStatic = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const root = path.resolve(options.staticDir);
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'Bad path.');
    }
    const file = path.resolve(root, `.${pathname === '/' ? '/index.html' : pathname}`);
    if (!isInside(root, file)) return send(res, 404, 'Not found.');
    const real = await realFileInside(root, file);
    if (!real) {
      if (pathname === '/') {
        return send(res, 500, `Foldwise's pages are not built in ${root}. Run "npm run build" and start "foldwise serve" again.`);
      }
      return send(res, 404, 'Not found.');
    }
    const ext = path.extname(real).toLowerCase();
    const headers: Record<string, string> = { 'Cache-Control': ext === '.html' ? 'no-store' : 'no-cache' };
    if (ext === '.html') {
      headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
      headers['X-Frame-Options'] = 'DENY';
      // The token came in the query: keep it in a cookie so assets, images and the socket carry it.
      headers['Set-Cookie'] = `${cookieName()}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    }
    send(res, 200, await fs.promises.readFile(real), contentType(real), headers);
    void req;
  };

  const serveImage = async (res: http.ServerResponse, id: string) => {
    if (!IMAGE_ID.test(id)) return send(res, 400, 'Bad image id.');
    const file = options.imageFile(id);
    const real = file ? await realFileInside(options.cacheRoot, file) : null;
    const body = real ? await (options.readImage ?? ((f: string) => fs.promises.readFile(f)))(real, id) : null;
    if (!body) return send(res, 404, 'No such image in the cache.');
    send(res, 200, body, contentType(real!, 'image/jpeg'), { 'Cache-Control': 'private, max-age=3600' });
  };

  const receiveUpload = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const ext = path.extname(url.searchParams.get('name') ?? '').toLowerCase();
    if (!UPLOAD_TYPES.has(ext)) return send(res, 415, JSON.stringify({ error: `Foldwise can only try photos (${[...UPLOAD_TYPES].join(', ')}).` }), 'application/json');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_UPLOAD) return send(res, 413, JSON.stringify({ error: 'That file is larger than 25 MB.' }), 'application/json');
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const name = `${crypto.createHash('sha256').update(body).digest('hex').slice(0, 24)}${ext}`;
    const file = path.join(options.uploadDir, name);
    try {
      await writeFileAtomic(file, body);
    } catch (error) {
      // A full or read-only cache, in the engine's words (fs-errors.ts): the Try-it panel shows `error`.
      const plain = plainFsError(error);
      return send(res, 500, JSON.stringify({ error: plain instanceof Error ? plain.message : String(plain) }), 'application/json');
    }
    send(res, 200, JSON.stringify({ path: file }), 'application/json');
  };

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    if (!hostAllowed(req.headers.host)) return send(res, 403, 'Foldwise only answers on 127.0.0.1.');
    if (!authorised(req, url)) return send(res, 401, 'Open Foldwise with the link that "foldwise serve" printed (it carries a token).');
    const route = async () => {
      if (req.method === 'POST' && url.pathname === '/upload') return receiveUpload(req, res, url);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.');
      if (url.pathname.startsWith('/image/')) return serveImage(res, url.pathname.slice('/image/'.length));
      return serveStatic(req, res, url);
    };
    route().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `Foldwise could not answer: ${error instanceof Error ? error.message : String(error)}`);
      else res.destroy();
    });
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}:${port}`);
    const origin = req.headers.origin;
    const originAllowed = origin === undefined || origin === `http://${HOST}:${port}` || origin === `http://localhost:${port}`;
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    if (!hostAllowed(req.headers.host) || !originAllowed) return refuse(403, 'Forbidden');
    if (!authorised(req, url)) return refuse(401, 'Unauthorized');
    sockets.handleUpgrade(req, socket, head, (ws) => {
      // The page and the engine speak the rpc of src/shared/rpc.ts. The socket stays open while the
      // engine restarts: the relay tells the page (engine/notice) and sends later calls to the new engine.
      ws.on('close', options.engine.attach(wsServerPort(ws)));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;

  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await options.engine.close();
    },
  };
}
