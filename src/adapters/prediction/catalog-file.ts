// Loads the shipped instance catalog (data/instances.json) and applies the site's overrides.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SiteConfig } from '../../config/types.js';
import { SyncError } from '../../domain/errors.js';
import { buildCatalog } from '../../domain/prediction/catalog.js';
import type { Catalog, CatalogRow } from '../../domain/prediction/catalog.js';

/** Path of the shipped data/instances.json, found by walking up from this module (src or dist). */
export function shippedCatalogPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'data', 'instances.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new SyncError('internal', 'data/instances.json not found next to the package');
}

/** Reads catalog rows from a JSON file shaped like data/instances.json (`{ instances: [...] }` or an array). */
export function readCatalogRows(path: string): CatalogRow[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SyncError('corrupt_data', `instance catalog ${path}: ${(e as Error).message}`, { cause: e });
  }
  const rows = Array.isArray(doc) ? doc : (doc as { instances?: unknown }).instances;
  if (!Array.isArray(rows)) throw new SyncError('corrupt_data', `instance catalog ${path}: expected an "instances" array`);
  return rows as CatalogRow[];
}

let shipped: CatalogRow[] | undefined;

/** The shipped catalog with `site.predictions.instances` and `emrPricing` applied. */
export function loadCatalog(predictions: Pick<SiteConfig['predictions'], 'instances' | 'emrPricing'> = {}): Catalog {
  shipped ??= readCatalogRows(shippedCatalogPath());
  return buildCatalog(shipped, {
    ...(predictions.instances ? { instances: predictions.instances } : {}),
    ...(predictions.emrPricing ? { emrPricing: predictions.emrPricing } : {}),
  });
}
