import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMRServiceException, InternalServerError, InvalidRequestException } from '@aws-sdk/client-emr';
import { NoSuchKey } from '@aws-sdk/client-s3';
import { SyncError } from '../../../src/domain/errors.js';
import { backoffDelay, mapAwsError, scrubAwsMessage, withRetry } from '../../../src/adapters/aws-errors.js';
import { rejection } from '../../support/async.js';


/** An unmodeled service error as the SDK builds it from `__type` and the HTTP status. */
function serviceError(name: string, status: number | undefined, message = `${name} happened`): EMRServiceException {
  return new EMRServiceException({
    name,
    message,
    $fault: status !== undefined && status >= 500 ? 'server' : 'client',
    $metadata: status === undefined ? {} : { httpStatusCode: status, requestId: 'req-1' },
  });
}

function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

const cases: [string, unknown, string, boolean][] = [
  ['ThrottlingException', serviceError('ThrottlingException', 400), 'throttled', true],
  ['TooManyRequestsException', serviceError('TooManyRequestsException', 400), 'throttled', true],
  ['SlowDown 503', serviceError('SlowDown', 503), 'throttled', true],
  ['RequestLimitExceeded', serviceError('RequestLimitExceeded', 400), 'throttled', true],
  ['bare 429', serviceError('Unknown', 429), 'throttled', true],
  ['$retryable throttling', Object.assign(serviceError('Whatever', 400), { $retryable: { throttling: true } }), 'throttled', true],
  ['$retryable (not throttling) on a 400', Object.assign(serviceError('TransientConflict', 400), { $retryable: {} }), 'unavailable', true],
  ['EMR InternalServerError', new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }), 'unavailable', true],
  ['ServiceUnavailable', serviceError('ServiceUnavailable', 503), 'unavailable', true],
  ['bare 502', serviceError('BadGateway', 502), 'unavailable', true],
  ['ECONNREFUSED', netError('ECONNREFUSED'), 'unavailable', true],
  ['ETIMEDOUT', netError('ETIMEDOUT'), 'unavailable', true],
  ['ECONNRESET as TimeoutError', Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }), 'unavailable', true],
  ['AccessDenied', serviceError('AccessDenied', 403), 'access_denied', false],
  ['UnrecognizedClientException', serviceError('UnrecognizedClientException', 400), 'access_denied', false],
  ['InvalidSignatureException', serviceError('InvalidSignatureException', 400), 'access_denied', false],
  ['ExpiredToken', serviceError('ExpiredToken', 400), 'access_denied', false],
  ['bare 403', serviceError('Forbidden', 403), 'access_denied', false],
  ['S3 NoSuchKey', new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }), 'not_found', false],
  ['NotFound (HEAD)', serviceError('NotFound', 404), 'not_found', false],
  ['ResourceNotFoundException', serviceError('ResourceNotFoundException', 400), 'not_found', false],
  ['bare 404', serviceError('Unknown', 404), 'not_found', false],
  ['PreconditionFailed', serviceError('PreconditionFailed', 412), 'conflict', true],
  ['ConditionalRequestConflict', serviceError('ConditionalRequestConflict', 409), 'conflict', true],
  ['bare 412', serviceError('Unknown', 412), 'conflict', true],
  ['ValidationException', serviceError('ValidationException', 400), 'invalid_request', false],
  ['EMR InvalidRequestException', new InvalidRequestException({ message: 'bad', $metadata: { httpStatusCode: 400 } }), 'invalid_request', false],
  ['bare 400', serviceError('Unknown', 400), 'invalid_request', false],
  ['418', serviceError('Teapot', 418), 'remote_error', false],
  ['a string', 'weird', 'remote_error', false],
];

for (const [label, input, code, retryable] of cases) {
  test(`mapAwsError: ${label} -> ${code}`, () => {
    const e = mapAwsError(input, 'EMR DescribeCluster j-1');
    assert.instance(e, SyncError);
    assert.is(e.code, code);
    assert.is(e.retryable, retryable);
    assert.ok(e.message.startsWith('EMR DescribeCluster j-1 failed: '), e.message);
  });
}

test('mapAwsError: keeps the operation, the AWS code and message, and request facts in details', () => {
  const e = mapAwsError(serviceError('ValidationException', 400, 'Value null at name'), 'EMR RunJobFlow');
  assert.is(e.message, 'EMR RunJobFlow failed: ValidationException: Value null at name');
  assert.equal(e.details, { operation: 'EMR RunJobFlow', awsCode: 'ValidationException', httpStatus: 400, requestId: 'req-1' });
});

