// The ipc channels between main and the preload: named once so the two ends cannot drift apart.
export const CHANNELS = {
  /** preload -> main: "send me a port to the engine" (on every page load). */
  hello: 'foldwise:engine-hello',
  /** main -> preload: a MessagePort to the engine, in event.ports[0]. */
  enginePort: 'foldwise:engine-port',
  /** main -> preload: EngineStatus when the engine stops, restarts or gives up. */
  engineStatus: 'foldwise:engine-status',
  /** main -> preload: the folder the user picked with File > Open Folder… (a path string). */
  openFolder: 'foldwise:open-folder',
  /** preload -> main (invoke): native folder dialog. */
  pickFolder: 'foldwise:pick-folder',
  /** preload -> main (invoke): reveal a file or open a folder in the file manager. */
  showInFolder: 'foldwise:show-in-folder',
} as const;

/** The custom protocol's scheme: foldwise://app/ serves the UI, foldwise://image/<id> cached images. */
export const SCHEME = 'foldwise';

export const imageUrl = (id: string) => `${SCHEME}://image/${encodeURIComponent(id)}`;
