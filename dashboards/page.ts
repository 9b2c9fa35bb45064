// Browser side of the dashboard, inlined into the HTML file at build time (html.ts). It reads the
// embedded DashboardData (shaped and formatted by shape.ts) and builds the DOM and the plots.
// Every string goes into the DOM through textContent; listeners are attached here, never inline.
import type {
  Cell, Chart, ComparisonView, DashboardData, Distribution, FieldGroup, HistoryPageData, PageData, PathView, Table,
} from './views/types.js';

/** A drawn plot: plotly adds `on` to its element. */
interface PlotElement extends HTMLElement {
  on(event: 'plotly_click', handler: (event: { points: { customdata?: unknown }[] }) => void): void;
}

interface PlotlyApi {
  newPlot(root: HTMLElement, data: unknown[], layout: Record<string, unknown>, config: Record<string, unknown>): Promise<PlotElement>;
  react(root: HTMLElement, data: unknown[], layout: Record<string, unknown>, config: Record<string, unknown>): Promise<unknown>;
}
declare const Plotly: PlotlyApi;

const PLOT_CONFIG = { displaylogo: false, responsive: true };
const BASE_LAYOUT = {
  height: 420,
  margin: { t: 10, r: 10, b: 40, l: 70 },
  hovermode: 'closest',
  font: { family: 'system-ui, -apple-system, "Segoe UI", sans-serif', size: 12 },
  // Below the plot, so long series names are never cut off.
  legend: { font: { size: 11 }, orientation: 'h', x: 0, xanchor: 'left', y: -0.18, yanchor: 'top' },
  hoverlabel: { align: 'left' },
};

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string } = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const child of children) node.appendChild(child);
  return node;
}

const layoutOf = (chart: Chart): Record<string, unknown> => ({ ...BASE_LAYOUT, ...chart.layout });

/** Plots waiting to be drawn: plotly sizes a plot to its box once, so draw after the layout is whole. */
const undrawn = new Map<Element, { chart: Chart; onClick?: (customdata: unknown) => void }>();

function draw(target: HTMLElement, chart: Chart, onClick?: (customdata: unknown) => void): void {
  void Plotly.newPlot(target, chart.traces, layoutOf(chart), PLOT_CONFIG).then((drawn) => {
    if (onClick) drawn.on('plotly_click', (event) => onClick(event.points[0]?.customdata));
  });
}

/**
 * A titled plot appended to `parent`, drawn by drawPlots() once every figure is in the document
 * (a figure added later to the same grid row would otherwise leave this one too wide). The title
 * is DOM text, so no results-file string reaches plotly's title markup.
 */
function plot(parent: HTMLElement, chart: Chart, onClick?: (customdata: unknown) => void): HTMLElement {
  const target = element('div', { className: 'plot' });
  target.id = `plot-${chart.id}`;
  const figure = element('figure', {}, [element('figcaption', { text: chart.title }), target]);
  parent.appendChild(figure);
  undrawn.set(target, { chart, onClick });
  return figure;
}

/**
 * Draws the plots in view first, then the others one at a time while the browser is idle: a run's
 * page has dozens of plots, and drawing them all before showing any would keep the page blank for
 * seconds. A plot scrolled into view before its turn is drawn at once.
 */
function drawPlots(): void {
  const drawNow = (target: Element): void => {
    const pending = undrawn.get(target);
    undrawn.delete(target);
    observer.unobserve(target);
    if (pending) draw(target as HTMLElement, pending.chart, pending.onClick);
  };
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) if (entry.isIntersecting) drawNow(entry.target);
  }, { rootMargin: '200px' });
  for (const target of undrawn.keys()) observer.observe(target);
  const drawNext = (): void => {
    const [next] = undrawn.keys();
    if (next === undefined) return observer.disconnect();
    drawNow(next);
    requestIdleCallback(drawNext, { timeout: 200 });
  };
  requestIdleCallback(drawNext, { timeout: 200 });
}

function retitle(figure: HTMLElement, chart: Chart): void {
  const caption = figure.querySelector('figcaption');
  const target = figure.querySelector<HTMLElement>('.plot');
  if (!caption || !target) return;
  caption.textContent = chart.title;
  // Not drawn yet: its first draw shows this slice.
  const pending = undrawn.get(target);
  if (pending) undrawn.set(target, { ...pending, chart });
  else void Plotly.react(target, chart.traces, layoutOf(chart), PLOT_CONFIG);
}

// ---------------------------------------------------------------------------------------------
// Tables: click a header to sort, type to filter

function compareCells(a: Cell, b: Cell): number {
  if (a.sort === null || b.sort === null) return a.sort === b.sort ? 0 : a.sort === null ? 1 : -1;
  if (typeof a.sort === 'number' && typeof b.sort === 'number') return a.sort - b.sort;
  return String(a.sort).localeCompare(String(b.sort), 'en', { numeric: true });
}

