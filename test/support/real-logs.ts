// The real Spark event logs in test/fixtures/eventlogs (provenance in its PROVENANCE.md) that the prediction
// tests and the prediction bench read: one list, so a log added there is measured and tested alike.
export const REAL_LOGS = [
  'rapids-tools/attempt_1_eventlog.zstd',
  'rapids-tools/eventlog_4nodes_8cores_dynamic_alloc.zstd',
  'rapids-tools/rp_sql_eventlog.zstd',
  'rapids-tools/aqeshuffle_eventlog.zstd',
  'rapids-tools/db_sim_eventlog',
  'apache-spark/application_1538416563558_0014',
  'apache-spark/application_1506645932520_24630151',
  'apache-spark/app-20161115172038-0000',
  'apache-spark/local-1422981780767',
  'dr-elephant/event_log_1',
] as const;
