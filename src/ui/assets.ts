// The dashboard's stylesheet and its one small script, served from the package itself (never a CDN: the
// hosts that run the agent often have no internet). Kept as strings so the build needs no asset step.

export const UI_CSS = `
:root{--fg:#1b1f24;--sub:#57606a;--bg:#fff;--card:#f6f8fa;--line:#d0d7de;--accent:#0b5cad;--good:#116329;--bad:#a40e26;--warn:#7d4e00;
--runtime:#0b5cad;--cost:#8250df;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}
a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
header.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
nav a[aria-current=page]{font-weight:700;text-decoration:none;color:var(--fg)}
main{padding:1rem;max-width:1200px;margin:0 auto}h1{font-size:1.5rem;margin:.4rem 0 1rem}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}h3{font-size:1rem}
.sub{color:var(--sub);font-size:.85em;font-weight:400}.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;word-break:break-all}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;margin:.5rem 0}
table{border-collapse:collapse;width:100%;font-size:.92rem}caption{text-align:left;padding:.5rem .6rem;color:var(--sub)}
th,td{padding:.45rem .6rem;border-top:1px solid var(--line);text-align:left;vertical-align:top}thead th{background:var(--card);white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.good{color:var(--good)}.bad{color:var(--bad)}.status{font-weight:600}.status.neutral{color:var(--sub)}
.warnings{margin:.2rem 0;padding-left:1.1rem;color:var(--warn)}.notice{background:#ddf4ff;border:1px solid #54aeff;padding:.6rem;border-radius:6px}
.error{background:#ffebe9;border:1px solid #ff8182;padding:.6rem;border-radius:6px}.empty{color:var(--sub)}.hint{color:var(--sub);font-size:.9rem}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:.5rem;margin:0 0 1rem}.facts div{background:var(--card);padding:.5rem .7rem;border-radius:6px}
.facts dt{color:var(--sub);font-size:.8rem}.facts dd{margin:0;font-weight:600;word-break:break-word}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;max-width:26rem}
.signin label{display:block;font-weight:600;margin-bottom:.3rem}.signin input{width:100%;padding:.5rem;font-size:1rem}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;margin-top:.5rem}
button.link{background:none;border:none;color:var(--accent);padding:0;margin:0;text-decoration:underline}
form.inline{display:inline}.actions{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.8rem}
form.action{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.7rem;display:flex;flex-direction:column;gap:.3rem}
form.action label{font-size:.85rem;color:var(--sub)}form.action input,form.action select{padding:.35rem;font:inherit}
.pager{display:flex;gap:1rem;align-items:center;margin:.4rem 0}.crumbs{margin:0;color:var(--sub)}
svg.chart{width:100%;height:auto;max-width:900px;display:block}
.chart .grid{stroke:#eaeef2;stroke-width:1}.chart .tick{font-size:10px;fill:var(--sub)}.chart .axis-title{font-size:11px;font-weight:600;fill:var(--fg)}
.chart .line{fill:none;stroke-width:2}.chart .line.runtime,.chart .dot.runtime{stroke:var(--runtime)}.chart .dot.runtime{fill:var(--runtime)}
.chart .line.cost,.chart .dot.cost{stroke:var(--cost)}.chart .dot.cost{fill:var(--cost)}
.chart .predicted{fill:#fff;stroke:#cf222e;stroke-width:1.5}.chart .mark{stroke:#bf8700;stroke-dasharray:4 3}.chart .mark.rolled-back,.chart .mark.failed{stroke:var(--bad)}
.chart .mark-label{font-size:10px;fill:#7d4e00}.chart .candidate{fill:#afb8c1;opacity:.7}.chart .pick{stroke:#1b1f24;stroke-width:1.5}
.chart .pick.performance{fill:#0b5cad}.chart .pick.balanced{fill:#1a7f37}.chart .pick.economy{fill:#bf8700}.chart .pick.current{fill:#fff;stroke:#cf222e;stroke-width:3}
.chart .pick-label{font-size:11px;font-weight:600}.chart .exec{fill:#54aeff}
.legend{font-size:.85rem;color:var(--sub)}.key{display:inline-block;width:.8rem;height:.8rem;margin:0 .2rem 0 .6rem;vertical-align:middle}
.dot-key{background:var(--runtime);border-radius:50%}.diamond-key{border:2px solid #cf222e;transform:rotate(45deg);width:.6rem;height:.6rem}.mark-key{border-left:2px dashed #bf8700}
.evidence li{overflow-wrap:anywhere}.evidence h4{margin:.4rem 0 .1rem}
@media (max-width:600px){main{padding:.6rem}th,td{padding:.35rem .4rem}h1{font-size:1.25rem}
table.cards thead{display:none}table.cards,table.cards tbody,table.cards tr,table.cards th,table.cards td{display:block;width:100%}
table.cards tr{border-top:2px solid var(--line);padding:.3rem 0}table.cards td,table.cards th{border:none}
table.cards td[data-label]{display:flex;justify-content:space-between;gap:1rem;text-align:right}
table.cards td.why{display:block;text-align:left}table.cards td.why::before{display:block}
table.cards td[data-label]::before{content:attr(data-label);color:var(--sub);font-weight:600;text-align:left}}
`;

export const UI_JS = `
// Shows each <time> in the viewer's own zone; the UTC time stays in its title.
document.querySelectorAll('time[datetime]').forEach(function (t) {
  var d = new Date(t.getAttribute('datetime'));
  if (!isNaN(d.getTime())) t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
});
`;
