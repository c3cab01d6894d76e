// Example sync-agent configuration: the embedded defaults that `sync-agent demo` runs on.
// Nothing here needs an AWS account: a private redis-server, project state and run data in
// ./.sync-agent/ next to this file. Copy it, or run `sync-agent configure`, for a real installation.
//
// Locations are s3://bucket/prefix or file:///absolute/path URLs. `file:./relative` (or file:../)
// is also accepted in a configuration file and is resolved against the folder of this file,
// never against the current directory. Precedence for a value: request -> project -> site -> tenant.
//
// Credentials never live in this file: the Sync API key comes from SYNC_API_KEY_ID/SYNC_API_KEY_SECRET,
// $CREDENTIALS_DIRECTORY/sync-api-key (systemd LoadCredential=) or ~/.sync/credentials (mode 600);
// the HTTP bearer token from SYNC_AGENT_TOKEN, $CREDENTIALS_DIRECTORY/http-token or the same file;
// the Redis password from SYNC_REDIS_PASSWORD or $CREDENTIALS_DIRECTORY/redis-password (Sentinel's:
// SYNC_REDIS_SENTINEL_PASSWORD or $CREDENTIALS_DIRECTORY/redis-sentinel-password).
export default {
  site: {
    // id: 'etl-host-1',                      // default: the host name
    redis: { embedded: true, dir: './.sync-agent/redis' }, // or 'embedded', or { url: 'redis://127.0.0.1:6379' }
    // An existing Redis over TLS (ElastiCache in-transit encryption) as an ACL user:
    // redis: { url: 'rediss://master.my-cache.xxxxxx.use1.cache.amazonaws.com:6379', username: 'sync-agent' },
    //   tls: { ca: './redis-ca.pem', servername: 'redis.internal', rejectUnauthorized: true } for a private CA
    // Through Sentinel (tls/username inside `sentinel` are for the sentinels, beside it for the master):
    // redis: { sentinel: { name: 'mymaster', sentinels: [{ host: '10.0.0.11', port: 26379 }] }, username: 'sync-agent' },
    queues: { prefix: 'sync', concurrency: 4 },
    // sqs: { completionQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/emr-events' },
    aws: {
      // region: 'us-east-1',                 // default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1
      endpoints: {
        // Local servers instead of AWS (the project's own EMR server, s3rver, local-aws-sqs):
        // emr: 'http://127.0.0.1:9100',
        // s3: 'http://127.0.0.1:4568',      // s3ForcePathStyle becomes true when this is set
        // sqs: 'http://127.0.0.1:4576',
      },
    },
    predictions: { backend: 'local' },       // or 'sync-api' (needs the Sync API key)
    http: { enabled: true, port: 8080, host: '127.0.0.1' },
    logLevel: 'info',
  },
  tenant: {
    id: 'local',
    state: 'file:./.sync-agent/state',
    projectLocation: 'file:./.sync-agent/runs',
    // predictionPreference: 'balanced',      // performance | balanced | economy
  },
};
