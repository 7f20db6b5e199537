// `foldwise serve`: the app in a browser, for machines without Electron and for training on a remote
// box (through an SSH tunnel). It listens on 127.0.0.1 only and prints a link that carries a token.
// The engine runs in a child process (this same command with --engine-child), so heavy work never
// stalls the web server and an engine crash does not end the session.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { cacheDir, packageRoot } from '../../engine/paths';
import { forkEngine, runEngineChild } from '../../engine/serve/engine-process';
import { cachedImageBytes, cachedImageFile } from '../../engine/serve/images';
import { startServer, type ServeHandle } from '../../engine/serve/server';
import { createService } from '../../engine/service';

const DEFAULT_PORT = 4573;

export function register(program: Command): void {
  program
    .command('serve')
    .description('Open Foldwise in your browser (listens on 127.0.0.1 only; the printed link carries a secret token).')
    .option('-p, --port <port>', `port to listen on (0 picks a free one; default ${DEFAULT_PORT}, or a free one if that is taken)`)
    .addOption(new Option('--engine-child', 'internal: run as the engine process of a running `foldwise serve`').hideHelp())
    .action(async (opts: { port?: string; engineChild?: boolean }) => {
      if (opts.engineChild) return runEngineChild(createService());

      const explicit = opts.port !== undefined;
      const port = explicit ? Number(opts.port) : DEFAULT_PORT;
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`--port must be a whole number from 0 to 65535, not "${opts.port}".`);
      }
      const cache = cacheDir();
      const engine = forkEngine(process.argv[1]!, ['serve', '--engine-child']);
      const options = {
        staticDir: path.join(packageRoot(), 'dist', 'renderer'),
        engine,
        cacheRoot: cache,
        imageFile: cachedImageFile,
        readImage: cachedImageBytes,
        uploadDir: path.join(cache, 'try-it'),
      };
      const start = async (): Promise<ServeHandle> => {
        try {
          return await startServer({ ...options, port });
        } catch (error) {
          // The default port may be taken by another copy; an explicit one is the user's choice to fix.
          const code = (error as NodeJS.ErrnoException).code;
          if (explicit || code !== 'EADDRINUSE') throw new Error(code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port.` : (error as Error).message);
          return startServer({ ...options, port: 0 });
        }
      };
      let server: ServeHandle;
      try {
        server = await start();
      } catch (error) {
        // Also when the fallback port fails: a forked engine left running would keep this process alive.
        await engine.close();
        throw error;
      }
      process.stdout.write(`Foldwise is running. Open this link in your browser:\n${server.url}\n`);
      process.stderr.write('Press Ctrl+C to stop.\n');
      const stop = () => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
