import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The outcome of checking a location: the normalised URL, or why it is not acceptable. */
export type LocationCheck = { ok: true; url: string } | { ok: false; reason: string };

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Checks that `value` is an `s3://bucket[/prefix]` or `file:///abs/path` URL and returns it without
 * trailing slashes. With `baseDir`, `file:./rel` and `file:../rel` are resolved against it (config files
 * use this for paths next to themselves); without it they are refused.
 */
export function checkLocation(value: string, baseDir?: string): LocationCheck {
  if (value.trim() !== value || value === '') return { ok: false, reason: 'must be an s3://bucket/prefix or file:///abs/path URL, without surrounding spaces' };
  if (/^s3[an]:\/\//i.test(value)) return { ok: false, reason: `must use the s3:// scheme (Spark's ${value.slice(0, 4)}:// is derived from it), got '${value}'` };
  if (value.startsWith('s3://')) {
    const rest = value.slice('s3://'.length).replace(/\/+$/, '');
    const [bucket = '', ...prefix] = rest.split('/');
    if (!S3_BUCKET.test(bucket) || bucket.includes('..')) return { ok: false, reason: `must name a valid S3 bucket (3-63 lowercase letters, digits, dots, hyphens), got '${value}'` };
    if (prefix.some((p) => p === '' || p === '.' || p === '..')) return { ok: false, reason: `must not contain empty, '.' or '..' path segments, got '${value}'` };
    return { ok: true, url: `s3://${rest}` };
  }
  if (value.startsWith('dbfs:/') || value.startsWith('/Volumes/')) {
    // Databricks locations (read and written through the workspace's Files/DBFS APIs).
    const rest = value.replace(/\/+$/, '');
    const segments = rest.slice(rest.startsWith('dbfs:/') ? 'dbfs:/'.length : 1).split('/');
    if (segments.some((p) => p === '' || p === '.' || p === '..')) return { ok: false, reason: `must not contain empty, '.' or '..' path segments, got '${value}'` };
    if (rest.startsWith('/Volumes/') && segments.length < 4) return { ok: false, reason: `must name a volume: /Volumes/<catalog>/<schema>/<volume>[/path], got '${value}'` };
    return { ok: true, url: rest };
  }
  if (value.startsWith('file:')) {
    const rest = value.slice('file:'.length);
    if (rest.startsWith('./') || rest.startsWith('../') || rest === '.' || rest === '..') {
      if (baseDir === undefined) return { ok: false, reason: `relative file: URLs are only allowed in a local configuration file, got '${value}'` };
      return { ok: true, url: fileUrl(resolve(baseDir, rest)) };
    }
    if (!rest.startsWith('///')) return { ok: false, reason: `must be file:///absolute/path (three slashes) or file:./relative, got '${value}'` };
    let path: string;
    try {
      path = fileURLToPath(value);
    } catch {
      return { ok: false, reason: `is not a valid file:// URL, got '${value}'` };
    }
    if (!isAbsolute(path) || /(^|\/)\.\.?(\/|$)/.test(rest.slice(2))) return { ok: false, reason: `must be an absolute path without '.' or '..' segments, got '${value}'` };
    return { ok: true, url: fileUrl(path) };
  }
  return { ok: false, reason: `must be an s3://bucket/prefix or file:///abs/path URL, got '${value}'` };
}

function fileUrl(path: string): string {
  const href = pathToFileURL(path).href;
  return href === 'file:///' ? href : href.replace(/\/+$/, '');
}
