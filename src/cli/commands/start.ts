import { parseArgs } from 'node:util';
import { createAgent } from '../../agent/daemon.js';
import type { CliIo } from '../io.js';

/** `sync-agent start`: runs the daemon until SIGTERM/SIGINT (graceful), a second signal (abort), exit 0 on a clean stop. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  const agent = createAgent({ ...(values.config ? { configPath: values.config } : {}), cwd: io.cwd, env: io.env });
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      agent.logger.info('signal received: draining', { signal });
      void agent.stop(signal);
      // After the grace period plus a margin, in-flight work is aborted (retried later by the queue).
      const grace = agent.config?.site.shutdown.graceMs ?? 30_000;
      setTimeout(() => agent.abort(), grace + 1_000).unref();
    } else {
      agent.logger.warn('second signal: aborting in-flight work now', { signal });
      agent.abort();
    }
  };
  const onHup = () => void agent.reload();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await agent.start();
    await agent.run();
    return 0;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    io.err(`sync-agent: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}`);
    return 1;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  }
}
