// A real S3 peer for integration tests: s3rver in a child process, fronted by a small proxy of ours
// that enforces conditional PUTs (s3rver ignores If-Match / If-None-Match) and injects faults.
//
// Why a child process: s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// (Node 20) only ships in its legacy provider. The provider can only be enabled at process start
// (`--openssl-legacy-provider`), so s3rver runs in its own Node process started with that flag and the
// test process itself keeps the default crypto.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

/** A fault the proxy applies to the next matching requests. */
export type S3Fault = {
  /**
   * 'slowdown': 503 SlowDown; 'internal': 500 InternalError; 'delay': wait `ms`, then forward;
   * 'reset': drop the connection; 'lost-answer': forward (the write happens), then answer 500 InternalError.
   */
  kind: 'slowdown' | 'internal' | 'delay' | 'reset' | 'lost-answer';
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** For 'delay' (default 1000). */
  ms?: number;
  /** Only requests with this HTTP method (GET, PUT, HEAD, DELETE). */
  method?: string;
  /** Only requests whose path (`/bucket/key?query`, decoded) contains this. */
  pathIncludes?: string;
};

/** One request the proxy saw, with the status it answered. */
export type S3RequestRecord = { method: string; path: string; status: number };

export type S3Harness = {
  /** `http://127.0.0.1:<port>` of the proxy; give it to S3Client as `endpoint`. */
  endpoint: string;
  /** A client configured for the harness (path style, checksums only when required, S3RVER keys). */
  client: S3Client;
  /** Applies `fault` to the next `fault.times` matching requests. */
  inject(fault: S3Fault): void;
  /** Forgets every pending fault. */
  clearFaults(): void;
  /** Every request seen so far (oldest first). */
  requests(): S3RequestRecord[];
  /** Stops the proxy and s3rver and removes the temp directory; safe to call twice. */
  stop(): Promise<void>;
};

/** Creates an S3Client that talks to a harness endpoint. */
export function createTestS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Tests see the proxy's faults directly; retries are the adapters' business.
    maxAttempts: 1,
  });
}

const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory: process.env.S3RVER_DIR,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name })),
});
server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
`;

async function startChild(dir: string, buckets: string[]): Promise<{ child: ChildProcess; port: number }> {
  const require = createRequire(import.meta.url);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: { ...process.env, NODE_OPTIONS: '', S3RVER_MODULE: require.resolve('s3rver'), S3RVER_DIR: dir, S3RVER_BUCKETS: JSON.stringify(buckets) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 15 s: ${stderr}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${stderr}`));
    });
  });
  return { child, port };
}

function xmlError(res: ServerResponse, status: number, code: string, message: string, extraHeaders: Record<string, string> = {}): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>proxy</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...extraHeaders });
  res.end(body);
}

