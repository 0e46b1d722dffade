// Runs the CLI straight from src/ (tests and development): node --import ./scripts/register-ts.js scripts/dev-cli.ts …
import { main } from '../src/cli.js';

await main();
