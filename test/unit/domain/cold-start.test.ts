// Issue 13 part 6: cold start from the declared input size and type, marked as a guess; the table is overridable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COLD_START_TABLE, coldStartConfiguration } from '../../../src/domain/cold-start.js';
import { thrownSyncError as errorOf } from '../../support/async.js';

const GiB = 1024 ** 3;

test('the documented table: rows by input band and type, marked as a guess with spark-defaults', () => {
  const small = coldStartConfiguration({ inputBytes: 5 * GiB, type: 'sql' });
  assert.equal([small.instanceType, small.nodes, small.guess], ['m5.xlarge', 2, true]);
  assert.is(small.sparkProperties['spark.sql.shuffle.partitions'], '64');
  assert.match(small.explanation, /a guess from the declared input \(5 GiB, sql\)/);
  assert.equal([coldStartConfiguration({ inputBytes: 100 * GiB, type: 'python' }).instanceType, coldStartConfiguration({ inputBytes: 101 * GiB, type: 'python' }).instanceType], ['r5.2xlarge', 'r5.4xlarge']);
  assert.is(coldStartConfiguration({ inputBytes: 50 * 1024 * GiB, type: 'ml' }).nodes, 20);
  assert.is(COLD_START_TABLE.length, 12);
});

test('an overriding table wins; bad declarations are named', () => {
  const mine = [{ maxInputBytes: Infinity, type: 'sql' as const, instanceType: 'c6i.2xlarge', nodes: 3, executorCores: 8, executorMemoryMb: 12000, shufflePartitions: 96 }];
  assert.is(coldStartConfiguration({ inputBytes: 5 * GiB, type: 'sql' }, mine).instanceType, 'c6i.2xlarge');
  assert.match(errorOf(() => coldStartConfiguration({ inputBytes: -1, type: 'sql' })).message, /declared input size/);
  assert.match(errorOf(() => coldStartConfiguration({ inputBytes: 1, type: 'graph' as 'sql' })).message, /job type must be one of sql, python, ml/);
  assert.match(errorOf(() => coldStartConfiguration({ inputBytes: 1, type: 'ml' }, mine)).message, /no row for job type 'ml'/);
});

test.run();
