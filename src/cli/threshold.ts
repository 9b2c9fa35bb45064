// A relative threshold on the command line (the gate's --threshold, history's --threshold): a fraction
// or a percentage, strictly between 0 and 100 %.
import { UsageError } from './exit.js';

/** "5%" -> 0.05, "0.05" -> 0.05; a bare number >= 1 is refused as ambiguous. */
export function parseThreshold(text: string): number {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const value = percent ? Number(percent[1]) / 100 : /^\d*\.?\d+$/.test(text) ? Number(text) : NaN;
  if (!(value > 0 && value < 1)) {
    throw new UsageError(`--threshold must be a fraction (0.05) or a percentage (5%) between 0 and 100%, got ${text}`);
  }
  return value;
}
