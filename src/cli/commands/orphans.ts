import { createAwsClients } from '../../adapters/aws-clients.js';
import { createEmrPlatform } from '../../adapters/emr-platform.js';
import { createFileObjectStore } from '../../adapters/file-object-store.js';
import { silentLogger } from '../../adapters/logger.js';
import { createObjectStoreRouter } from '../../adapters/object-store-router.js';
import { createS3ObjectStore } from '../../adapters/s3-object-store.js';
import { createStateStore } from '../../adapters/state-store.js';
import { loadConfig } from '../../config/load-config.js';
import { toSyncError } from '../../domain/errors.js';
import { DEFAULT_ORPHAN_SETTINGS, createOrphanSweeper } from '../../queues/orphans.js';
import { parseCommand } from '../args.js';
import { table } from '../format.js';
import type { CliIo } from '../io.js';

const USAGE = [
  'usage: sync-agent orphans [--json] [--config PATH]',
  "  clusters tagged for this tenant (sync:tenant-id, sync:run-id) that no live run owns, up for more than site.orphans.graceMs;",
  '  read-only: the daemon terminates them when site.orphans.terminate is true',
].join('\n');

/** `sync-agent orphans`: one orphan sweep, report only (never terminates), with this host's AWS credentials. Exit 0. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(argv, io, USAGE, { json: { type: 'boolean', default: false }, config: { type: 'string' } });
  if ('exit' in parsed) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    io.err(USAGE);
    return 2;
  }
  const config = await loadConfig({ ...(values.config ? { configPath: values.config } : {}), cwd: io.cwd, env: io.env, allowDefaults: true });
  const aws = createAwsClients({ region: config.site.aws.region, endpoints: config.site.aws.endpoints, s3ForcePathStyle: config.site.aws.s3ForcePathStyle });
  try {
    const objects = createObjectStoreRouter({ file: createFileObjectStore(), s3: createS3ObjectStore({ client: aws.s3 }) });
    const state = createStateStore(config.tenant.state, { objectStore: objects });
    const settings = config.site.orphans ?? DEFAULT_ORPHAN_SETTINGS;
    const sweeper = createOrphanSweeper({
      tenantId: config.tenant.id,
      platform: createEmrPlatform({ client: aws.emr, region: config.site.aws.region }),
      readProject: async (id, o) => (await state.get(id, o))?.value,
      // One look at every live cluster: no budget between passes here.
      settings: { ...settings, maxDescribesPerPass: 1000 },
      logger: silentLogger,
    });
    const report = await sweeper.pass({ terminate: false });
    if (values.json) {
      io.out(JSON.stringify(report, null, 2));
      return 0;
    }
    const grace = `${Math.round(settings.graceMs / 60_000)} min`;
    io.out(`${report.listed} live clusters, ${report.ours} tagged for tenant '${config.tenant.id}', ${report.orphans.length} orphan(s) (grace ${grace}; terminate: ${settings.terminate})`);
    if (report.orphans.length > 0) {
      io.out(
        table(
          ['CLUSTER', 'STATE', 'PROJECT', 'RUN', 'WHY', 'SINCE'],
          report.orphans.map((o) => [o.clusterId, o.state, o.projectId ?? '-', o.runId, o.reason === 'run_ended' ? `run ${o.runStatus ?? 'ended'}` : o.reason === 'other_cluster' ? `run ${o.runStatus ?? ''} on another cluster` : 'no such run', o.since]),
        ),
      );
    }
    return 0;
  } catch (e) {
    io.err(`sync-agent orphans: ${toSyncError(e).message}`);
    return 1;
  } finally {
    aws.emr.destroy();
    aws.s3.destroy();
    aws.sqs.destroy();
  }
}
