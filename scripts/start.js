#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary exists, otherwise the browser mode.
// It explains itself in one sentence instead of ending with a stack trace.
const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (line) => process.stderr.write(`foldwise: ${line}\n`);

function electronBinary() {
  try {
    const binary = require('electron'); // the package exports the binary's path
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

if (!fs.existsSync(path.join(root, 'dist', 'cli', 'index.js'))) {
  say('building first (npm run build)…');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (built.status !== 0) {
    say('the build failed; see the messages above.');
    process.exit(1);
  }
}

const electron = electronBinary();
const child = electron
  ? spawn(electron, [root], { stdio: 'inherit' })
  : (say('the Electron binary is not installed here (its download needs the internet), so Foldwise starts in browser mode.'),
    spawn(process.execPath, [path.join(root, 'dist', 'cli', 'index.js'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' }));
child.on('exit', (code) => process.exit(code ?? 0));
child.on('error', (error) => {
  say(`could not start: ${error.message}`);
  process.exit(1);
});
