// ObjectStore over Amazon S3 for `s3://bucket/key` URLs, through an injected S3 client. Every call
// is retried by withRetry on throttling and transient failures (the SDK itself is set not to retry),
// conditional writes use S3's If-Match / If-None-Match, and streams are never buffered whole.
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { SyncError } from '../domain/errors.js';
import type { CallOptions, Logger, ObjectInfo, ObjectStore, PutOptions } from '../domain/ports.js';
import { mapAwsError, withRetry, type RetryOptions } from './aws-errors.js';

export type S3Location = { bucket: string; key: string };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Splits `s3://bucket/key` into bucket and key (the key verbatim, not percent-decoded). With
 * `allowEmptyKey` (list prefixes) `s3://bucket` and `s3://bucket/` give key ''. Bad URLs are
 * SyncError 'invalid_request'.
 */
export function parseS3Url(url: string, allowEmptyKey = false): S3Location {
  if (!url.startsWith('s3://')) throw new SyncError('invalid_request', `not an s3:// URL: ${JSON.stringify(url)}`);
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket)) throw new SyncError('invalid_request', `invalid bucket name ${JSON.stringify(bucket)} in ${JSON.stringify(url)}`);
  if (!allowEmptyKey && key === '') throw new SyncError('invalid_request', `s3 URL ${JSON.stringify(url)} names a bucket, not an object`);
  if (key.includes('\0')) throw new SyncError('invalid_request', `s3 URL ${JSON.stringify(url)} contains a NUL byte`);
  if (Buffer.byteLength(key) > 1024) throw new SyncError('invalid_request', `s3 key in ${JSON.stringify(url).slice(0, 80)}... is longer than 1024 bytes`);
  return { bucket, key };
}

export type S3ObjectStoreDeps = {
  client: Pick<S3Client, 'send'>;
  logger?: Logger;
  /** Keys per ListObjectsV2 page (default 1000, S3's maximum). */
  listPageSize?: number;
  /** Retry policy for each S3 call (see withRetry; default 5 retries, 200 ms base backoff). */
  retry?: Partial<Omit<RetryOptions, 'signal'>>;
};

function isNodeReadable(x: unknown): x is Readable {
  return typeof (x as Readable | undefined)?.destroy === 'function' && typeof (x as Readable | undefined)?.pipe === 'function';
}

/** Creates the `s3://` ObjectStore. */
export function createS3ObjectStore(deps: S3ObjectStoreDeps): ObjectStore {
  const { client } = deps;
  const pageSize = deps.listPageSize ?? 1000;

  const call = <T>(context: string, options: CallOptions | undefined, fn: (attempt: number) => Promise<T>): Promise<T> =>
    withRetry(
      async (attempt) => {
        try {
          return await fn(attempt);
        } catch (e) {
          throw mapAwsError(e, context);
        }
      },
      {
        ...deps.retry,
        signal: options?.signal,
        onRetry: (e, attempt, delayMs) => {
          deps.logger?.debug('retrying S3 call', { operation: context, code: e.code, attempt, delayMs });
          deps.retry?.onRetry?.(e, attempt, delayMs);
        },
      },
    );

  const abortSignal = (options?: CallOptions) => (options?.signal ? { abortSignal: options.signal } : {});

  const head = async (url: string, options?: CallOptions): Promise<ObjectInfo | undefined> => {
    const { bucket, key } = parseS3Url(url);
    try {
      const out = await call(`S3 HeadObject ${url}`, options, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), abortSignal(options)));
      return { url, size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
    } catch (e) {
      if (e instanceof SyncError && e.code === 'not_found') return undefined;
      throw e;
    }
  };

  const get = async (url: string, options?: CallOptions): Promise<{ body: Buffer; info: ObjectInfo }> => {
    const { bucket, key } = parseS3Url(url);
    return call(`S3 GetObject ${url}`, options, async () => {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), abortSignal(options));
      if (!out.Body) throw new SyncError('remote_error', `S3 GetObject ${url} returned no body`);
      const body = Buffer.from(await out.Body.transformToByteArray());
      return { body, info: { url, size: body.length, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) } };
    });
  };

  async function* stream(url: string, options?: CallOptions): AsyncIterable<Uint8Array> {
    const { bucket, key } = parseS3Url(url);
    const context = `S3 GetObject ${url}`;
    // Only opening the object is retried: once bytes flowed, a retry would have to resume mid-object.
    const out = await call(context, options, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), abortSignal(options)));
    const body: unknown = out.Body;
    if (!body) throw new SyncError('remote_error', `${context} returned no body`);
    const onAbort = () => {
      if (isNodeReadable(body)) body.destroy();
    };
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        if (options?.signal?.aborted) throw new SyncError('aborted', `${context} was aborted`);
        yield chunk;
      }
    } catch (e) {
      if (options?.signal?.aborted) throw new SyncError('aborted', `${context} was aborted`, { cause: e });
      throw e instanceof SyncError ? e : new SyncError('unavailable', `${context}: the stream broke: ${(e as Error).message}`, { cause: e });
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
      // A consumer that stops early must not leave the socket half read.
      if (isNodeReadable(body) && !body.readableEnded) body.destroy();
    }
  }

  const put = async (url: string, body: string | Uint8Array, options: PutOptions = {}): Promise<ObjectInfo> => {
    const { bucket, key } = parseS3Url(url);
    const context = `S3 PutObject ${url}`;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
    const md5 = () => `"${createHash('md5').update(bytes).digest('hex')}"`;
    let attempts = 0;
    try {
      const out = await call(context, options, (attempt) => {
        attempts = attempt;
        return client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentLength: bytes.byteLength,
            ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
            ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
            ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
          }),
          abortSignal(options),
        );
      });
      return { url, size: bytes.byteLength, etag: out.ETag ?? md5(), lastModified: new Date() };
    } catch (e) {
      if (!conditional || !(e instanceof SyncError) || (e.code !== 'conflict' && e.code !== 'not_found')) throw e;
      // A retried conditional write may have lost only to its own earlier attempt, whose answer was lost.
      if (attempts > 1) {
        const now = await head(url, options).catch(() => undefined);
        if (now && now.etag === md5() && now.size === bytes.byteLength) return { ...now, url };
      }
      // If-Match on a missing object is 404 NoSuchKey in S3: for the caller that is a lost race too.
      const reason = options.ifNoneMatch !== undefined ? `${url} already exists (ifNoneMatch '*')` : `${url} no longer has etag ${options.ifMatch}`;
      deps.logger?.debug('S3 conditional put lost', { url, code: e.code });
      throw new SyncError('conflict', `${context} failed: ${reason}`, { cause: e, details: { ...e.details } });
    }
  };

  async function* list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    const { bucket, key } = parseS3Url(prefix, true);
    let token: string | undefined;
    do {
      const page = await call(`S3 ListObjectsV2 ${prefix}`, options, () =>
        client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            MaxKeys: pageSize,
            ...(key !== '' ? { Prefix: key } : {}),
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
          abortSignal(options),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { url: `s3://${bucket}/${o.Key}`, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new SyncError('remote_error', `S3 ListObjectsV2 ${prefix}: truncated page without a continuation token`);
    } while (token !== undefined);
  }

  const del = async (url: string, options?: CallOptions): Promise<void> => {
    const { bucket, key } = parseS3Url(url);
    await call(`S3 DeleteObject ${url}`, options, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), abortSignal(options)));
  };

  return { head, get, stream, put, list, delete: del };
}
