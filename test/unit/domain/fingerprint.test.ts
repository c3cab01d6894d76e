import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fingerprintOf, referencedObjects } from '../../../src/domain/fingerprint.js';
import { applicationFingerprint, FINGERPRINT_HEAD_TIMEOUT_MS } from '../../../src/handlers/fingerprint.js';
import { createMemoryObjectStore } from '../../support/memory-object-store.js';
import type { ObjectStore } from '../../../src/domain/ports.js';

const jobFlow = (script: string, args: string[] = []) => ({
  Steps: [
    { Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', '--py-files=s3a://code/lib.zip,s3://code/util.zip', script, ...args] } },
    { Name: 'copy', HadoopJarStep: { Jar: 's3://code/tool.jar', Args: [] } },
  ],
});

test('referencedObjects: jars and arguments, comma lists, s3a as s3, once each, in order', () => {
  assert.equal(referencedObjects(jobFlow('s3://code/etl.py', ['s3://code/etl.py'])), ['s3://code/lib.zip', 's3://code/util.zip', 's3://code/etl.py', 's3://code/tool.jar']);
  assert.equal(referencedObjects(undefined), []);
  assert.equal(referencedObjects({ Steps: 'nonsense' }), []);
});

test('fingerprintOf changes with a step argument or an ETag, not with anything else', () => {
  const etags = { 's3://code/etl.py': '"a"', 's3://code/lib.zip': '"b"', 's3://code/util.zip': '"c"', 's3://code/tool.jar': '"d"' };
  const base = fingerprintOf(jobFlow('s3://code/etl.py'), etags);
  assert.match(base, /^sha256:[0-9a-f]{32}$/);
  assert.is(fingerprintOf({ ...jobFlow('s3://code/etl.py'), Instances: { InstanceCount: 99 } }, etags), base, 'the cluster size is not the application');
  assert.is.not(fingerprintOf(jobFlow('s3://code/etl.py', ['--date', 'x']), etags), base);
  assert.is.not(fingerprintOf(jobFlow('s3://code/etl.py'), { ...etags, 's3://code/etl.py': '"a2"' }), base);
});

test('applicationFingerprint reads ETags through the object store; a hung read leaves it unknown within the bound', async () => {
  const store = createMemoryObjectStore();
  await store.put('s3://code/etl.py', 'print(1)');
  const fast = await applicationFingerprint(store, { Steps: [{ Name: 's', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['s3://code/etl.py'] } }] });
  await store.put('s3://code/etl.py', 'print(2)');
  const changed = await applicationFingerprint(store, { Steps: [{ Name: 's', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['s3://code/etl.py'] } }] });
  assert.match(fast.value ?? '', /^sha256:/);
  assert.match(changed.value ?? '', /^sha256:/);
  assert.is.not(changed.value, fast.value, 'new code, new fingerprint');

  const hung: ObjectStore = {
    ...store,
    head: (_url, options) =>
      new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
  };
  // AbortSignal.timeout does not keep the event loop alive on its own (a daemon has other handles).
  const keepAlive = setInterval(() => {}, 1_000);
  const started = Date.now();
  const fp = await applicationFingerprint(hung, { Steps: [{ Name: 's', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['s3://code/etl.py'] } }] });
  const took = Date.now() - started;
  clearInterval(keepAlive);
  assert.is(fp.value, undefined, 'unreadable is unknown, not a fingerprint of its own');
  assert.match(fp.warning ?? '', /could not read s3:\/\/code\/etl\.py \(no answer within 3000 ms\)/);
  assert.ok(took >= FINGERPRINT_HEAD_TIMEOUT_MS - 50 && took < FINGERPRINT_HEAD_TIMEOUT_MS + 1_000, `took ${took} ms`);
});

test.run();
