// The dashboard's pages as server-rendered HTML: readable without JavaScript, real headings, labels and
// table headers, and forms (POST + CSRF token) for every action.
import { describeExploration, explorationSummary } from '../domain/tuning-policy.js';
import type { IterationRecord, Prediction, ProjectState, Run } from '../domain/types.js';
import { bytes as formatBytes } from '../cli/commands/analyze.js';
import { candidateScatter, costSplitText, runChart, type ChartRun, type ScatterPoint } from './charts.js';
import { duration, esc, money, percent, shortId, when } from './format.js';
import { clusterLink, decisionsByRun, describeJobFlow, describeRun, runFigures, type ProjectRow } from './model.js';

/** How many runs the project chart draws at most (the latest). */
const CHART_RUNS = 200;

export type PageContext = { csrf?: string; title: string; nav?: 'projects' | 'queue'; notice?: string };

/** The page frame: header with navigation and sign-out, the notice of the last action, the body. */
export function layout(ctx: PageContext, body: string): string {
  const nav = ctx.csrf
    ? `<nav aria-label="Main"><a href="/ui/"${ctx.nav === 'projects' ? ' aria-current="page"' : ''}>Projects</a><a href="/ui/queue"${ctx.nav === 'queue' ? ' aria-current="page"' : ''}>Queue</a>
<form method="post" action="/ui/sign-out" class="inline"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button type="submit" class="link">Sign out</button></form></nav>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(ctx.title)} · sync-agent</title><link rel="stylesheet" href="/ui/assets/app.css"><script src="/ui/assets/app.js" defer></script></head>
<body><header class="top"><a class="brand" href="/ui/">sync-agent</a>${nav}</header>
<main id="main">${ctx.notice ? `<p class="notice" role="status">${esc(ctx.notice)}</p>` : ''}${body}</main></body></html>`;
}

/** The sign-in page: one password field for the HTTP token. */
export function signInPage(message?: string): string {
  return layout(
    { title: 'Sign in' },
    `<h1>Sign in</h1>${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/ui/sign-in" class="card signin">
<label for="token">HTTP token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<p class="hint">The same token the API takes as <code>Authorization: Bearer</code> (<code>SYNC_AGENT_TOKEN</code> or the <code>http-token</code> credential).</p>
<button type="submit">Sign in</button></form>`,
  );
}

const statusClass = (s: string) => (s.startsWith('failed') || s.includes('regressed') ? 'bad' : s === 'recorded' ? 'good' : 'neutral');

function savingCell(row: ProjectRow): string {
  const s = row.saving;
  if (!s) return '<td data-label="Cost change">—</td><td data-label="Saving">—</td>';
  const cls = s.change < 0 ? 'good' : s.change > 0 ? 'bad' : '';
  const month = s.perMonthUsd !== undefined ? `${money(s.perMonthUsd)} a month` : 'no steady cadence yet';
  return `<td class="num ${cls}" data-label="Cost change">${esc(percent(s.change))}</td><td class="num" data-label="Saving">${esc(money(s.perRunUsd))} a run<br><span class="sub">${esc(month)}</span></td>`;
}

/** Every project with its configuration, last run, saving and warnings. */
export function projectsPage(rows: readonly ProjectRow[], ctx: PageContext): string {
  const body =
    rows.length === 0
      ? '<p class="empty">No projects yet. Send <code>project.create</code> (CLI, HTTP, BullMQ or the Redis inbox) to start.</p>'
      : `<div class="table-wrap"><table class="cards"><caption>Projects and what tuning saved (last run against the first)</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Platform</th><th scope="col">Mode</th><th scope="col">Preference</th><th scope="col">Configuration</th><th scope="col">Last run</th><th scope="col">Runtime</th><th scope="col">Cost</th><th scope="col">Cost change</th><th scope="col">Saving</th><th scope="col">Warnings</th></tr></thead><tbody>
${rows
  .map(
    (r) => `<tr><th scope="row"><a href="/ui/projects/${encodeURIComponent(r.id)}">${esc(r.name)}</a><br><span class="sub">${esc(r.id)}</span></th><td data-label="Platform">${esc(r.platform)}</td><td data-label="Mode">${esc(r.mode)}</td><td data-label="Preference">${esc(r.preference)}</td><td data-label="Configuration">${esc(r.configuration)}</td>
<td data-label="Last run">${r.lastRun ? `<span class="status ${statusClass(r.lastRun.status)}">${esc(r.lastRun.status)}</span><br><span class="sub">${when(r.lastRun.at)}</span>` : '—'}</td>
<td class="num" data-label="Runtime">${esc(duration(r.lastRun?.runtimeSeconds))}</td><td class="num" data-label="Cost">${esc(money(r.lastRun?.costUsd))}</td>${savingCell(r)}
<td data-label="Warnings">${r.warnings.length > 0 ? `<ul class="warnings">${r.warnings.slice(0, 3).map((w) => `<li>${esc(w)}</li>`).join('')}${r.warnings.length > 3 ? `<li>and ${r.warnings.length - 3} more</li>` : ''}</ul>` : '<span class="sub">none</span>'}</td></tr>`,
  )
  .join('\n')}
</tbody></table></div>`;
  return layout({ ...ctx, nav: 'projects' }, `<h1>Projects</h1>${body}`);
}

