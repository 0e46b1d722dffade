#!/usr/bin/env node
// Entry point of the `scoreflow` command: runs the compiled CLI (npm run build, or scripts/setup).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('scoreflow: not built yet. Run `bash scripts/setup` (or `npm run build`) first.');
  process.exit(1);
}
const { main } = await import(cli.href);
try {
  await main();
} catch (e) {
  const code = e && typeof e === 'object' && 'code' in e ? ` [${e.code}]` : '';
  console.error(`scoreflow: ${e instanceof Error ? e.message : String(e)}${code}`);
  if (process.env.SCOREFLOW_DEBUG) console.error(e);
  process.exit(1);
}
