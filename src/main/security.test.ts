import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, isAppUrl, isTrustedSender } from './security';

describe('window security', () => {
  it('recognises only our own UI as the app', () => {
    expect(isAppUrl('foldwise://app/index.html')).toBe(true);
    expect(isAppUrl('foldwise://app/assets/index-abc.js')).toBe(true);
    expect(isAppUrl('foldwise://image/abc')).toBe(false);
    expect(isAppUrl('file:///home/me/dist/renderer/index.html')).toBe(false);
    expect(isAppUrl('https://app/index.html')).toBe(false);
    expect(isAppUrl('https://evil.example/?foldwise://app/')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
    expect(isAppUrl(undefined)).toBe(false);
  });

  it('trusts ipc only from the top frame of the app', () => {
    expect(isTrustedSender({ senderFrame: { url: 'foldwise://app/index.html', parent: null } })).toBe(true);
    expect(isTrustedSender({ senderFrame: { url: 'foldwise://app/index.html', parent: {} } })).toBe(false); // an iframe
    expect(isTrustedSender({ senderFrame: { url: 'https://evil.example/', parent: null } })).toBe(false);
    expect(isTrustedSender({ senderFrame: null })).toBe(false); // frame already gone
  });

  it('allows no remote scripts, plugins, framing or form posts', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['form-action']).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|https?:|\*/);
  });
});
