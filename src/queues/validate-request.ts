import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { checkDatabricksJob } from '../domain/databricks-job.js';
import { SyncError, isSyncError } from '../domain/errors.js';
import { REQUEST_NAMES, type RequestName, type ValidRequest } from '../domain/requests.js';

/** The largest request accepted, in UTF-8 bytes of its JSON. */
export const MAX_REQUEST_BYTES = 256 * 1024;
/** The deepest nesting accepted in a request. */
export const MAX_REQUEST_DEPTH = 64;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The request JSON Schema shipped in the package (`schema/requests.schema.json`). */
export const requestsSchemaUrl = new URL('../../schema/requests.schema.json', import.meta.url);

type Validators = { envelope: ValidateFunction; data: Map<RequestName, ValidateFunction> };
let compiled: Validators | undefined;

function validators(): Validators {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(fileURLToPath(requestsSchemaUrl), 'utf8')) as { $id: string };
  // strictRequired would refuse run.record's anyOf of `required` lists that name properties defined beside it.
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, verbose: true });
  ajv.addSchema(schema);
  const get = (ref: string): ValidateFunction => {
    const fn = ajv.getSchema(`${schema.$id}#/$defs/${ref}`);
    if (!fn) throw new SyncError('internal', `schema/requests.schema.json has no $defs/${ref}`);
    return fn;
  };
  compiled = { envelope: get('envelope'), data: new Map(REQUEST_NAMES.map((n) => [n, get(n)])) };
  return compiled;
}

function pathOf(base: string, instancePath: string): string {
  if (instancePath === '') return base;
  return base + instancePath.split('/').slice(1).map((seg) => {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(s) ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }).join('');
}

