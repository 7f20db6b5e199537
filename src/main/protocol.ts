// foldwise:// : the UI (foldwise://app/...) and cached images (foldwise://image/<id>), nothing else.
// Serving the UI from our own scheme, not file://, gives it a real origin to check ipc senders
// against and lets every page carry the CSP as a header.
import { protocol, type Session } from 'electron';
import fs from 'node:fs';
import { cacheDir } from '../engine/paths';
import { SCHEME } from '../preload/channels';
import { appFile, cachedImage, contentType } from './files';
import { APP_HOST, CONTENT_SECURITY_POLICY } from './security';


/** Must run before app 'ready'. */
export function registerScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
  ]);
}

const refuse = (status: number, text: string) =>
  new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' } });

async function fileResponse(file: string, extra: Record<string, string>): Promise<Response> {
  const body = await fs.promises.readFile(file);
  return new Response(body, {
    status: 200,
    headers: { 'Content-Type': contentType(file), 'X-Content-Type-Options': 'nosniff', ...extra },
  });
}

/** Answers foldwise:// in `session`. `rendererDir` is dist/renderer. */
export function handleScheme(session: Session, rendererDir: string): void {
  session.protocol.handle(SCHEME, async (request) => {
    if (request.method !== 'GET') return refuse(405, 'Only GET.');
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return refuse(400, 'Bad URL.');
    }
    if (url.host === APP_HOST) {
      const file = await appFile(rendererDir, url.pathname);
      if (!file) return refuse(404, 'Not found.');
      return fileResponse(file, { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-cache' });
    }
    if (url.host === 'image') {
      // Ids are [A-Za-z0-9_-] and never escaped; anything else fails the id check.
      // Loaded on first use: the lookup lives with the dataset code, which pulls in sharp, and main
      // should not load a native image library just to start.
      const { cachedImageBytes, cachedImageFile } = await import('../engine/serve/images');
      const id = url.pathname.replace(/^\/+/, '');
      const file = await cachedImage(cacheDir(), id, cachedImageFile);
      const body = file ? await cachedImageBytes(file, id) : null;
      if (!body) return refuse(404, 'No such image in the cache.');
      return new Response(new Uint8Array(body), { status: 200, headers: { 'Content-Type': 'image/jpeg', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'max-age=3600' } });
    }
    return refuse(404, 'Not found.');
  });
}
