// A markdown summary of a run for pull requests and CI job summaries: what ran where, the points
// table, and every point that failed or is incorrect.
import type { Results } from '../src/results/schema.js';
import { DISPLAY_COLUMNS, problemOf } from './columns.js';

/** Text safe inside a markdown table cell: pipes, backslashes, markup characters and entities escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\|`*_[\]<>#~&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

export function renderMarkdown(results: Results): string {
  const { run, env, points, dropped } = results;
  const device = env.device.name ?? run.backend;
  const ok = points.filter((p) => p.status === 'ok' && p.correct !== false).length;
  const lines = [
    `### ftbench run ${escapeMarkdown(run.id)}`,
    '',
    `Profile **${escapeMarkdown(run.profile)}** on **${escapeMarkdown(device)}** (${run.backend} backend), ` +
      `commit ${escapeMarkdown(env.git.commit?.slice(0, 12) ?? 'unknown')}${env.git.dirty ? ' (dirty)' : ''}: ` +
      `${ok} of ${points.length} points ok and correct, ${dropped.length} combinations dropped` +
      `${run.wall_s === null ? '' : `, ${run.wall_s.toFixed(1)} s`}.`,
    '',
    `| ${DISPLAY_COLUMNS.map((c) => c.header).join(' | ')} |`,
    `| ${DISPLAY_COLUMNS.map((c) => (c.align === 'right' ? '---:' : ':---')).join(' | ')} |`,
    ...points.map((p) => `| ${DISPLAY_COLUMNS.map((c) => escapeMarkdown(c.text(p))).join(' | ')} |`),
  ];
  const problems = points.flatMap((p) => {
    const problem = problemOf(p);
    return problem ? [`- ${escapeMarkdown(p.key)}: ${escapeMarkdown(problem)}`] : [];
  });
  if (problems.length > 0) lines.push('', '**Problems**', '', ...problems);
  return `${lines.join('\n')}\n`;
}
