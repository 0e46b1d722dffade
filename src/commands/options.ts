/**
 * Command-line options checked when the arguments are parsed, before any command code runs: a bad value
 * is reported under the flag the user typed (`--max_batches: expected a positive integer, received -1`),
 * not under whatever internal name it would have reached. And the references' `--mode <command>`.
 */
import type { Argv } from 'yargs';
import { ScoreflowError, argError } from '../errors.js';

export interface IntegerOption {
  describe: string;
  /** Smallest valid value. */
  min: number;
  default?: number;
}

const expectedInteger = (min: number) => (min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`);

/** The value of `--<flag>` (as yargs parsed it: number, string, `true` when bare, an array when repeated). */
export function checkIntegerOption(flag: string, v: unknown, min: number): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
  if (v === true || v === '') throw new ScoreflowError('ERR_ARG', `--${flag}: expected ${expectedInteger(min)}, received no value (write --${flag}=N)`);
  if (Array.isArray(v)) throw new ScoreflowError('ERR_ARG', `--${flag}: expected ${expectedInteger(min)} once, received it ${v.length} times (${v.join(', ')})`);
  return argError(`--${flag}`, expectedInteger(min), v);
}

/**
 * Declares whole-number options and checks them on parsing. No yargs `type: 'number'`: that would turn
 * `abc` into NaN before the check could quote what was typed.
 */
export function integerOptions(y: Argv, options: Record<string, IntegerOption>): Argv {
  for (const [flag, o] of Object.entries(options)) {
    // No `default` key at all when there is none: with `default: undefined` a bare `--flag` reads as absent.
    y = y.option(flag, { describe: `${o.describe} (${expectedInteger(o.min)})`, ...(o.default === undefined ? {} : { default: o.default }) });
  }
  return y.check((args) => {
    for (const [flag, o] of Object.entries(options)) if (args[flag] !== undefined) checkIntegerOption(flag, args[flag], o.min);
    return true;
  });
}

/**
 * Moves the references' `--mode <m>` / `--mode=<m>` to the front as the command name. `modes` are the
 * values it takes; anything else is an error naming them (with the closest one when it is a near miss).
 */
export function applyMode(argv: string[], modes: readonly string[]): string[] {
  const at = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='));
  if (at < 0) return argv;
  const inline = argv[at]!.startsWith('--mode=');
  const mode = inline ? argv[at]!.slice('--mode='.length) : argv[at + 1];
  const expected = `one of ${modes.join('|')}`;
  if (mode === undefined || mode === '' || mode.startsWith('--')) {
    throw new ScoreflowError('ERR_ARG', `--mode: expected ${expected}, received no value (write --mode ${modes[0]})`);
  }
  if (!modes.includes(mode)) {
    const near = closest(mode, modes);
    throw new ScoreflowError('ERR_ARG', `--mode: expected ${expected}, received '${mode}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  const rest = [...argv];
  rest.splice(at, inline ? 1 : 2);
  return [mode.replace(/_/g, '-'), ...rest]; // score_flow's train_deq is our train-deq
}

/** The candidate within edit distance 2 (and less than half the word) of `word`, if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.min(3, Math.ceil(word.length / 2));
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
