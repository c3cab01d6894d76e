import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../domain/errors.js';
import type { Credentials } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where loadCredentials looks; `credentialsDirectory` defaults to $CREDENTIALS_DIRECTORY (systemd LoadCredential=). */
export type LoadCredentialsOptions = { env: Env; home: string; credentialsDirectory?: string };

type UserFile = { apiKeyId?: string; apiKeySecret?: string; httpToken?: string; redisPassword?: string; redisSentinelPassword?: string; databricksToken?: string; path: string };

/**
 * Reads the agent's secrets, first match wins for each:
 * API key: SYNC_API_KEY_ID/SYNC_API_KEY_SECRET, $CREDENTIALS_DIRECTORY/sync-api-key, ~/.sync/credentials;
 * HTTP token: SYNC_AGENT_TOKEN, $CREDENTIALS_DIRECTORY/http-token, `http_token` in ~/.sync/credentials;
 * Redis password: SYNC_REDIS_PASSWORD, $CREDENTIALS_DIRECTORY/redis-password, `redis_password` in ~/.sync/credentials;
 * Databricks: DATABRICKS_TOKEN, $CREDENTIALS_DIRECTORY/databricks-token, `databricks_token` in ~/.sync/credentials;
 * and OAuth M2M from DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET.
 * Sentinel password: SYNC_REDIS_SENTINEL_PASSWORD, $CREDENTIALS_DIRECTORY/redis-sentinel-password, `redis_sentinel_password` there.
 * ~/.sync/credentials is refused (access_denied) when group or others have any access to it.
 * Error messages name files and variables, never values.
 */
export async function loadCredentials(options: LoadCredentialsOptions): Promise<Credentials> {
  const env = options.env;
  const dir = options.credentialsDirectory ?? (env.CREDENTIALS_DIRECTORY || undefined);
  const userPath = join(options.home, '.sync', 'credentials');
  let user: UserFile | null | undefined;
  const userFile = async () => (user === undefined ? (user = await readUserFile(userPath)) : user);
  const out: Credentials = { sources: [] };

  const id = env.SYNC_API_KEY_ID || undefined;
  const secret = env.SYNC_API_KEY_SECRET || undefined;
  if (id !== undefined || secret !== undefined) {
    if (id === undefined || secret === undefined) {
      throw new SyncError('invalid_config', `${id === undefined ? 'SYNC_API_KEY_SECRET' : 'SYNC_API_KEY_ID'} is set but ${id === undefined ? 'SYNC_API_KEY_ID' : 'SYNC_API_KEY_SECRET'} is not: set both or neither`);
    }
    Object.assign(out, { apiKeyId: id, apiKeySecret: secret });
    out.sources.push('api key: environment SYNC_API_KEY_ID/SYNC_API_KEY_SECRET');
  } else {
    const fromDir = dir === undefined ? undefined : await readApiKeyFile(join(dir, 'sync-api-key'));
    if (fromDir) {
      Object.assign(out, fromDir);
      out.sources.push(`api key: ${join(dir ?? '', 'sync-api-key')}`);
    } else {
      const u = await userFile();
      if (u?.apiKeyId !== undefined && u.apiKeySecret !== undefined) {
        Object.assign(out, { apiKeyId: u.apiKeyId, apiKeySecret: u.apiKeySecret });
        out.sources.push(`api key: ${u.path}`);
      }
    }
  }

  for (const [field, variable, fileName, label] of [
    ['httpToken', 'SYNC_AGENT_TOKEN', 'http-token', 'http token'],
    ['redisPassword', 'SYNC_REDIS_PASSWORD', 'redis-password', 'redis password'],
    ['databricksToken', 'DATABRICKS_TOKEN', 'databricks-token', 'databricks token'],
    ['redisSentinelPassword', 'SYNC_REDIS_SENTINEL_PASSWORD', 'redis-sentinel-password', 'redis sentinel password'],
  ] as const) {
    const fromEnv = env[variable] || undefined;
    if (fromEnv !== undefined) {
      out[field] = fromEnv;
      out.sources.push(`${label}: environment ${variable}`);
      continue;
    }
    const fromDir = dir === undefined ? undefined : await readSecretFile(join(dir, fileName));
    if (fromDir !== undefined) {
      out[field] = fromDir;
      out.sources.push(`${label}: ${join(dir ?? '', fileName)}`);
      continue;
    }
    const u = await userFile();
    const fromUser = u?.[field];
    if (fromUser !== undefined) {
      out[field] = fromUser;
      out.sources.push(`${label}: ${u?.path ?? userPath}`);
    }
  }
  const clientId = env.DATABRICKS_CLIENT_ID || undefined;
  const clientSecret = env.DATABRICKS_CLIENT_SECRET || undefined;
  if (clientId !== undefined || clientSecret !== undefined) {
    if (clientId === undefined || clientSecret === undefined) {
      throw new SyncError('invalid_config', `${clientId === undefined ? 'DATABRICKS_CLIENT_SECRET' : 'DATABRICKS_CLIENT_ID'} is set but ${clientId === undefined ? 'DATABRICKS_CLIENT_ID' : 'DATABRICKS_CLIENT_SECRET'} is not: set both or neither`);
    }
    Object.assign(out, { databricksClientId: clientId, databricksClientSecret: clientSecret });
    out.sources.push('databricks oauth: environment DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET');
  }
  return out;
}

