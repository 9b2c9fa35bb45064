// Build step (npm run build:ts, after tsc): the dashboard's plotly, made once from plotly.js-dist.
// plotly.js-dist is one unminified bundle (11 MB) registering every trace type, from 3-D surfaces to
// maps; the page draws four (trace-types.ts). This keeps plotly.js-dist's own code and changes one
// thing, the list its lib/index.js registers, then lets esbuild drop what nothing references any
// more and minify the rest: dist/dashboards/plotly.min.js, about 1.1 MB. plotly.js-dist is an
// esbuild bundle (`var require_x = __commonJS({...})` per module, inside one function): its body is
// lifted to the top level so that esbuild's tree shaking reaches those declarations. A plotly.js-dist
// whose layout differs stops the build with the pattern it did not find.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { TRACE_TYPES } from '../trace-types.js';

const BODY_START = 'var Plotly = (() => {';
const BODY_END = 'return require_index();';
const REGISTER = /(\/\/ lib\/index\.js\n[\s\S]*?Plotly\.register\(\[)([\s\S]*?)(\]\);)/;

function expect(found: boolean, what: string): void {
  if (!found) throw new Error(`plotly-bundle: plotly.js-dist has no ${what}; its layout changed, see dashboards/build/plotly-bundle.ts`);
}

/** plotly.js-dist's bundle registering only `traces` (beyond scatter), minified. */
export function plotlyBundle(source: string, traces: readonly string[]): string {
  const register = REGISTER.exec(source);
  expect(register !== null, 'Plotly.register([...]) in lib/index.js');
  const wanted = traces.filter((trace) => trace !== 'scatter');
  const kept = wanted.map((trace) => `require_${trace}2()`);
  for (const call of kept) expect(register![2].includes(`${call},`), `${call} among the registered traces`);
  const patched = source.replace(REGISTER, (_all, head: string, _list: string, tail: string) => `${head}\n${kept.join(',\n')}\n${tail}`);
  const start = patched.indexOf(BODY_START);
  const end = patched.lastIndexOf(BODY_END);
  expect(start >= 0 && end > start, `"${BODY_START}" ... "${BODY_END}"`);
  // Each module is built on first require: a declaration nothing requires has no effect, so marking the
  // calls pure lets esbuild remove the modules of the traces left out.
  const body = `${patched.slice(start + BODY_START.length, end).replace(/= __commonJS\(/g, '= /* @__PURE__ */ __commonJS(')}
window.Plotly = require_index();\n`;
    const minified = transformSync(body, { minify: true, treeShaking: true, format: 'iife', legalComments: 'none' }).code;
  // plotly's own header (version, copyright, MIT license) and, at the end, the notices of the libraries it bundles.
  const header = /^\/\*\*[\s\S]*?\*\/\n/.exec(source);
  expect(header !== null, 'license header');
  const notices = source.slice(source.indexOf('/*', end), source.lastIndexOf('*/') + 2);
  return `${header![0]}/* built from plotly.js-dist: only the trace types ${traces.join(', ')} */\n${minified}${notices}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const source = readFileSync(createRequire(import.meta.url).resolve('plotly.js-dist'), 'utf8');
  writeFileSync(fileURLToPath(new URL('../plotly.min.js', import.meta.url)), plotlyBundle(source, TRACE_TYPES));
}
