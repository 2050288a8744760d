/**
 * The dashboard's styles: its own (light and dark) and uPlot's, which the
 * page's Content-Security-Policy pins by hash.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** uPlot's stylesheet, from the installed package (bundled into the page, never fetched from elsewhere). */
export const UPLOT_STYLE: string = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')

/** The page's own styles. */
export const PAGE_STYLE = `
:root {
  --bg: #f4f6f8; --card: #fff; --fg: #1d2733; --muted: #66727f; --line: #e2e7ec;
  --accent: #1f6feb; --ok: #1a7f37; --warn: #b26a00; --bad: #c62828; --bar: #dde5ee;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f141a; --card: #171e26; --fg: #dfe6ee; --muted: #8b98a6; --line: #28323d; --bar: #28323d; --accent: #4c8dff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { font-size: 17px; margin: 0; letter-spacing: .2px; }
header h1 span { color: var(--accent); }
#conn { margin-left: auto; color: var(--muted); font-size: 12px; }
#conn::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--muted); vertical-align: 1px; }
#conn[data-state=ok]::before { background: var(--ok); }
#conn[data-state=unauthorized]::before, #conn[data-state=unreachable]::before, #conn[data-state=error]::before { background: var(--bad); }
#banner { margin: 14px 20px 0; padding: 10px 14px; border-radius: 6px; border: 1px solid; }
#banner[data-state=ok], #banner[data-state=loading] { display: none; }
#banner[data-state=unauthorized], #banner[data-state=unreachable], #banner[data-state=error] { background: #fdecea; border-color: #f5c2c0; color: #8a1c1c; }
#banner[data-state=no-token] { background: #fff8e1; border-color: #f0d98a; color: #6b4e00; }
#banner strong { display: block; margin-bottom: 2px; }
#token-form { display: none; margin-top: 8px; gap: 6px; }
#banner[data-state=unauthorized] #token-form, #banner[data-state=no-token] #token-form { display: flex; }
#token-form input { flex: 1; max-width: 420px; padding: 4px 8px; font: inherit; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 14px; padding: 14px 20px 24px; }
main.stale section { opacity: .55; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); margin: 0 0 8px; display: flex; gap: 8px; align-items: baseline; }
section h2 .count { font-weight: normal; text-transform: none; letter-spacing: 0; }
h3 { font-size: 13px; margin: 12px 0 4px; }
h3:first-child { margin-top: 0; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); padding: 3px 6px; }
td { border-bottom: 1px solid var(--line); padding: 4px 6px; vertical-align: top; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.scroll { overflow-x: auto; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.id { white-space: nowrap; word-break: normal; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; padding: 4px 0; }
.err { color: var(--bad); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; background: var(--bar); white-space: nowrap; }
.badge.station { background: #dbe9ff; color: #0b3d91; }
.badge.vehicle { background: #e3f5e1; color: #1a5c2a; }
.badge.running { background: #dbe9ff; color: #0b3d91; }
.badge.done { background: #e3f5e1; color: #1a5c2a; }
.badge.failed, .badge.lost { background: #fdecea; color: #8a1c1c; }
.badge.cancelled { background: #eceff1; color: #455a64; }
.job { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; min-width: 0; }
.job:last-of-type { margin-bottom: 0; }
.job > summary { cursor: pointer; list-style: none; }
.job > summary::-webkit-details-marker { display: none; }
.job > summary::before { content: "\u25b8"; display: inline-block; width: 14px; color: var(--muted); }
.job[open] > summary::before { content: "\u25be"; }
.job-head { display: inline-flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; max-width: calc(100% - 16px); }
.job-head .mono { font-weight: 600; }
.progress { display: flex; align-items: center; gap: 8px; margin: 6px 0; }
.bar { flex: 1; height: 8px; background: var(--bar); border-radius: 4px; overflow: hidden; }
.bar > div { height: 100%; width: 0; background: var(--accent); transition: width .4s; }
.job[data-state=done] .bar > div { background: var(--ok); }
.job[data-state=failed] .bar > div { background: var(--bad); }
.job table { margin-top: 4px; }
.pos { color: var(--ok); }
.neg { color: var(--bad); }
.job-body { margin-top: 6px; }
.pager { display: flex; gap: 8px; align-items: center; justify-content: flex-end; margin-top: 8px; }
.pager button { font: inherit; padding: 2px 10px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 320px), 1fr)); gap: 12px; }
.chart { min-width: 0; }
.chart h3 { margin: 0 0 4px; }
.chart .uplot { width: 100%; }
.chart .u-legend { font-size: 12px; }
@media (max-width: 520px) {
  header, main { padding-left: 10px; padding-right: 10px; }
  #banner { margin-left: 10px; margin-right: 10px; }
  section { padding: 10px; }
  dl { grid-template-columns: 1fr; }
  dt { margin-top: 4px; }
}
`