function describe(base: string, errors: readonly ErrorObject[]): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  // anyOf failures list every branch's error; say instead which alternatives are required.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  for (const e of errors) {
    if (anyOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`))) continue;
    let path = pathOf(base, e.instancePath);
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      path = `${path}.${String((e.params as { missingProperty: string }).missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path = `${path}.${String((e.params as { additionalProperty: string }).additionalProperty)}`;
      message = 'is not an allowed field';
    } else if (e.keyword === 'anyOf' && Array.isArray(e.schema)) {
      const alternatives = (e.schema as { required?: string[] }[]).flatMap((s) => s.required ?? []);
      message = `must have at least one of ${alternatives.join(', ')}`;
    } else if (e.keyword === 'pattern' && e.schemaPath.includes('/safeId/')) {
      message = `${message} (a safe id: 1-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit, without '..')`;
    } else if (e.keyword === 'pattern' && e.schemaPath.includes('/location/')) {
      message = `${message} (s3://bucket[/prefix] or file:///path, without . or .. segments)`;
    } else if (e.keyword === 'enum') {
      message = `must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    if (!out.some((o) => o.path === path && o.message === message)) out.push({ path, message });
  }
  return out;
}

function fail(problems: { path: string; message: string }[]): never {
  throw new SyncError('invalid_request', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { details: { errors: problems } });
}

// Walks the value once: refuses prototype-polluting keys, cycles, over-deep nesting, and counts bytes.
function inspect(value: unknown): number {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): number => {
    if (v === null || typeof v === 'boolean') return 5;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail([{ path, message: 'must be a finite number' }]);
      return String(v).length;
    }
    if (typeof v === 'string') return Buffer.byteLength(v, 'utf8') + 2;
    if (typeof v !== 'object') return fail([{ path, message: `is a ${typeof v}, which JSON cannot carry` }]);
    if (depth > MAX_REQUEST_DEPTH) fail([{ path, message: `is nested deeper than ${MAX_REQUEST_DEPTH} levels` }]);
    if (seen.has(v)) fail([{ path, message: 'refers to itself (a cycle)' }]);
    seen.add(v);
    let bytes = 2;
    if (Array.isArray(v)) {
      v.forEach((item, i) => (bytes += walk(item, `${path}[${i}]`, depth + 1) + 1));
    } else {
      for (const key of Object.keys(v)) {
        const child = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
        if (FORBIDDEN_KEYS.has(key)) fail([{ path: child, message: `the key '${key}' is not allowed` }]);
        bytes += Buffer.byteLength(key, 'utf8') + 4 + walk((v as Record<string, unknown>)[key], child, depth + 1);
      }
    }
    seen.delete(v);
    return bytes;
  };
  return walk(value, 'request', 0);
}

// What JSON Schema cannot say about a Databricks job (one cluster per project, known job_cluster_key, ...).
function checkJob(name: RequestName, data: Record<string, unknown>): void {
  if (data.job === undefined || data.job === null) return;
  if (name === 'project.create' && data.platform !== 'databricks') fail([{ path: 'data.job', message: "is only for platform 'databricks' (EMR projects use jobFlow)" }]);
  if (data.jobFlow !== undefined && data.jobFlow !== null) fail([{ path: 'data.jobFlow', message: 'cannot be given with data.job (one is for EMR, the other for Databricks)' }]);
  try {
    checkDatabricksJob(data.job, 'data.job');
  } catch (e) {
    if (!isSyncError(e, 'invalid_request')) throw e;
    const d = e.details as { path?: string; problem?: string } | undefined;
    fail([{ path: d?.path ?? 'data.job', message: d?.problem ?? e.message }]);
  }
}

/**
 * Validates a request envelope `{ id?, name, data, idempotencyKey? }` and its data against
 * schema/requests.schema.json. Throws SyncError 'unknown_request' for a name with no handler and
 * 'invalid_request' (message naming every failing field, e.g. `data.projectId: must match pattern ...`)
 * for anything else wrong, including `__proto__`/`constructor`/`prototype` keys and requests over
 * MAX_REQUEST_BYTES. Returns a fresh copy typed by name.
 */
export function validateRequest(raw: unknown): ValidRequest {
  const bytes = inspect(raw);
  if (bytes > MAX_REQUEST_BYTES) {
    fail([{ path: 'request', message: `is about ${bytes} bytes as JSON; the limit is ${MAX_REQUEST_BYTES}` }]);
  }
  const v = validators();
  if (!v.envelope(raw)) fail(describe('request', v.envelope.errors ?? []));
  const envelope = raw as { id?: string; name: string; data: unknown; idempotencyKey?: string };
  const name = envelope.name as RequestName;
  const dataValidator = v.data.get(name);
  if (!dataValidator) {
    throw new SyncError('unknown_request', `no request named '${envelope.name}'; known requests: ${REQUEST_NAMES.join(', ')}`);
  }
  if (!dataValidator(envelope.data)) fail(describe('data', dataValidator.errors ?? []));
  checkJob(name, envelope.data as Record<string, unknown>);
  const out = { name, data: structuredClone(envelope.data) } as ValidRequest;
  if (envelope.id !== undefined) out.id = envelope.id;
  if (envelope.idempotencyKey !== undefined) out.idempotencyKey = envelope.idempotencyKey;
  return out;
}

/** Line and column (1-based) of a UTF-16 offset in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

// Finds the offset where `text` stops being valid JSON (V8's messages do not always say).
function errorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const bad = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    for (const ch of word) if (text[i++] !== ch) (i--, bad());
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) bad();
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) bad();
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) ((i += k), bad());
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else bad();
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 0) bad();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') bad();
        string();
        ws();
        if (text[i] !== ':') bad();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else bad();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else bad();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else bad();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : -1;
  }
}

/**
 * Parses a request's JSON text after checking it is at most MAX_REQUEST_BYTES; malformed JSON is
 * SyncError 'invalid_request' naming the byte offset, line and column of the first bad character.
 */
export function parseRequestJson(text: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_REQUEST_BYTES) {
    throw new SyncError('invalid_request', `request is ${bytes} bytes; the limit is ${MAX_REQUEST_BYTES}`, { details: { bytes, limit: MAX_REQUEST_BYTES } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const at = errorOffset(text);
    const offset = at >= 0 ? at : text.length;
    const { line, column } = lineColumn(text, offset);
    const byteOffset = Buffer.byteLength(text.slice(0, offset), 'utf8');
    const found = offset >= text.length ? 'end of input' : `${JSON.stringify(text[offset])}`;
    throw new SyncError('invalid_request', `request is not valid JSON: unexpected ${found} at byte ${byteOffset} (line ${line}, column ${column})`, {
      cause: e,
      details: { offset: byteOffset, line, column },
    });
  }
}

/** parseRequestJson then validateRequest. */
export function decodeRequest(text: string): ValidRequest {
  return validateRequest(parseRequestJson(text));
}