export type ProjectView = {
  state: ProjectState;
  row: ProjectRow;
  region: string;
  databricksHost?: string;
  prediction?: Prediction;
  page: number;
  pageSize: number;
  /** All the project's runs, archived ones included (state.runs may hold only some of the archived ones). */
  totalRuns?: number;
  /** The runs the chart draws (the document's recent runs); default state.runs. */
  chartRuns?: Run[];
  /** A per-render nonce: the idempotency key of each action form, so a double submit acts once. */
  nonce: string;
};

function actionForm(projectId: string, action: string, ctx: PageContext, nonce: string, label: string, fields = ''): string {
  return `<form method="post" action="/ui/projects/${encodeURIComponent(projectId)}/${action}" class="action"><input type="hidden" name="csrf" value="${esc(ctx.csrf ?? '')}"><input type="hidden" name="nonce" value="${esc(nonce)}">${fields}<button type="submit">${esc(label)}</button></form>`;
}

function chartRuns(state: ProjectState): ChartRun[] {
  const decisions = decisionsByRun(state);
  return state.runs
    .filter((r) => r.status === 'recorded' || r.status === 'failed')
    .map((r) => {
      const f = runFigures(r);
      const d = decisions.get(r.id);
      const mark: ChartRun['mark'] = r.status === 'failed' ? 'failed' : d?.decision === 'rolled-back' ? 'rolled-back' : r.predictionId ? 'applied' : undefined;
      return {
        label: r.id,
        at: r.startedAt ?? r.createdAt,
        ...f,
        ...(r.expected ? { predicted: r.expected } : {}),
        ...(mark ? { mark } : {}),
        ...(r.costBreakdown ? { costSplit: r.costBreakdown } : {}),
      };
    });
}

/**
 * The run's cluster, linked to the console when it can be: EMR's cluster id; on Databricks the job cluster
 * (`databricksClusterId`), else the Databricks run id (`clusterId`, the run's handle) without a link.
 */
function clusterCell(r: Run, platform: string, region: string, databricksHost: string | undefined): string {
  const id = platform === 'databricks' ? (r.databricksClusterId ?? r.clusterId) : r.clusterId;
  if (!id) return '—';
  const link = platform === 'databricks' && r.databricksClusterId === undefined ? undefined : clusterLink(platform, id, region, databricksHost);
  const text = platform === 'databricks' && r.databricksClusterId === undefined ? `run ${id}` : id;
  return link ? `<a href="${esc(link)}" rel="noopener noreferrer" target="_blank">${esc(text)}</a>` : esc(text);
}

