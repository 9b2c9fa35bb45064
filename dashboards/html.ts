// Assembles the self-contained dashboard file: styles, the embedded data, plotly.js and the page
// script, all inline. A Content-Security-Policy allows exactly these two scripts (by hash) and no
// network access at all, so even a string that slipped past escaping could not run or fetch.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PageData } from './views/types.js';

export interface PageAssets {
  /** plotly.js, as the build bundles it from plotly.js-dist (only the trace types drawn, minified). */
  plotly: string;
  /** The compiled page script (dist/dashboards/page.js). */
  page: string;
}

/** Reads the build's plotly bundle (build/plotly-bundle.ts) and the compiled page script next to this module. */
export function loadAssets(): PageAssets {
  const plotly = readFileSync(fileURLToPath(new URL('./plotly.min.js', import.meta.url)), 'utf8');
  const page = readFileSync(fileURLToPath(new URL('./page.js', import.meta.url)), 'utf8')
    // The map file is not shipped with the page; the reference would only produce a failed lookup.
    .replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return { plotly, page };
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element: every `<` becomes \u003c, so no `</script>` or `<!--` can appear. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Refuses a script whose text would end or confuse the <script> element it is inlined into. */
function inlineScript(source: string, name: string): string {
  const match = /<\/script|<!--|<script/i.exec(source);
  if (match) throw new Error(`${name} contains "${match[0]}" and cannot be inlined into a <script> element`);
  return source;
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #5b6570; --line: #d8dee4; --panel: #f6f8fa; --warn: #fff4e5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fff; }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { font-size: 20px; margin: 0 0 12px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0 0 6px; }
h3 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
nav { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 8px 24px; background: #fff; border-bottom: 1px solid var(--line); }
nav a { color: #0b5cad; text-decoration: none; }
main { padding: 0 24px 40px; }
section { padding: 18px 0 8px; border-bottom: 1px solid var(--line); }
.note { color: var(--muted); margin: 0 0 8px; max-width: 110ch; }
.summary { font-weight: 600; }
.warnings { margin: 12px 24px; padding: 8px 12px 8px 28px; background: var(--warn); border: 1px solid #f0c36d; border-radius: 6px; }
section .warnings { margin: 8px 0; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-width: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
label { display: inline-block; margin: 4px 0 8px; }
select, input[type=search] { font: inherit; padding: 3px 6px; }
input[type=search] { width: min(420px, 100%); margin: 6px 0; }
.table { margin: 8px 0; }
.scroll { overflow: auto; max-height: 560px; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eef1f4; text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: var(--panel); cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: #f3f8ff; }
`;

/** The complete HTML document for `data`. */
export function renderHtml(data: PageData, assets: PageAssets): string {
  const plotly = inlineScript(assets.plotly, 'plotly.js');
  const page = inlineScript(assets.page, 'the page script');
  const policy = [
    "default-src 'none'",
    `script-src ${sha256(plotly)} ${sha256(page)}`,
    "style-src 'unsafe-inline'",
    // The mode bar's "download plot as png" renders through data: and blob: images.
    'img-src data: blob:',
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(policy)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(data.title)}</title>`,
    `<style>${STYLE}</style>`,
    `<script type="application/json" id="ftbench-data">${embedJson(data)}</script>`,
    `<script>${plotly}</script>`,
    '</head>',
    '<body>',
    `<script type="module">${page}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
