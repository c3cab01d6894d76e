// The code-change guard: a digest of what a run executes (its steps) and of the code objects they
// reference (by ETag), so a prediction learnt on old code is never applied to new code.
import { createHash } from 'node:crypto';
import type { JobFlow } from './types.js';

const OBJECT_URL = /^(s3a?|s3n|file):\/\/[^\s'"]+$/;

type Step = { Name?: unknown; HadoopJarStep?: { Jar?: unknown; Args?: unknown; MainClass?: unknown } };

function stepsOf(jobFlow: JobFlow | undefined): Step[] {
  const steps = jobFlow?.Steps;
  return Array.isArray(steps) ? (steps.filter((s) => typeof s === 'object' && s !== null) as Step[]) : [];
}

/** `s3a://` and `s3n://` name the same objects as `s3://`. */
export function canonicalObjectUrl(url: string): string {
  return url.replace(/^s3[an]:\/\//, 's3://');
}

/** Every object URL (s3://, s3a://, file://) a job flow's steps reference as their jar or an argument, in order, once each. */
export function referencedObjects(jobFlow: JobFlow | undefined): string[] {
  const out: string[] = [];
  for (const step of stepsOf(jobFlow)) {
    const jar = step.HadoopJarStep?.Jar;
    const args = Array.isArray(step.HadoopJarStep?.Args) ? step.HadoopJarStep.Args : [];
    for (const v of [jar, ...args]) {
      if (typeof v !== 'string') continue;
      // An argument like --py-files=s3://a/b.zip,s3://a/c.zip carries several.
      for (const part of v.split(/[=,]/)) {
        if (OBJECT_URL.test(part)) {
          const url = canonicalObjectUrl(part);
          if (!out.includes(url)) out.push(url);
        }
      }
    }
  }
  return out;
}

/**
 * The fingerprint of an application: SHA-256 over its steps' names, jars, main classes and
 * arguments, and over each referenced object's ETag (`missing` when it could not be read).
 */
export function fingerprintOf(jobFlow: JobFlow | undefined, etags: Readonly<Record<string, string>>): string {
  const h = createHash('sha256');
  for (const step of stepsOf(jobFlow)) {
    h.update(JSON.stringify([step.Name ?? null, step.HadoopJarStep?.Jar ?? null, step.HadoopJarStep?.MainClass ?? null, step.HadoopJarStep?.Args ?? null]));
    h.update('\n');
  }
  for (const url of referencedObjects(jobFlow)) h.update(`${url} ${etags[url] ?? 'missing'}\n`);
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