/** Starts s3rver (with `buckets` created, default `['test-bucket']`) behind the conditional-write proxy. */
export async function startS3(opts: { buckets?: string[] } = {}): Promise<S3Harness> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'));
  const { child, port: upstreamPort } = await startChild(dir, opts.buckets ?? ['test-bucket']);
  const faults: (S3Fault & { left: number })[] = [];
  const log: S3RequestRecord[] = [];
  // s3rver writes objects in place, so a GET racing a PUT can read half a file, and it ignores
  // conditions. Per key, writes (PUT, DELETE) therefore run alone and reads (GET, HEAD) together,
  // which also makes our "HEAD, compare, write" for conditional PUTs atomic.
  const keyLocks = new Map<string, { readers: number; writing: boolean; waiters: { write: boolean; grant: () => void }[] }>();
  const lockKey = async (path: string, write: boolean): Promise<() => void> => {
    let l = keyLocks.get(path);
    if (!l) keyLocks.set(path, (l = { readers: 0, writing: false, waiters: [] }));
    const lock = l;
    const free = () => !lock.writing && (write ? lock.readers === 0 : true);
    if (!(free() && lock.waiters.length === 0)) await new Promise<void>((grant) => lock.waiters.push({ write, grant }));
    else if (write) lock.writing = true;
    else lock.readers += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (write) lock.writing = false;
      else lock.readers -= 1;
      // Grant in arrival order: one writer, or every reader up to the next writer.
      while (lock.waiters.length > 0 && !lock.writing) {
        const next = lock.waiters[0]!;
        if (next.write && lock.readers > 0) break;
        lock.waiters.shift();
        if (next.write) lock.writing = true;
        else lock.readers += 1;
        next.grant();
      }
      if (!lock.writing && lock.readers === 0 && lock.waiters.length === 0) keyLocks.delete(path);
    };
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer, loseAnswer = false): Promise<number> =>
    new Promise((resolve) => {
      const up = httpRequest(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          if (loseAnswer) {
            upRes.resume();
            upRes.on('end', () => {
              xmlError(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
              resolve(500);
            });
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', () => resolve(upRes.statusCode ?? 502));
          upRes.on('error', () => resolve(502));
          // A client that hangs up mid-body (a stream read stopped early) ends the upstream read too.
          res.on('close', () => {
            if (!upRes.complete) {
              up.destroy();
              resolve(upRes.statusCode ?? 502);
            }
          });
        },
      );
      up.on('error', (e) => {
        if (!res.headersSent) xmlError(res, 502, 'BadGateway', e.message);
        else res.destroy();
        resolve(502);
      });
      if (body) up.end(body);
      else req.pipe(up);
    });

  // The current ETag of `path` on s3rver (undefined when absent), asked without credentials: s3rver
  // treats unsigned requests as anonymous and answers HEAD for them.
  const currentEtag = (path: string): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: 'HEAD', path }, (res) => {
        res.resume();
        if (res.statusCode === 404) resolve(undefined);
        else if (res.statusCode === 200) resolve(String(res.headers.etag));
        else reject(new Error(`HEAD ${path} answered ${res.statusCode}`));
      });
      r.on('error', reject);
      r.end();
    });

  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
    });

  const conditionalPut = async (req: IncomingMessage, res: ServerResponse, path: string, loseAnswer: boolean): Promise<number> => {
    const body = await readBody(req);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const current = await currentEtag(path);
    if (ifNoneMatch !== undefined && current !== undefined) {
      xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { 'x-amz-condition': 'If-None-Match' });
      return 412;
    }
    if (ifMatch !== undefined) {
      // Real S3 answers 404 NoSuchKey when If-Match names an object that does not exist.
      if (current === undefined) {
        xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        return 404;
      }
      if (current !== ifMatch) {
        xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { 'x-amz-condition': 'If-Match' });
        return 412;
      }
    }
    return forward(req, res, body, loseAnswer);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0] ?? '/';
    let decoded = rawUrl;
    try {
      decoded = decodeURIComponent(rawUrl);
    } catch {
      // keep the raw form for matching
    }
    const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method) && (!f.pathIncludes || decoded.includes(f.pathIncludes)));
    if (fault) {
      fault.left -= 1;
      if (fault.kind === 'slowdown') {
        req.resume();
        xmlError(res, 503, 'SlowDown', 'Please reduce your request rate.');
        return 503;
      }
      if (fault.kind === 'internal') {
        req.resume();
        xmlError(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
        return 500;
      }
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return 0;
      }
      if (fault.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms ?? 1000));
    }
    const loseAnswer = fault?.kind === 'lost-answer';
    // `/bucket/key`: an object request (a bucket request such as a list has no key part).
    const isObject = /^\/[^/]+\/./.test(path) && ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method);
    // Multipart part uploads (`?partNumber=&uploadId=`) are not conditional in S3; plain PUTs carry `?x-id=PutObject`.
    const multipart = /[?&](uploadId|partNumber|uploads)(=|&|$)/.test(rawUrl);
    const conditional = method === 'PUT' && !multipart && (req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined);
    if (!isObject || multipart) return forward(req, res, undefined, loseAnswer);
    const release = await lockKey(path, method === 'PUT' || method === 'DELETE');
    res.on('close', release);
    try {
      return conditional ? await conditionalPut(req, res, path, loseAnswer) : await forward(req, res, undefined, loseAnswer);
    } finally {
      release();
    }
  };

  const proxy: Server = createServer((req, res) => {
    handle(req, res).then(
      (status) => log.push({ method: req.method ?? '', path: req.url ?? '', status }),
      (e: unknown) => {
        if (!res.headersSent) xmlError(res, 500, 'InternalError', `proxy: ${(e as Error).message}`);
        log.push({ method: req.method ?? '', path: req.url ?? '', status: 500 });
      },
    );
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const client = createTestS3Client(endpoint);

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    client,
    inject: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    clearFaults: () => void faults.splice(0),
    requests: () => [...log],
    stop: () =>
      (stopped ??= (async () => {
        client.destroy();
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy.close(() => resolve()));
        if (child.exitCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
