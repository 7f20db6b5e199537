// The engine's lifecycle, as its host sees it: start, handshake, notice a crash or a hang, restart with
// backoff, give up after a crash loop, stop on quit. The one host for both places an engine runs in its
// own process: Electron main (a utility process, src/main/engine-process.ts) and `foldwise serve` (a
// child process, src/engine/serve/engine-process.ts); each gives it a `fork` function.
// It lives in src/shared because it needs nothing but timers and the rpc over a PortLike: main may not
// load the engine's code (src/engine), the engine may not import electron (src/main), and the preload
// and serve's page relay both need engineNotices below, so the page hears the same notices either way.
import { createClient, type EngineClient, type PortLike } from './rpc';
import type { BackendInfo, Notice } from './types';

/** One running engine process, from its host's side. */
export interface ForkedEngine<Channel> {
  /** A port to the engine that the host itself uses (handshake and watchdog). */
  control: PortLike;
  /** Opens a new channel into the engine: the engine gets one end, the caller the other (for a window or a tab). */
  openChannel(): Channel;
  /** Each listener is called once when the process is gone, for whatever reason (at once if it already is). */
  /** `signal` names what killed it, where the platform says (a child process does; a utility process does not). */
  onExit(listener: (code: number | null, signal?: string | null) => void): void;
  /** Asks the process to go, and makes sure it does (a stuck one is killed by force). */
  kill(): void;
}

export type EngineState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface EngineStatus {
  state: EngineState;
  /** A sentence for the user, e.g. in a banner. */
  message: string;
  info?: BackendInfo;
}

export interface EngineHostOptions<Channel> {
  fork(): ForkedEngine<Channel>;
  /** How long the engine may take to answer its first call (loading TensorFlow can be slow). */
  handshakeMs?: number;
  /** First restart delay; it doubles per crash up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** More crashes than this within crashWindowMs is a crash loop: stop restarting and say so. */
  maxCrashes?: number;
  crashWindowMs?: number;
  /**
   * Watchdog: once ready, the host pings the engine ('engine/info') this long after each answer. An engine
   * stuck in a native call never answers, and a process that hangs never exits, so only this notices.
   */
  pingEveryMs?: number;
  /**
   * A ping unanswered this long means the engine hangs: it is killed and restarted like a crash. Long,
   * because heavy work yields to the event loop only between batches (fine-tuning on a slow CPU).
   */
  hangAfterMs?: number;
  /** After a crash loop, what the user can do to start it again (the desktop app and a browser tab differ). */
  howToRetry?: string;
  now?(): number;
}

export class EngineHost<Channel> {
  private engine: ForkedEngine<Channel> | null = null;
  private current: EngineStatus = { state: 'stopped', message: 'The engine has not started.' };
  private readonly listeners = new Set<(status: EngineStatus) => void>();
  private crashes: number[] = [];
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdogTimer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  /** Exits of engines that were killed but may not be gone yet; stop() waits for them. */
  private readonly dying = new Set<Promise<void>>();
  private readonly opts: Required<Omit<EngineHostOptions<Channel>, 'fork'>> & Pick<EngineHostOptions<Channel>, 'fork'>;

  constructor(options: EngineHostOptions<Channel>) {
    this.opts = {
      handshakeMs: 30_000,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      maxCrashes: 5,
      crashWindowMs: 60_000,
      pingEveryMs: 10_000,
      hangAfterMs: 60_000,
      howToRetry: 'quit and reopen Foldwise',
      now: () => Date.now(),
      ...options,
    };
  }

  get status(): EngineStatus {
    return this.current;
  }