/** The secret strings in `c`, for the logger's mask list (key id included: it is not for logs either). */
export function secretValues(c: Credentials): string[] {
  return [c.apiKeyId, c.apiKeySecret, c.httpToken, c.redisPassword, c.redisSentinelPassword, c.databricksToken, c.databricksClientId, c.databricksClientSecret].filter((v): v is string => typeof v === 'string' && v !== '');
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    throw new SyncError(code === 'EACCES' || code === 'EPERM' ? 'access_denied' : 'invalid_config', `could not read the credentials file ${path} (${code ?? 'error'})`, { cause: e });
  }
}

// JSON.parse messages quote the text around the error, which here is a secret: report the file only.
function parseObject(text: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyncError('invalid_config', `the credentials file ${path} is not valid JSON (expected {"api_key_id": "...", "api_key_secret": "..."})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SyncError('invalid_config', `the credentials file ${path} must hold a JSON object`);
  return value as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new SyncError('invalid_config', `${key} in the credentials file ${path} must be a non-empty string`);
  return v;
}

function apiKeyOf(o: Record<string, unknown>, path: string): { apiKeyId: string; apiKeySecret: string } | undefined {
  const apiKeyId = optionalString(o, 'api_key_id', path);
  const apiKeySecret = optionalString(o, 'api_key_secret', path);
  if ((apiKeyId === undefined) !== (apiKeySecret === undefined)) {
    throw new SyncError('invalid_config', `the credentials file ${path} has ${apiKeyId === undefined ? 'api_key_secret' : 'api_key_id'} but not ${apiKeyId === undefined ? 'api_key_id' : 'api_key_secret'}`);
  }
  return apiKeyId !== undefined && apiKeySecret !== undefined ? { apiKeyId, apiKeySecret } : undefined;
}

async function readApiKeyFile(path: string): Promise<{ apiKeyId: string; apiKeySecret: string } | undefined> {
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  const key = apiKeyOf(parseObject(text, path), path);
  if (!key) throw new SyncError('invalid_config', `the credentials file ${path} must hold {"api_key_id": "...", "api_key_secret": "..."}`);
  return key;
}

async function readSecretFile(path: string): Promise<string | undefined> {
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') throw new SyncError('invalid_config', `the credentials file ${path} is empty`);
  return trimmed;
}

async function readUserFile(path: string): Promise<UserFile | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null;
    throw new SyncError('access_denied', `could not inspect the credentials file ${path} (${(e as { code?: string }).code ?? 'error'})`, { cause: e });
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new SyncError('access_denied', `refusing to read ${path}: it is accessible by group or others (mode ${octal}); run \`chmod 600 ${path}\``, {
      details: { path, mode: octal },
    });
  }
  const text = await readOptional(path);
  if (text === undefined) return null;
  const o = parseObject(text, path);
  const out: UserFile = { path, ...apiKeyOf(o, path) };
  const httpToken = optionalString(o, 'http_token', path);
  if (httpToken !== undefined) out.httpToken = httpToken;
  const redisPassword = optionalString(o, 'redis_password', path);
  if (redisPassword !== undefined) out.redisPassword = redisPassword;
  const databricksToken = optionalString(o, 'databricks_token', path);
  if (databricksToken !== undefined) out.databricksToken = databricksToken;
  const redisSentinelPassword = optionalString(o, 'redis_sentinel_password', path);
  if (redisSentinelPassword !== undefined) out.redisSentinelPassword = redisSentinelPassword;
  return out;
}
