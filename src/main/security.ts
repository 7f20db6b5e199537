// Who may talk to main, and what the page may load. Pure functions, so they are unit-tested.
import { SCHEME } from '../preload/channels';

/** The UI's origin: every page Foldwise shows comes from foldwise://app/. */
export const APP_HOST = 'app';
export const APP_ORIGIN = `${SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * Sent as a header with every page (the renderer's index.html carries the same policy as a meta tag).
 * Images come from foldwise: (the cache) or data: (heatmaps); nothing is fetched from the network.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  `img-src 'self' data: blob: ${SCHEME}:`,
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** True only for a URL of our own UI (foldwise://app/...). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/** The fields of an ipc event that say who sent it (IpcMainEvent / IpcMainInvokeEvent). */
export interface IpcSender {
  senderFrame: { url: string; parent: unknown } | null;
}

/** An ipc message counts only from the top frame of our own UI: never from an iframe or a navigated page. */
export function isTrustedSender(event: IpcSender): boolean {
  const frame = event.senderFrame;
  return !!frame && frame.parent === null && isAppUrl(frame.url);
}
