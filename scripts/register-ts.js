// Lets `node --import ./scripts/register-ts.js file.ts` run TypeScript scripts through ts-node's ESM loader.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

// Type checking is `npm run typecheck`'s job; scripts only need transpiling.
process.env.TS_NODE_TRANSPILE_ONLY ??= '1';
register('ts-node/esm', pathToFileURL('./'));
