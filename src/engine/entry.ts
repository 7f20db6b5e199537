// Engine process entry (Electron utility process). Filled in with the desktop shell (issue 5).
export {};