function table(data: Table, options: { filterable: boolean; caption?: string }): HTMLElement {
  const body = element('tbody');
  const rows = data.rows.map((cells) => ({
    cells,
    node: element(
      'tr',
      {},
      cells.map((cell) => element('td', { text: cell.display, className: typeof cell.sort === 'number' ? 'num' : '' })),
    ),
    text: cells.map((cell) => cell.display).join(' ').toLowerCase(),
  }));
  let order = rows.slice();
  let filter = '';
  const render = (): void => {
    body.replaceChildren(...order.filter((row) => row.text.includes(filter)).map((row) => row.node));
  };
  let sorted: { column: number; ascending: boolean } | null = null;
  const headers = data.columns.map((name, column) => {
    const header = element('th', { text: name });
    header.title = 'sort';
    header.addEventListener('click', () => {
      const ascending = sorted?.column === column ? !sorted.ascending : true;
      sorted = { column, ascending };
      order = rows.slice().sort((a, b) => {
        const byCell = compareCells(a.cells[column], b.cells[column]);
        // Nulls stay last in both directions.
        if (a.cells[column].sort === null || b.cells[column].sort === null) return byCell;
        return ascending ? byCell : -byCell;
      });
      for (const other of headers) other.removeAttribute('aria-sort');
      header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      render();
    });
    return header;
  });
  render();
  const tableNode = element('table', {}, [element('thead', {}, [element('tr', {}, headers)]), body]);
  const wrapper = element('div', { className: 'table' });
  if (options.caption) wrapper.appendChild(element('p', { className: 'note', text: options.caption }));
  if (options.filterable) {
    const input = element('input');
    input.type = 'search';
    input.placeholder = 'filter rows (any text, e.g. "fp16 decoding")';
    input.addEventListener('input', () => {
      filter = input.value.trim().toLowerCase();
      render();
    });
    wrapper.appendChild(input);
  }
  wrapper.appendChild(element('div', { className: 'scroll' }, [tableNode]));
  return wrapper;
}

// ---------------------------------------------------------------------------------------------
// Sections

const navigation = element('nav');
const main = element('main');

function section(id: string, title: string, intro?: string): HTMLElement {
  const node = element('section', {}, [element('h2', { text: title })]);
  node.id = id;
  if (intro) node.appendChild(element('p', { className: 'note', text: intro }));
  const link = element('a', { text: title });
  link.href = `#${id}`;
  navigation.appendChild(link);
  main.appendChild(node);
  return node;
}

function header(groups: FieldGroup[], title: string): HTMLElement {
  const cards = groups.map((group) => {
    const list = element('dl');
    for (const field of group.fields) {
      list.appendChild(element('dt', { text: field.label }));
      list.appendChild(element('dd', { text: field.value }));
    }
    return element('div', { className: 'card' }, [element('h3', { text: group.title }), list]);
  });
  return element('header', {}, [element('h1', { text: title }), element('div', { className: 'cards' }, cards)]);
}

function warnings(lines: string[]): HTMLElement | null {
  if (lines.length === 0) return null;
  return element('ul', { className: 'warnings' }, lines.map((line) => element('li', { text: line })));
}

function comparisonSection(view: ComparisonView): void {
  const node = section('compare', 'Compared with the baseline', `baseline: ${view.baseline}`);
  node.appendChild(element('p', { className: 'summary', text: view.summary }));
  const warned = warnings(view.warnings);
  if (warned) node.appendChild(warned);
  if (view.chart) plot(node, view.chart);
  node.appendChild(table(view.table, { filterable: true }));
  if (view.added.length > 0) node.appendChild(table({ columns: ['only in this run'], rows: view.added.map((key) => [{ display: key, sort: key }]) }, { filterable: false }));
  if (view.removed.length > 0) node.appendChild(table({ columns: ['only in the baseline'], rows: view.removed.map((key) => [{ display: key, sort: key }]) }, { filterable: false }));
}

/** Boxes of the samples of the points clicked last (newest first), under a path's charts. */
const SHOWN_DISTRIBUTIONS = 5;

function distributionPanel(parent: HTMLElement, all: Distribution[]): (customdata: unknown) => void {
  const caption = element('figcaption', { text: 'Sample distribution: click a point on the charts above (the last five clicked are kept)' });
  const target = element('div', { className: 'distribution' });
  parent.appendChild(element('figure', {}, [caption, target]));
  const shown: number[] = [];
  return (customdata) => {
    if (typeof customdata !== 'number' || !all[customdata]) return;
    shown.splice(0, shown.length, customdata, ...shown.filter((index) => index !== customdata).slice(0, SHOWN_DISTRIBUTIONS - 1));
    const traces = shown.map((index) => ({
      type: 'box', name: all[index].label, x: all[index].samples, boxpoints: 'all', jitter: 0.5, pointpos: 0, marker: { size: 4 },
      hoverinfo: 'x', orientation: 'h',
    }));
    const layout = { ...BASE_LAYOUT, height: 120 + 60 * shown.length, showlegend: false, margin: { t: 10, r: 10, b: 40, l: 10 },
      xaxis: { title: { text: 'sample (ms)' } }, yaxis: { automargin: true, autorange: 'reversed' } };
    void Plotly.react(target, traces, layout, PLOT_CONFIG);
  };
}

