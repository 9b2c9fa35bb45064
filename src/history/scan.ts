// Which files under a folder may hold runs: every `.json` (other schemas are recognised and skipped
// when read) and every `.jsonl` stream whose run has no `.json` yet (a run still going or killed: once
// it finishes, its `.json` holds the same run, whole). Hidden folders and node_modules are not entered.
import fs from 'node:fs';
import path from 'node:path';

/** The candidate files under `dir`, as paths relative to it with '/' separators, sorted. */
export function resultsCandidates(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    const entries = fs.readdirSync(path.join(dir, relative), { withFileTypes: true });
    const names = new Set(entries.map((entry) => entry.name));
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && entry.name !== 'node_modules') walk(child);
      } else if (entry.isFile() && isCandidate(entry.name, names)) {
        found.push(child);
      }
    }
  };
  walk('');
  return found.sort();
}

function isCandidate(name: string, siblings: ReadonlySet<string>): boolean {
  if (name.endsWith('.json')) return true;
  return name.endsWith('.jsonl') && !siblings.has(`${name.slice(0, -'.jsonl'.length)}.json`);
}
