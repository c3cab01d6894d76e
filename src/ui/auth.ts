// Dashboard sign-in: the HTTP token buys a signed, expiring session cookie; every POST carries a CSRF token
// bound to that session. Sessions are stateless (HMAC with a key derived from the token), so several agents
// behind one address accept each other's sessions, and changing the token signs everyone out.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'sync_ui';

export type Session = { id: string; expiresAt: number; csrf: string };

export type SignIn =
  | { ok: true; session: Session; cookie: string }
  | { ok: false; reason: 'wrong-token' | 'rate-limited' | 'no-token'; retryAfterSeconds?: number };

export type UiAuthOptions = {
  /** The HTTP token (read on every call, so a reload that changes it applies at once). */
  token: () => string | undefined;
  /** Add `Secure` to the cookie (everywhere but loopback). */
  secure: boolean;
  /** Session lifetime; default 12 h. */
  ttlMs?: number;
  /** Wrong tokens allowed per client address per window before 429; default 5 per 60 s. */
  maxFailures?: number;
  failureWindowMs?: number;
  now?: () => number;
};

export type UiAuth = {
  signIn(attempt: string, client: string): SignIn;
  /** The session a Cookie header carries, if valid, unexpired and not signed out. */
  session(cookieHeader: string | undefined): Session | undefined;
  /** True when `csrf` is the token of `session` (constant time). */
  csrfMatches(session: Session, csrf: string | undefined): boolean;
  /** Ends the session; returns the cookie that clears it in the browser. */
  signOut(session: Session | undefined): string;
  /** A code for a one-time sign-in link (`/ui/sign-in?once=CODE`), valid once for `ttlMs` (default 10 min). */
  oneTimeCode(ttlMs?: number): string;
  /** Signs in with a one-time code, consuming it. */
  redeem(code: string): SignIn;
};

const b64url = (b: Buffer) => b.toString('base64url');
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Parses a Cookie header into name -> value (first occurrence wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (!(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}

/** Creates the sign-in, session and CSRF logic of the dashboard. */
export function createUiAuth(options: UiAuthOptions): UiAuth {
  const ttl = options.ttlMs ?? 12 * 3600_000;
  const maxFailures = options.maxFailures ?? 5;
  const window = options.failureWindowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();
  // Signed-out session ids until they would have expired anyway.
  const revoked = new Map<string, number>();
  const codes = new Map<string, number>();

  const key = (): Buffer | undefined => {
    const t = options.token();
    return t ? createHmac('sha256', t).update('sync-agent dashboard session v1').digest() : undefined;
  };
  const mac = (k: Buffer, text: string) => b64url(createHmac('sha256', k).update(text).digest());
  const csrfOf = (k: Buffer, id: string) => mac(k, `csrf:${id}`);
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${SESSION_COOKIE}=${value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${options.secure ? '; Secure' : ''}`;

  const prune = (t: number) => {
    for (const [id, exp] of revoked) if (exp < t) revoked.delete(id);
    if (failures.size > 10_000) failures.clear();
  };

  const open = (t: number): SignIn => {
    const k = key()!;
    const id = b64url(randomBytes(18));
    const expiresAt = t + ttl;
    const payload = `${id}.${expiresAt}`;
    return { ok: true, session: { id, expiresAt, csrf: csrfOf(k, id) }, cookie: cookie(`${payload}.${mac(k, payload)}`, Math.floor(ttl / 1000)) };
  };

  return {
    oneTimeCode(ttlMs = 10 * 60_000) {
      const code = b64url(randomBytes(24));
      codes.set(code, now() + ttlMs);
      return code;
    },
    redeem(code) {
      const t = now();
      const exp = codes.get(code);
      codes.delete(code);
      if (!options.token()) return { ok: false, reason: 'no-token' };
      if (exp === undefined || exp < t) return { ok: false, reason: 'wrong-token' };
      return open(t);
    },
    signIn(attempt, client) {
      const t = now();
      prune(t);
      const token = options.token();
      if (!token) return { ok: false, reason: 'no-token' };
      const recent = (failures.get(client) ?? []).filter((at) => at > t - window);
      if (recent.length >= maxFailures) {
        failures.set(client, recent);
        return { ok: false, reason: 'rate-limited', retryAfterSeconds: Math.max(1, Math.ceil((recent[0]! + window - t) / 1000)) };
      }
      if (!timingSafeEqual(sha(attempt), sha(token))) {
        recent.push(t);
        failures.set(client, recent);
        return { ok: false, reason: 'wrong-token' };
      }
      failures.delete(client);
      return open(t);
    },
    session(header) {
      const k = key();
      const value = parseCookies(header)[SESSION_COOKIE];
      if (!k || !value) return undefined;
      const m = /^([A-Za-z0-9_-]{10,64})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (!m) return undefined;
      const [, id, exp, sig] = m as unknown as [string, string, string, string];
      const expected = mac(k, `${id}.${exp}`);
      if (!timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) return undefined;
      const expiresAt = Number(exp);
      if (expiresAt <= now() || revoked.has(id)) return undefined;
      return { id, expiresAt, csrf: csrfOf(k, id) };
    },
    csrfMatches(session, csrf) {
      return csrf !== undefined && timingSafeEqual(sha(csrf), sha(session.csrf));
    },
    signOut(session) {
      if (session) revoked.set(session.id, session.expiresAt);
      return cookie('', 0);
    },
  };
}