test('mapAwsError: an abort is "aborted", a SyncError passes through untouched', () => {
  const abort = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
  assert.is(mapAwsError(abort, 'S3 GetObject').code, 'aborted');
  const own = new SyncError('not_ready', 'later');
  assert.is(mapAwsError(own, 'x'), own);
});

test('mapAwsError: never repeats credentials an AWS message echoes', () => {
  const message =
    'The request signature we calculated does not match the signature you provided. Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/aws4_request' +
    '\n\nThe Canonical String for this request should have been\nx-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\nsecretvalue123';
  const e = mapAwsError(serviceError('SignatureDoesNotMatch', 403, message), 'S3 PutObject');
  assert.is(e.code, 'access_denied');
  assert.not.ok(e.message.includes('AKIAIOSFODNN7EXAMPLE'), e.message);
  assert.not.ok(e.message.includes('FQoGZXIvYXdzEXAMPLETOKEN'), e.message);
  assert.not.ok(e.message.includes('secretvalue123'), e.message);
  assert.ok(e.message.includes('does not match the signature'));
  assert.is(scrubAwsMessage('key ASIAABCDEFGHIJKLMNOP used'), 'key [redacted] used');
});

test('backoffDelay: full jitter under 200, 400, 800 ... capped at maxMs', () => {
  const opts = { baseMs: 200, maxMs: 1000, random: () => 0.5 };
  assert.equal([1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts)), [100, 200, 400, 500, 500]);
  assert.is(backoffDelay(3, { ...opts, random: () => 0 }), 0);
});

test('withRetry: retries retryable errors with the backoff and reports each retry', async () => {
  const slept: number[] = [];
  const retried: [string, number, number][] = [];
  let calls = 0;
  const out = await withRetry(
    async (attempt) => {
      calls++;
      assert.is(attempt, calls);
      if (attempt === 1) throw new SyncError('throttled', 'slow down');
      if (attempt === 2) throw new SyncError('unavailable', '503');
      return 'done';
    },
    { random: () => 0.25, sleep: async (ms) => void slept.push(ms), onRetry: (e, a, d) => retried.push([e.code, a, d]) },
  );
  assert.is(out, 'done');
  assert.is(calls, 3);
  assert.equal(slept, [50, 100]);
  assert.equal(retried, [
    ['throttled', 1, 50],
    ['unavailable', 2, 100],
  ]);
});

test('withRetry: gives up after `retries` retries with the last error', async () => {
  let calls = 0;
  const e = await rejection(
    withRetry(
      async () => {
        calls++;
        throw new SyncError('unavailable', `failure ${calls}`);
      },
      { retries: 3, sleep: async () => {} },
    ),
  );
  assert.is(calls, 4);
  assert.is((e as SyncError).message, 'failure 4');
});

test('withRetry: does not retry permanent errors, conflicts, or foreign errors', async () => {
  for (const thrown of [new SyncError('access_denied', 'no'), new SyncError('conflict', 'lost the race'), new TypeError('bug')]) {
    let calls = 0;
    const e = await rejection(
      withRetry(
        async () => {
          calls++;
          throw thrown;
        },
        { sleep: async () => {} },
      ),
    );
    assert.is(e, thrown);
    assert.is(calls, 1);
  }
});

test('withRetry: an abort during the backoff ends at once with "aborted"', async () => {
  const ac = new AbortController();
  let calls = 0;
  const started = Date.now();
  setTimeout(() => ac.abort(), 30);
  const e = await rejection(
    withRetry(
      async () => {
        calls++;
        throw new SyncError('unavailable', 'down');
      },
      { baseMs: 60_000, random: () => 1, signal: ac.signal },
    ),
  );
  assert.is((e as SyncError).code, 'aborted');
  assert.is(calls, 1);
  assert.ok(Date.now() - started < 5_000, 'did not wait out the backoff');
});

test('withRetry: an already aborted signal makes no call; a failure after abort is not retried', async () => {
  const ac = new AbortController();
  ac.abort();
  let calls = 0;
  const e1 = await rejection(withRetry(async () => void calls++, { signal: ac.signal }));
  assert.is((e1 as SyncError).code, 'aborted');
  assert.is(calls, 0);

  const ac2 = new AbortController();
  const e2 = await rejection(
    withRetry(
      async () => {
        calls++;
        ac2.abort();
        throw new SyncError('unavailable', 'socket closed by abort');
      },
      { signal: ac2.signal, sleep: async () => {} },
    ),
  );
  assert.is((e2 as SyncError).code, 'aborted');
  assert.is(calls, 1);
});

test.run();