function runRow(r: Run, v: ProjectView, decisions: Map<string, IterationRecord>): string {
  const f = runFigures(r);
  const d = decisions.get(r.id);
  const cluster = clusterCell(r, v.state.project.platform, v.region, v.databricksHost);
  const err = r.expected && f.runtimeSeconds !== undefined ? (f.runtimeSeconds - r.expected.runtimeSeconds) / r.expected.runtimeSeconds : undefined;
  const logs = [
    r.eventLogUrl ? `<a href="/ui/projects/${encodeURIComponent(r.projectId)}/runs/${encodeURIComponent(r.id)}#eventlog">event log</a>` : '',
    r.reportUrl ? `<span class="sub" title="${esc(r.reportUrl)}">report</span>` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return `<tr><th scope="row"><a href="/ui/projects/${encodeURIComponent(r.projectId)}/runs/${encodeURIComponent(r.id)}">${shortId(r.id, 14)}</a><br><span class="sub">${when(r.startedAt ?? r.createdAt)}</span></th>
<td data-label="Cluster">${cluster}</td><td data-label="Configuration">${esc(describeRun(r) ?? '—')}</td><td data-label="Status"><span class="status ${statusClass(r.status + (r.regressed ? ' regressed' : ''))}">${esc(r.status)}${r.regressed ? ' (regressed)' : ''}</span></td>
<td class="num" data-label="Runtime">${esc(duration(f.runtimeSeconds))}</td><td class="num" data-label="Cost">${esc(money(f.costUsd))}${r.costBreakdown ? `<br><span class="sub">${esc(costSplitText(r.costBreakdown))}</span>` : ''}</td>
<td class="num" data-label="Predicted">${r.expected ? `${esc(duration(r.expected.runtimeSeconds))}<br><span class="sub">${esc(money(r.expected.costUsd))}${err !== undefined ? `, off by ${esc(percent(err))}` : ''}</span>` : '—'}</td>
<td data-label="Decision">${d ? `<strong>${esc(d.decision)}</strong>: ${esc(d.reason)}` : r.predictionId ? `applied ${shortId(r.predictionId)} (${esc(r.preference ?? '?')})` : '—'}</td><td data-label="Logs">${logs || '—'}</td></tr>`;
}

/** The prediction's candidates with the picks and the current configuration marked. */
export function scatterPoints(p: Prediction): ScatterPoint[] {
  const points: ScatterPoint[] = (p.points ?? []).map((q) => ({ label: q.label, runtimeSeconds: q.runtimeSeconds, costUsd: q.costUsd }));
  points.push({ label: 'current configuration', runtimeSeconds: p.basis.runtimeSeconds, costUsd: p.basis.costUsd, role: 'current' });
  for (const pref of ['performance', 'balanced', 'economy'] as const) {
    const s = p.solutions[pref];
    if (s) points.push({ label: describeJobFlow(s.configuration) ?? pref, runtimeSeconds: s.estimate.runtimeSeconds, costUsd: s.estimate.costUsd, role: pref });
  }
  return points;
}

/** Each recommendation's evidence in words (cluster shape first, then each Spark setting), and the settings left as they were. */
function evidenceList(pred: Prediction): string {
  const items = (['performance', 'balanced', 'economy'] as const)
    .map((pref) => {
      const sol = pred.solutions[pref];
      const lines = sol ? (sol.evidence ?? (sol.settings ?? []).map((x) => `${x.key}=${x.value}: ${x.evidence}`)) : [];
      return lines.length > 0 ? `<h4>${pref}</h4><ul aria-label="Evidence for ${pref}">${lines.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : '';
    })
    .join('');
  const unchanged = (pred.unchangedSettings ?? []).map((x) => `<li>${esc(`${x.key} ${x.value === '(unset)' ? 'left unset' : `left at ${x.value}`}: ${x.evidence}`)}</li>`).join('');
  if (!items && !unchanged) return '';
  return `<div class="evidence"><h3>Evidence</h3>${items}${unchanged ? `<h4>Spark settings left as they are</h4><ul aria-label="Settings left as they are">${unchanged}</ul>` : ''}</div>`;
}

/** One project: chart, runs, the latest prediction, policy and actions. */
export function projectPage(v: ProjectView, ctx: PageContext): string {
  const { state, row } = v;
  const p = state.project;
  const runs = [...state.runs].reverse();
  const total = Math.max(v.totalRuns ?? 0, runs.length);
  const pages = Math.max(1, Math.ceil(total / v.pageSize));
  const page = Math.min(Math.max(1, v.page), pages);
  const shown = runs.slice((page - 1) * v.pageSize, page * v.pageSize);
  const policy = p.policy ?? {};
  const pred = v.prediction;
  const decisions = decisionsByRun(state);
  const charted = chartRuns(v.chartRuns ? { ...state, runs: v.chartRuns } : state);
  const pager =
    pages > 1
      ? `<nav class="pager" aria-label="Run pages">${page > 1 ? `<a href="?page=${page - 1}">Newer runs</a>` : ''}<span>Page ${page} of ${pages}</span>${page < pages ? `<a href="?page=${page + 1}">Older runs</a>` : ''}</nav>`
      : '';
  const s = row.saving;
  const summary = `<dl class="facts">
<div><dt>Platform</dt><dd>${esc(p.platform)}</dd></div><div><dt>Mode</dt><dd>${esc(row.mode)}</dd></div><div><dt>Preference</dt><dd>${esc(row.preference)}</dd></div>
<div><dt>Configuration</dt><dd>${esc(row.configuration)}</dd></div><div><dt>Runs</dt><dd>${total}</dd></div>
<div><dt>Cost change</dt><dd>${s ? `${esc(percent(s.change))} (${esc(money(s.firstCostUsd))} → ${esc(money(s.lastCostUsd))})` : '—'}</dd></div>
<div><dt>Saving</dt><dd>${s ? `${esc(money(s.perRunUsd))} a run${s.perMonthUsd !== undefined ? `, ${esc(money(s.perMonthUsd))} a month at one run every ${esc(duration(s.cadenceSeconds))}` : ''}` : '—'}</dd></div></dl>`;
  const warnings = row.warnings.length > 0 ? `<section aria-labelledby="w"><h2 id="w">Warnings</h2><ul class="warnings">${row.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : '';
  const solutions = pred
    ? `<div class="table-wrap"><table class="cards"><caption>Prediction ${esc(pred.predictionId)} ${pred.coldStart ? 'a cold-start GUESS from the declared input' : `from run ${esc(pred.basisRunId)}`}, ${when(pred.createdAt)}${pred.candidates ? `, ${pred.candidates} candidates` : ''}</caption>
<thead><tr><th scope="col">Preference</th><th scope="col">Configuration</th><th scope="col">Runtime</th><th scope="col">Cost</th><th scope="col">Against current</th><th scope="col">Why</th></tr></thead><tbody>
${pred.coldStart ? `<tr><th scope="row">current</th><td data-label="Configuration">${esc(row.configuration)}</td><td class="num" data-label="Runtime">—</td><td class="num" data-label="Cost">—</td><td data-label="Against current">—</td><td data-label="Why">no run with an event log yet</td></tr>` : `<tr><th scope="row">current</th><td data-label="Configuration">${esc(row.configuration)}</td><td class="num" data-label="Runtime">${esc(duration(pred.basis.runtimeSeconds))}</td><td class="num" data-label="Cost">${esc(money(pred.basis.costUsd))}</td><td data-label="Against current">—</td><td data-label="Why">the run the prediction is based on</td></tr>`}
${(['performance', 'balanced', 'economy'] as const)
  .map((pref) => {
    const sol = pred.solutions[pref];
    if (!sol) return '';
    const dc = pred.basis.costUsd > 0 ? (sol.estimate.costUsd - pred.basis.costUsd) / pred.basis.costUsd : undefined;
    const dr = pred.basis.runtimeSeconds > 0 ? (sol.estimate.runtimeSeconds - pred.basis.runtimeSeconds) / pred.basis.runtimeSeconds : undefined;
    if (sol.guess) return `<tr><th scope="row">${pref}</th><td data-label="Configuration">${esc(describeJobFlow(sol.configuration) ?? '—')}</td><td class="num" data-label="Runtime">guess</td><td class="num" data-label="Cost">guess</td><td data-label="Against current">no estimate (cold start)</td><td data-label="Why" class="why">${esc(sol.explanation)}</td></tr>`;
    return `<tr><th scope="row">${pref}</th><td data-label="Configuration">${esc(describeJobFlow(sol.configuration) ?? '—')}</td><td class="num" data-label="Runtime">${esc(duration(sol.estimate.runtimeSeconds))}</td><td class="num" data-label="Cost">${esc(money(sol.estimate.costUsd))}</td><td data-label="Against current">runtime ${esc(percent(dr))}, cost ${esc(percent(dc))}</td><td data-label="Why" class="why">${esc(sol.explanation)}</td></tr>`;
  })
  .join('')}
</tbody></table></div>${evidenceList(pred)}${candidateScatter(scatterPoints(pred))}${(pred.warnings ?? []).length > 0 ? `<ul class="warnings">${pred.warnings!.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}`
    : '<p class="empty">No prediction yet: one is made from the latest recorded run (use “Create a prediction now”).</p>';
  const actions = `<section aria-labelledby="a"><h2 id="a">Actions</h2><p class="hint">Each action is sent as an ordinary request (with an idempotency key), so it shows in the results stream like any client's.</p><div class="actions">
${pred ? actionForm(p.id, 'apply', ctx, v.nonce, 'Apply the latest prediction', `<label for="pref">Preference</label><select id="pref" name="preference">${(['balanced', 'performance', 'economy'] as const).map((x) => `<option value="${x}"${x === row.preference ? ' selected' : ''}>${x}</option>`).join('')}</select><input type="hidden" name="predictionId" value="${esc(pred.predictionId)}">`) : ''}
${actionForm(p.id, 'predict', ctx, v.nonce, 'Create a prediction now')}
${actionForm(p.id, 'mode', ctx, v.nonce, 'Switch mode', `<label for="mode">Mode</label><select id="mode" name="mode">${['track', 'recommend', 'auto'].map((m) => `<option value="${m}"${m === row.mode ? ' selected' : ''}>${m}</option>`).join('')}</select>`)}
${actionForm(p.id, 'sla', ctx, v.nonce, 'Set the SLA', `<label for="sla">SLA (seconds, empty for none)</label><input id="sla" name="maxRuntimeSeconds" type="number" min="1" step="1" inputmode="numeric" value="${policy.maxRuntimeSeconds ?? ''}">`)}
${actionForm(p.id, 'rollback', ctx, v.nonce, 'Roll back to the last good configuration')}
</div></section>`;
  const policyList = `<section aria-labelledby="pol"><h2 id="pol">Policy</h2><dl class="facts">
<div><dt>SLA</dt><dd>${policy.maxRuntimeSeconds !== undefined ? esc(duration(policy.maxRuntimeSeconds)) : 'none'}</dd></div>
<div><dt>Compelling saving</dt><dd>${esc(policy.compellingSaving !== undefined ? `${Math.round(policy.compellingSaving * 100)}%` : '10% (default)')}</dd></div>
<div><dt>Regression tolerance</dt><dd>${esc(policy.regressionTolerance !== undefined ? `${Math.round(policy.regressionTolerance * 100)}%` : '25% (default)')}</dd></div>
<div><dt>Exploration</dt><dd>${esc(describeExploration(explorationSummary(state)))}</dd></div></dl></section>`;
  const body = `<h1>${esc(p.name)} <span class="sub">${esc(p.id)}</span></h1>${summary}${warnings}
<section aria-labelledby="c"><h2 id="c">Runtime and cost per run</h2>${runChart(charted.slice(-CHART_RUNS))}${charted.length > CHART_RUNS ? `<p class="sub">The latest ${CHART_RUNS} of ${charted.length} finished runs.</p>` : ''}</section>
<section aria-labelledby="r"><h2 id="r">Runs</h2>${pager}<div class="table-wrap"><table class="cards"><caption>Runs, newest first</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Cluster</th><th scope="col">Configuration</th><th scope="col">Status</th><th scope="col">Runtime</th><th scope="col">Cost</th><th scope="col">Predicted</th><th scope="col">Decision</th><th scope="col">Logs</th></tr></thead>
<tbody>${shown.map((r) => runRow(r, v, decisions)).join('\n') || '<tr><td colspan="9">No runs yet.</td></tr>'}</tbody></table></div>${pager}</section>
<section aria-labelledby="pr"><h2 id="pr">Latest prediction</h2>${solutions}</section>${actions}${policyList}`;
  return layout({ ...ctx, nav: 'projects', title: p.name }, body);
}

export type RunView = {
  state: ProjectState;
  run: Run;
  previous?: Run;
  diff?: { path: string; before?: string; after?: string }[];
  diffNote?: string;
  report?: Record<string, unknown>;
  reportNote?: string;
  analysis?: Record<string, unknown>;
  analysisNote?: string;
  region: string;
  databricksHost?: string;
};

function bytes(n: unknown): string {
  const v = Number(n);
  return Number.isFinite(v) ? formatBytes(v) : '—';
}

function reportSummary(report: Record<string, unknown>): string {
  const cluster = (report['Cluster'] ?? {}) as Record<string, unknown>;
  const status = (cluster['Status'] ?? {}) as Record<string, unknown>;
  const groups = ((report['InstanceGroups'] ?? cluster['InstanceGroups'] ?? []) as Record<string, unknown>[]).map(
    (g) => `${String(g['InstanceGroupType'] ?? g['InstanceRole'] ?? '?')}: ${String(g['RequestedInstanceCount'] ?? g['InstanceCount'] ?? g['RunningInstanceCount'] ?? '?')} x ${String(g['InstanceType'] ?? '?')}${g['Market'] === 'SPOT' ? ' (spot)' : ''}`,
  );
  const fleets = ((report['InstanceFleets'] ?? cluster['InstanceFleets'] ?? []) as Record<string, unknown>[]).map(
    (f) => `${String(f['InstanceFleetType'] ?? '?')}: ${((f['InstanceTypeSpecifications'] ?? f['InstanceTypeConfigs'] ?? []) as Record<string, unknown>[]).map((t) => String(t['InstanceType'] ?? '?')).join('/')}`,
  );
  const steps = (report['Steps'] ?? []) as Record<string, unknown>[];
  const rows: [string, string][] = [
    ['Cluster', `${String(cluster['Name'] ?? '—')} (${String(cluster['Id'] ?? '—')})`],
    ['Final state', `${String(status['State'] ?? '—')}${(status['StateChangeReason'] as Record<string, unknown> | undefined)?.['Message'] ? `: ${String((status['StateChangeReason'] as Record<string, unknown>)['Message'])}` : ''}`],
    ['Release', String(cluster['ReleaseLabel'] ?? '—')],
    ['Region', String(report['Region'] ?? '—')],
    ['Hardware', [...groups, ...fleets].join('; ') || `${((report['Instances'] ?? []) as unknown[]).length} instances`],
    ['Normalized instance hours', String(cluster['NormalizedInstanceHours'] ?? '—')],
    ['Steps', steps.map((s) => `${String(s['Name'] ?? '?')}: ${String(((s['Status'] ?? {}) as Record<string, unknown>)['State'] ?? '?')}`).join('; ') || '—'],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function analysisView(a: Record<string, unknown>): string {
  const totals = (a['totals'] ?? {}) as Record<string, number>;
  const skew = (a['skew'] ?? {}) as Record<string, number>;
  const stages = (a['biggestStages'] ?? []) as Record<string, number | string>[];
  const facts: [string, string][] = [
    ['Application', `${String(a['appName'] ?? '—')} (${String(a['appId'] ?? '—')})${a['sparkVersion'] ? `, Spark ${String(a['sparkVersion'])}` : ''}`],
    ['Duration', `${duration(Number(a['durationMs']) / 1000)}, driver alone ${percent(Number(a['driverShare'] ?? 0)).replace('+', '')}`],
    ['Executors', `${String(a['executors'])} (at most ${String(a['maxConcurrentExecutors'])} at once, ${String(a['executorCores'])} cores), ${String(a['removedExecutors'])} removed`],
    ['Jobs / stages / tasks', `${String(a['jobs'])} / ${String(a['stages'])} / ${String(a['tasks'])} (${String(a['failedTasks'])} tasks failed)`],
    ['Input / shuffle read / shuffle write', `${bytes(totals['inputBytes'])} / ${bytes(totals['shuffleReadBytes'])} / ${bytes(totals['shuffleWriteBytes'])}`],
    ['Spill (memory / disk)', `${bytes(totals['memorySpillBytes'])} / ${bytes(totals['diskSpillBytes'])}`],
    ['GC time', duration((totals['gcTimeMs'] ?? 0) / 1000)],
    ['Skew', skew['skewedStages'] ? `${skew['skewedStages']} skewed stage(s); worst stage ${skew['worstStage']} (max task ${skew['worstSkew']} x the median)` : 'no skewed stage'],
  ];
  const table = stages.length
    ? `<div class="table-wrap"><table><caption>Biggest stages by task time</caption><thead><tr><th scope="col">Stage</th><th scope="col">Name</th><th scope="col">Tasks</th><th scope="col">Wall</th><th scope="col">Task time</th><th scope="col">Median / max task</th><th scope="col">Skew</th><th scope="col">Shuffle read</th><th scope="col">Spill (disk)</th></tr></thead><tbody>
${stages.map((s) => `<tr><th scope="row">${esc(s['stageId'])}</th><td>${esc(String(s['name'] ?? '').slice(0, 80))}</td><td class="num">${esc(s['tasks'])}</td><td class="num">${esc(duration(Number(s['wallMs']) / 1000))}</td><td class="num">${esc(duration(Number(s['taskTimeMs']) / 1000))}</td><td class="num">${esc(duration(Number(s['medianTaskMs']) / 1000))} / ${esc(duration(Number(s['maxTaskMs']) / 1000))}</td><td class="num">${esc(s['skew'])}</td><td class="num">${esc(bytes(s['shuffleReadBytes']))}</td><td class="num">${esc(bytes(s['diskSpillBytes']))}</td></tr>`).join('')}
</tbody></table></div>`
    : '';
  const timeline = executorTimeline((a['executorTimeline'] ?? []) as { id: string; addedMs: number; removedMs?: number; cores: number }[], Number(a['durationMs']));
  const warnings = (a['warnings'] ?? []) as string[];
  return `<dl class="facts">${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>${table}${timeline}${warnings.length ? `<ul class="warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}`;
}

function executorTimeline(execs: readonly { id: string; addedMs: number; removedMs?: number; cores: number }[], durationMs: number): string {
  if (execs.length === 0 || !(durationMs > 0)) return '';
  const shown = execs.slice(0, 60);
  const W = 720;
  const rowH = 10;
  const left = 70;
  const h = shown.length * rowH + 30;
  const x = (ms: number) => left + ((W - left - 10) * Math.min(Math.max(ms, 0), durationMs)) / durationMs;
  const bars = shown
    .map((e, i) => {
      const end = e.removedMs ?? durationMs;
      return `<rect class="exec" x="${x(e.addedMs).toFixed(1)}" y="${(i * rowH + 4).toFixed(1)}" width="${Math.max(1, x(end) - x(e.addedMs)).toFixed(1)}" height="${rowH - 3}"><title>${esc(`executor ${e.id}: ${e.cores} cores, ${duration(e.addedMs / 1000)} to ${duration(end / 1000)}`)}</title></rect><text class="tick" x="${left - 6}" y="${(i * rowH + 11).toFixed(1)}" text-anchor="end">${esc(e.id)}</text>`;
    })
    .join('');
  return `<h3>Executor timeline</h3><svg class="chart timeline" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(`${execs.length} executors over ${duration(durationMs / 1000)}`)}" xmlns="http://www.w3.org/2000/svg">${bars}<text class="tick" x="${left}" y="${h - 6}">0</text><text class="tick" x="${W - 10}" y="${h - 6}" text-anchor="end">${esc(duration(durationMs / 1000))}</text></svg>${execs.length > shown.length ? `<p class="sub">The first ${shown.length} of ${execs.length} executors.</p>` : ''}`;
}

/** One run: its configuration against the previous run, the cluster report, the event log's analysis. */
export function runPage(v: RunView, ctx: PageContext): string {
  const { run: r, state } = v;
  const f = runFigures(r);
  const warnings = [
    ...(r.regressed ? [`Regressed: ${r.regressed}`] : []),
    ...(r.error ? [`${r.error.code}: ${r.error.message}`] : []),
    ...(r.status === 'failed' && r.stateChangeReason ? [r.stateChangeReason] : []),
    ...((r as { warnings?: string[] }).warnings ?? []),
  ];
  const diff = v.diff
    ? v.diff.length === 0
      ? '<p>The same configuration as the previous run.</p>'
      : `<div class="table-wrap"><table><caption>Changed against run ${esc(v.previous?.id ?? '')}</caption><thead><tr><th scope="col">Setting</th><th scope="col">Before</th><th scope="col">Now</th></tr></thead><tbody>${v.diff
          .slice(0, 200)
          .map((d) => `<tr><th scope="row"><code>${esc(d.path)}</code></th><td>${d.before !== undefined ? `<code>${esc(d.before)}</code>` : '<span class="sub">absent</span>'}</td><td>${d.after !== undefined ? `<code>${esc(d.after)}</code>` : '<span class="sub">absent</span>'}</td></tr>`)
          .join('')}</tbody></table></div>`
    : `<p class="empty">${esc(v.diffNote ?? 'No previous run to compare with.')}</p>`;
  const body = `<p class="crumbs"><a href="/ui/projects/${encodeURIComponent(state.project.id)}">${esc(state.project.name)}</a> › run</p>
<h1>Run <span class="mono">${esc(r.id)}</span></h1>
<dl class="facts"><div><dt>Status</dt><dd><span class="status ${statusClass(r.status)}">${esc(r.status)}</span></dd></div>
<div><dt>Cluster</dt><dd>${clusterCell(r, state.project.platform, v.region, v.databricksHost)}</dd></div>
<div><dt>Configuration</dt><dd>${esc(describeRun(r) ?? '—')}</dd></div><div><dt>Started</dt><dd>${when(r.startedAt ?? r.createdAt)}</dd></div><div><dt>Ended</dt><dd>${when(r.endedAt)}</dd></div>
<div><dt>Runtime</dt><dd>${esc(duration(f.runtimeSeconds))}</dd></div><div><dt>Cost</dt><dd>${esc(money(f.costUsd))}${r.costBreakdown ? ` (${esc(costSplitText(r.costBreakdown))})` : ''}</dd></div>
<div><dt>Predicted</dt><dd>${r.expected ? `${esc(duration(r.expected.runtimeSeconds))}, ${esc(money(r.expected.costUsd))} (${esc(r.preference ?? '')} of ${esc(r.predictionId ?? '')})` : '—'}</dd></div>${r.planChange ? `<div><dt>Plan changed</dt><dd>against run ${esc(r.planChange.since)}: ${esc(r.planChange.changes.join('; ') || 'its structure changed')} (a new learning group starts here)</dd></div>` : ''}
<div><dt>Location</dt><dd><code>${esc(r.location)}</code></dd></div></dl>
${warnings.length ? `<section aria-labelledby="w"><h2 id="w">Warnings</h2><ul class="warnings">${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>` : ''}
<section aria-labelledby="d"><h2 id="d">Configuration against the previous run</h2>${diff}</section>
<section aria-labelledby="rep"><h2 id="rep">Cluster report</h2>${v.report ? reportSummary(v.report) : `<p class="empty">${esc(v.reportNote ?? 'No cluster report yet.')}</p>`}</section>
<section aria-labelledby="eventlog"><h2 id="eventlog">Event log</h2>${v.analysis ? analysisView(v.analysis) : `<p class="empty">${esc(v.analysisNote ?? 'No event log for this run.')}</p>`}</section>`;
  return layout({ ...ctx, nav: 'projects', title: `Run ${r.id}` }, body);
}

export type QueueView = {
  counts: Record<string, number>;
  failed: { id: string; name: string; code: string; message: string; at?: string }[];
  completion?: { lagSeconds?: number; lastEventAt?: string; enabled: boolean };
  reconciler?: { lastPassAt?: string; checked?: number; enabled: boolean };
};

/** The requests queue: waiting, active, delayed, failed, the completion events' lag and the reconciler. */
export function queuePage(v: QueueView, ctx: PageContext): string {
  const order = ['waiting', 'active', 'delayed', 'failed', 'completed'];
  const counts = `<div class="table-wrap"><table><caption>Requests by state</caption><thead><tr>${order.map((k) => `<th scope="col">${k}</th>`).join('')}</tr></thead><tbody><tr>${order.map((k) => `<td class="num">${v.counts[k] ?? 0}</td>`).join('')}</tr></tbody></table></div>`;
  const comp = v.completion?.enabled
    ? `Completion events: last handled ${when(v.completion.lastEventAt)}${v.completion.lagSeconds !== undefined ? `, ${esc(duration(v.completion.lagSeconds))} after EMR sent it` : ''}.`
    : 'Completion events: no SQS queue is configured (runs are recorded by the reconciler and run.record).';
  const rec = v.reconciler?.enabled ? `Reconciler: last pass ${when(v.reconciler.lastPassAt)}${v.reconciler.checked !== undefined ? `, ${v.reconciler.checked} runs checked` : ''}.` : 'Reconciler: off.';
  const failed = v.failed.length
    ? `<div class="table-wrap"><table><caption>Latest failed requests</caption><thead><tr><th scope="col">Request</th><th scope="col">Name</th><th scope="col">Error</th><th scope="col">Reason</th><th scope="col">When</th></tr></thead><tbody>${v.failed
        .map((f) => `<tr><th scope="row">${shortId(f.id, 12)}</th><td>${esc(f.name)}</td><td><code>${esc(f.code)}</code></td><td>${esc(f.message)}</td><td>${when(f.at)}</td></tr>`)
        .join('')}</tbody></table></div>`
    : '<p>No failed requests.</p>';
  return layout({ ...ctx, nav: 'queue', title: 'Queue' }, `<h1>Queue</h1>${counts}<p>${comp}</p><p>${rec}</p><h2>Failed requests</h2>${failed}`);
}

/** A page that only says something went wrong (not found, refused, forbidden) and links back. */
export function messagePage(ctx: PageContext, heading: string, message: string, back = '/ui/'): string {
  return layout(ctx, `<h1>${esc(heading)}</h1><p class="error" role="alert">${esc(message)}</p><p><a href="${esc(back)}">Back</a></p>`);
}
