/**
 * Command-line options. Flags are kebab-case (`--max-batches`); the references' snake_case spellings
 * (`--max_batches`, as absl writes them) are yargs aliases. Values are checked when the arguments are
 * parsed, before any command code runs, and a bad one is reported under the spelling the user typed
 * (`--max_batches: expected a positive integer, received -1`). And the references' `--mode <command>`.
 */
import type { Argv, Options } from 'yargs';
import { ScoreflowError, argError } from '../errors.js';
import { closest } from '../suggest.js';

/** The snake_case spelling of a kebab-case flag, as an alias list (none for one-word flags). */
export function snakeAliases(flag: string): string[] {
  return flag.includes('-') ? [flag.replaceAll('-', '_')] : [];
}

/** Declares `--<name>` options (kebab-case names) with their snake_case aliases. */
export function flags(y: Argv, options: Record<string, Options>): Argv {
  for (const [name, o] of Object.entries(options)) y = y.option(name, { ...o, alias: snakeAliases(name) });
  return y;
}

/** yargs' camel-case expansion of a kebab-case flag (`max-batches` → `maxBatches`), which it accepts too. */
const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The spelling of `--<name>` (or one of its aliases) that `argv` uses first; `name` when none does. */
export function typedSpelling(argv: readonly string[], name: string): string {
  const spellings = new Set([name, ...snakeAliases(name), camel(name)]);
  for (const a of argv) {
    if (a === '--') break;
    if (!a.startsWith('--')) continue;
    const s = a.slice(2).split('=')[0]!;
    if (spellings.has(s)) return s;
  }
  return name;
}

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
 * Declares whole-number options (kebab-case names, snake_case aliases) and checks them on parsing;
 * `argv` is the command line as typed, for the spelling in messages. No yargs `type: 'number'`: that
 * would turn `abc` into NaN before the check could quote what was typed.
 */
export function integerOptions(y: Argv, argv: readonly string[], options: Record<string, IntegerOption>): Argv {
  for (const [name, o] of Object.entries(options)) {
    // No `default` key at all when there is none: with `default: undefined` a bare `--flag` reads as absent.
    y = flags(y, { [name]: { describe: `${o.describe} (${expectedInteger(o.min)})`, ...(o.default === undefined ? {} : { default: o.default }) } });
  }
  return y.check((args) => {
    for (const [name, o] of Object.entries(options)) {
      if (args[name] !== undefined) checkIntegerOption(typedSpelling(argv, name), args[name], o.min);
    }
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