  /** Listens to every state change; returns an unsubscribe function. */
  onStatus(listener: (status: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the engine; resolves once it answered the handshake or failed for good. */
  start(): Promise<EngineStatus> {
    if (this.current.state === 'ready' || this.engine) return Promise.resolve(this.current);
    this.crashes = [];
    return this.launch('starting', 'Starting the engine…');
  }

  /** A fresh channel for a window, or null while the engine is not ready. */
  openChannel(): Channel | null {
    return this.current.state === 'ready' && this.engine ? this.engine.openChannel() : null;
  }

  /** Kills the engine and never restarts it (quit); resolves once every engine it killed has exited. */
  stop(): Promise<void> {
    this.generation++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.stopWatchdog();
    const engine = this.engine;
    this.engine = null;
    if (engine) this.kill(engine);
    this.set({ state: 'stopped', message: 'The engine was stopped.' });
    return Promise.all(this.dying).then(() => undefined);
  }

  /** Forgets a crash loop and tries again (a "Try again" button). */
  retry(): Promise<EngineStatus> {
    if (this.current.state !== 'failed') return Promise.resolve(this.current);
    this.crashes = [];
    return this.launch('starting', 'Starting the engine again…');
  }

  private set(status: EngineStatus): void {
    this.current = status;
    for (const listener of this.listeners) listener(status);
  }

  private launch(state: 'starting' | 'restarting', message: string): Promise<EngineStatus> {
    const generation = ++this.generation;
    this.stopWatchdog();
    this.set({ state, message });
    let engine: ForkedEngine<Channel>;
    try {
      engine = this.opts.fork();
    } catch (error) {
      return Promise.resolve(this.crashed(generation, `The engine could not be started: ${(error as Error).message}`));
    }
    this.engine = engine;

    return new Promise<EngineStatus>((resolve) => {
      let settled = false;
      const settle = (status: EngineStatus) => {
        if (!settled) resolve(status);
        settled = true;
      };
      engine.onExit((code, signal) => {
        if (generation !== this.generation) return; // an engine we already replaced or stopped
        this.engine = null;
        this.stopWatchdog();
        const how = code !== null ? `exit code ${code}` : signal ? `killed by ${signal}` : 'exit code unknown';
        const status = this.crashed(generation, `The engine stopped unexpectedly (${how}).`);
        // A crash before the handshake ends this start attempt; the restart reports through onStatus.
        settle(status);
      });
      const client = createClient(engine.control);
      const timer = setTimeout(() => {
        if (generation !== this.generation) return;
        client.close('handshake timed out');
        settle(this.abandon(engine, `The engine did not answer within ${Math.round(this.opts.handshakeMs / 1000)} s.`));
      }, this.opts.handshakeMs);
      client.call('engine/info', {}).then(
        (info) => {
          clearTimeout(timer);
          if (generation !== this.generation) return;
          const restarted = state === 'restarting';
          this.set({
            state: 'ready',
            message: restarted ? 'The engine restarted. Your project and finished runs are safe; start the interrupted step again.' : 'The engine is ready.',
            info,
          });
          this.watch(generation, engine, client);
          settle(this.current);
        },
        (error: Error) => {
          clearTimeout(timer);
          if (generation !== this.generation) return;
          // Connection lost before an answer: the exit handler reports it. Anything else is a broken engine.
          if (error.name === 'engine/died') return;
          settle(this.abandon(engine, `The engine failed to start: ${error.message}`));
        },
      );
    });
  }

  /** Pings a ready engine until it is replaced or stopped; one that stops answering is killed and restarted. */
  private watch(generation: number, engine: ForkedEngine<Channel>, client: EngineClient): void {
    const { pingEveryMs, hangAfterMs } = this.opts;
    const ping = () => {
      this.watchdogTimer = null;
      if (generation !== this.generation) return;
      const deadline = setTimeout(() => {
        if (generation !== this.generation) return;
        client.close('the engine stopped answering');
        this.abandon(engine, `The engine stopped answering for ${Math.round(hangAfterMs / 1000)} s (it may be stuck in a calculation), so Foldwise stopped it.`);
      }, hangAfterMs);
      this.watchdogTimer = deadline;
      client.call('engine/info', {}).then(
        () => answered(deadline),
        // An error answer is still an answer. A lost connection is the exit handler's news.
        (error: Error) => error.name !== 'engine/died' && answered(deadline),
      );
    };
    const answered = (deadline: ReturnType<typeof setTimeout>) => {
      clearTimeout(deadline);
      if (generation !== this.generation || this.watchdogTimer !== deadline) return;
      this.watchdogTimer = setTimeout(ping, pingEveryMs);
    };
    this.watchdogTimer = setTimeout(ping, pingEveryMs);
  }

  private stopWatchdog(): void {
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
  }

  /** Kills a live engine that misbehaves (no handshake, a broken one, a hang) and counts it as a crash. */
  private abandon(engine: ForkedEngine<Channel>, reason: string): EngineStatus {
    this.engine = null;
    this.generation++; // its exit, when the kill lands, is no longer news
    this.kill(engine);
    return this.crashed(this.generation, reason);
  }

  private kill(engine: ForkedEngine<Channel>): void {
    const exited = new Promise<void>((resolve) => engine.onExit(() => resolve()));
    this.dying.add(exited);
    void exited.then(() => this.dying.delete(exited));
    engine.kill();
  }

  /** Records a crash and schedules a restart, or gives up on a crash loop. */
  private crashed(generation: number, reason: string): EngineStatus {
    const now = this.opts.now();
    this.crashes = [...this.crashes.filter((t) => now - t < this.opts.crashWindowMs), now];
    if (this.crashes.length > this.opts.maxCrashes) {
      this.set({
        state: 'failed',
        message: `${reason} It stopped ${this.crashes.length} times in a row, so Foldwise will not restart it by itself. Your saved project is safe; ${this.opts.howToRetry}, and if it happens again, try another backbone or a smaller folder.`,
      });
      return this.current;
    }
    const delay = Math.min(this.opts.maxDelayMs, this.opts.initialDelayMs * 2 ** (this.crashes.length - 1));
    this.set({ state: 'restarting', message: `${reason} Restarting it… Your saved project and finished runs are safe.` });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (generation !== this.generation) return;
      void this.launch('restarting', `${reason} Restarting it…`);
    }, delay);
    return this.current;
  }
}

/**
 * What a page hears about its engine, the same in the desktop app (the preload follows main's statuses)
 * and in the browser (serve's relay follows its host): feed it every EngineStatus. When the engine is
 * lost, `lost` fails the page's pending calls. The page is shown three notices at most per loss: that
 * it is restarting (once, though the host reports each restart attempt), that it gave up, and that it
 * is back. The first 'ready' is no news.
 */
export function engineNotices(page: { lost(message: string): void; notice(notice: Notice): void }): (status: EngineStatus) => void {
  let lost = false;
  return (status) => {
    if (status.state === 'restarting' && !lost) {
      lost = true;
      page.lost(status.message);
      page.notice({ level: 'warning', message: status.message });
    } else if (status.state === 'failed') {
      if (!lost) page.lost(status.message);
      lost = true;
      page.notice({ level: 'error', message: status.message });
    } else if (status.state === 'ready' && lost) {
      lost = false;
      page.notice({ level: 'info', message: status.message });
    }
  };
}
