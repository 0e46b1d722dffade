/**
 * The `scoreflow` command line. Commands live in src/commands/ (one file each, loaded on use so that
 * `--help` does not load libtorch). Config overrides use the references' convention,
 * `--config.training.likelihood_weighting=true`, and are split off before yargs sees the arguments.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COMMANDS, MODES } from './commands/index.js';
import { applyMode, integerOptions } from './commands/options.js';
import { applyThreads } from './commands/threads.js';

/** Separates `--config.a.b=v` (or `--config.a.b v`) overrides from the other arguments. */
export function splitOverrides(argv: string[]): { rest: string[]; overrides: string[] } {
  const rest: string[] = [];
  const overrides: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--config.')) { rest.push(a); continue; }
    // Kept as `--config.a.b=v`, the form messages quote back.
    if (a.includes('=')) overrides.push(a);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) overrides.push(`${a}=${argv[++i]}`);
    else overrides.push(`${a}=true`); // a bare flag, as the references' READMEs write it
  }
  return { rest, overrides };
}

export async function main(argv = hideBin(process.argv)): Promise<void> {
  const { rest, overrides } = splitOverrides(argv);
  // Users of the references write `--mode train|eval|sample`: map it onto the command.
  const args = applyMode(rest, MODES);
  let cli = integerOptions(yargs(args), args, {
    threads: { min: 1, describe: "libtorch's intra-op threads (default: OMP_NUM_THREADS, else every core this process may use)" },
  })
    .scriptName('scoreflow')
    .usage('$0 <command> [options] [--config.<section>.<field>=<value> ...]')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(`${y.help()}\n\n${msg}`);
      process.exit(2);
    });
  for (const c of COMMANDS) {
    cli = cli.command(c.command, c.describe, (y) => c.builder(y, args), async (parsed) => {
      // Before the command loads libtorch (or anything that does).
      if (typeof parsed.threads === 'number') await applyThreads(parsed.threads);
      const run = await c.load();
      // --device is config.device for every command that has it: models, EMA, optimiser state and batches live there.
      const device = typeof parsed.device === 'string' ? [`device=${parsed.device}`] : [];
      await run(parsed as Record<string, unknown>, [...overrides, ...device]);
    });
  }
  await cli.parseAsync();
}