function pathSection(view: PathView, samples: Distribution[]): void {
  const node = section(
    `path-${view.path}`,
    `${view.path}: latency and throughput vs batch`,
    'One line per variant × precision: solid fused, dashed unfused, dotted reference, each peer its own dash; log axes; hover a point for all its fields (graph: whether it replayed a CUDA graph), click it for its samples.',
  );
  const [first] = view.facets;
  const pair = element('div', { className: 'pair' });
  if (view.facets.length > 1) {
    const select = element('select');
    view.facets.forEach((facet, index) => {
      const option = element('option', { text: facet.label });
      option.value = String(index);
      select.appendChild(option);
    });
    select.addEventListener('change', () => {
      const facet = view.facets[Number(select.value)];
      retitle(latency, facet.latency);
      retitle(throughput, facet.throughput);
    });
    node.appendChild(element('label', { text: 'slice: ' }, [select]));
  }
  node.appendChild(pair);
  const showSamples = distributionPanel(node, samples);
  const latency = plot(pair, first.latency, showSamples);
  const throughput = plot(pair, first.throughput, showSamples);
}

function chartsSection(id: string, title: string, intro: string, charts: Chart[]): void {
  if (charts.length === 0) return;
  const pair = element('div', { className: 'pair' });
  section(id, title, intro).appendChild(pair);
  for (const chart of charts) plot(pair, chart);
}

/** The page's frame: title, header cards, warnings, the navigation bar and the main column. */
function frame(data: PageData): void {
  document.title = data.title;
  document.body.appendChild(header(data.header, data.title));
  const warned = warnings(data.warnings);
  if (warned) document.body.appendChild(warned);
  document.body.appendChild(navigation);
  document.body.appendChild(main);
}

function renderHistory(data: HistoryPageData): void {
  frame(data);
  const steps = section('steps', 'Step changes');
  steps.appendChild(element('p', { className: 'summary', text: data.stepsSummary }));
  if (data.steps.rows.length > 0) steps.appendChild(table(data.steps, { filterable: true }));
  chartsSection(
    'trends',
    'Trends across commits',
    'One line per point: its median at each commit relative to the first commit it was measured at; red crosses mark flagged steps; hover a point for its median, noise and runs.',
    data.charts,
  );
  section('points', 'All points', 'Click a column to sort; type to filter.').appendChild(table(data.points, { filterable: true }));
  section('runs', 'Runs read').appendChild(table(data.runs, { filterable: true }));
}

function render(data: DashboardData): void {
  frame(data);
  if (data.comparison) comparisonSection(data.comparison);
  for (const view of data.paths) pathSection(view, data.distributions);
  chartsSection(
    'speedup',
    'What fusion buys',
    'Median time of the unfused variant (and, where the run measured peers, of the fastest peer) divided by the fused one, for each pair of points with the same configuration; above 1 (blue), fused is faster. One colour scale for every heatmap.',
    data.heatmaps,
  );
  chartsSection(
    'efficiency',
    'Efficiency',
    'Achieved TFLOP/s and GB/s per point (analytic counts over the median time), against the peaks measured on this device when the run recorded them.',
    data.efficiency,
  );
  if (data.references) {
    section(
      'reference',
      'FasterTransformer published figures',
      'Stars on the charts and this table: figures published by NVIDIA for FasterTransformer, measured on an A100 with FT’s own harness. Another GPU and another harness: for orientation, not a like-for-like comparison.',
    ).appendChild(table(data.references, { filterable: false }));
  }
  if (data.gemms) {
    const node = section('gemms', 'GEMMs', 'The distinct GEMMs the points ran, with the algorithm chosen and its source: the chart shows those with the most time, the table all of them (type to filter).');
    plot(node, data.gemms.chart);
    node.appendChild(table(data.gemms.table, { filterable: true }));
  }
  chartsSection('breakdown', 'Where the time goes', 'Per-iteration time by stage and by kernel (profiling trace) next to the event-timed median.', data.breakdowns);
  section('points', 'All points', 'Click a column to sort; type to filter.').appendChild(table(data.points, { filterable: true }));
  if (data.failures) {
    section('failures', 'Failed, out-of-memory and dropped points').appendChild(table(data.failures, { filterable: false }));
  }
}

const embedded = document.getElementById('ftbench-data');
if (!embedded?.textContent) throw new Error('ftbench dashboard: the embedded data block is missing');
const data = JSON.parse(embedded.textContent) as PageData;
const isHistory = (page: PageData): page is HistoryPageData => (page as HistoryPageData).kind === 'history';
if (isHistory(data)) renderHistory(data);
else render(data);
drawPlots();
