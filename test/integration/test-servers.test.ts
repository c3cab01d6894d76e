import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startRedis } from '../support/redis.js';
import type { TestRedis } from '../support/redis.js';
import { startSqs } from '../support/sqs.js';
import type { TestSqs } from '../support/sqs.js';

const connect = (url: string) => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });

const redis = suite('redis harness');
const started: TestRedis[] = [];
redis.after(async () => {
  for (const r of started) await r.stop();
});

redis('starts a private loopback redis-server without persistence and stops it', async () => {
  const r = await startRedis();
  started.push(r);
  assert.not.equal(r.port, 6379);
  assert.is(r.url, `redis://127.0.0.1:${r.port}`);
  const c = connect(r.url);
  try {
    assert.is(await c.set('k', 'v'), 'OK');
    assert.is(await c.get('k'), 'v');
    assert.equal(await c.config('GET', 'save'), ['save', '']);
    assert.equal(await c.config('GET', 'appendonly'), ['appendonly', 'no']);
    assert.equal(await c.config('GET', 'bind'), ['bind', '127.0.0.1']);
  } finally {
    c.disconnect();
  }
  assert.ok(existsSync(r.dir));
  await r.stop();
  await r.stop(); // twice is fine
  assert.not.ok(existsSync(r.dir), 'temp dir removed');
  const dead = connect(r.url);
  dead.on('error', () => {});
  let refused = false;
  try {
    await dead.ping();
  } catch {
    refused = true;
  } finally {
    dead.disconnect();
  }
  assert.ok(refused, 'server is gone after stop');
});

redis('appendonly survives a SIGKILL and restart on the same port; without it data is gone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'redis-aof-test-'));
  try {
    const r = await startRedis({ appendonly: true, dir });
    started.push(r);
    let c = connect(r.url);
    await c.set('durable', '42');
    c.disconnect();
    const port = r.port;
    r.kill('SIGKILL');
    await r.restart();
    assert.is(r.port, port);
    c = connect(r.url);
    assert.is(await c.get('durable'), '42');
    c.disconnect();
    await r.stop();
    assert.ok(existsSync(dir), 'a caller-given dir is kept');

    const volatile = await startRedis();
    started.push(volatile);
    c = connect(volatile.url);
    await c.set('gone', '1');
    c.disconnect();
    await volatile.restart();
    c = connect(volatile.url);
    assert.is(await c.get('gone'), null);
    c.disconnect();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

redis.run();

const sqs = suite('sqs harness');
let s: TestSqs | undefined;
sqs.before(async () => {
  s = await startSqs();
});
sqs.after(async () => {
  await s?.stop();
});

sqs('send, receive and delete with the real SQS client', async () => {
  const { url } = await s!.createQueue('plain');
  assert.ok(url.startsWith(s!.endpoint), url);
  await s!.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"hello":1}' }));
  const got = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
  assert.is(got.Messages?.length, 1);
  assert.is(got.Messages?.[0]?.Body, '{"hello":1}');
  await s!.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: got.Messages![0]!.ReceiptHandle! }));
  const after = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
  assert.is(after.Messages?.length ?? 0, 0);
});

sqs('a message received maxReceiveCount times without delete moves to the DLQ', async () => {
  const q = await s!.createQueue('events', { dlq: { maxReceiveCount: 2 } });
  assert.ok(q.dlqUrl?.endsWith('/events-dlq'), q.dlqUrl);
  await s!.client.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'not json' }));
  for (let i = 1; i <= 2; i++) {
    // VisibilityTimeout 0: the message is visible again at once, as if the consumer had given up.
    // local-aws-sqs reads only the older `AttributeNames` (typed as queue attributes, so 'All').
    const r = await s!.client.send(
      new ReceiveMessageCommand({
        QueueUrl: q.url,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        AttributeNames: ['All'],
      }),
    );
    assert.is(r.Messages?.length, 1, `receive ${i}`);
    assert.is(r.Messages?.[0]?.Attributes?.ApproximateReceiveCount, String(i));
  }
  const third = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: q.url, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
  assert.is(third.Messages?.length ?? 0, 0, 'gone from the source queue');
  const dead = await s!.client.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl!, WaitTimeSeconds: 1 }));
  assert.is(dead.Messages?.length, 1);
  assert.is(dead.Messages?.[0]?.Body, 'not json');
});

sqs.run();
