// A describe() that node:test's summary counts when it is skipped. A suite skipped through
// describe's own `skip` option registers none of its tests, so the run ends with "skipped 0" while
// whole suites did not run (no GPU, no browser); here a skipped suite stands as one skipped test,
// named after it and carrying the reason.
import { describe, it } from 'node:test';

/** describe(name, body), or, when `skip` gives a reason, one skipped test in its place. */
export function suiteUnless(name: string, skip: string | false | undefined, body: () => void): void {
  if (skip) it(name, { skip }, () => {});
  else describe(name, body);
}
