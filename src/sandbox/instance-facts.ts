// Hardware facts of EC2 instance types (vCPU and memory only) for the sandbox's ground truth, read
// from the project's catalog file data/instances.json. How fast a type is comes from the sandbox's
// own table (instance-performance.ts), never from the catalog's CoreMark column.
import { readFileSync } from 'node:fs';
import { SyncError } from '../domain/errors.js';

/** What the sandbox needs to know about one instance type. */
export type InstanceFacts = { instanceType: string; vcpu: number; memoryGib: number };

/** Instance facts by type name. */
export type InstanceFactsTable = Readonly<Record<string, InstanceFacts>>;

const CATALOG_URL = new URL('../../data/instances.json', import.meta.url);

/** Reads the catalog (default: the package's data/instances.json); every row needs instanceType, vcpu and memoryGib. */
export function readInstanceFacts(path: string | URL = CATALOG_URL): InstanceFactsTable {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SyncError('invalid_config', `instance catalog ${String(path)} could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const rows = (doc as { instances?: unknown }).instances;
  if (!Array.isArray(rows)) throw new SyncError('corrupt_data', `instance catalog ${String(path)}: "instances" must be a list`);
  const out: Record<string, InstanceFacts> = {};
  rows.forEach((r: Record<string, unknown>, i) => {
    const { instanceType, vcpu, memoryGib } = r;
    if (typeof instanceType !== 'string' || typeof vcpu !== 'number' || typeof memoryGib !== 'number') {
      throw new SyncError('corrupt_data', `instance catalog ${String(path)}: row ${i} needs instanceType, vcpu and memoryGib`);
    }
    out[instanceType] = { instanceType, vcpu, memoryGib };
  });
  return out;
}
