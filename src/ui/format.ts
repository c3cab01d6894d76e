// Numbers, times and text as people read them on the dashboard. Pure; no I/O.

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** US dollars: `$1.28`, `$1,234`, `<$0.01`, `—` when unknown. */
export function money(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return '—';
  const sign = usd < 0 ? '-' : '';
  const a = Math.abs(usd);
  if (a > 0 && a < 0.01) return `${sign}<$0.01`;
  if (a >= 1000) return `${sign}$${Math.round(a).toLocaleString('en-US')}`;
  return `${sign}$${a.toFixed(2)}`;
}

/** A duration: `0.8 s`, `45 s`, `1 min 57 s`, `2 h 3 min`, `—` when unknown. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toString()} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = s % 60;
    return r === 0 ? `${m} min` : `${m} min ${r} s`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A change as a signed percentage: `-32%`, `+6%`, `0%`; a fraction in, so -0.32 -> `-32%`. */
export function percent(fraction: number | undefined, digits = 0): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return '—';
  const v = fraction * 100;
  const text = Math.abs(v).toFixed(Math.abs(v) < 1 && v !== 0 ? Math.max(digits, 1) : digits);
  if (Number(text) === 0) return '0%';
  return `${v < 0 ? '-' : '+'}${text}%`;
}

/**
 * A point in time as `<time>`: the text is UTC (readable without JavaScript), the title says UTC, and the
 * page's script rewrites the text into the viewer's own zone.
 */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return esc(iso);
  const utc = `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${esc(d.toISOString())}" title="${esc(utc)}">${esc(utc)}</time>`;
}

/** Shortens an id for a table cell, keeping the full one in a title. */
export function shortId(id: string | undefined, keep = 10): string {
  if (!id) return '—';
  return id.length <= keep ? esc(id) : `<span title="${esc(id)}">${esc(id.slice(0, keep))}…</span>`;
}
