/**
 * The reference outputs the suite checks against (score_sde_pytorch's a_ddpmpp state dict and ckpt_a
 * training checkpoint; see test/data/reference/README.md). They live inside the repository so that a
 * user's fresh clone runs every test.
 */
import { fileURLToPath } from 'node:url';

/** Folder of the reference fixtures, with a trailing slash. */
export const REFERENCE_FIXTURES = fileURLToPath(new URL('./data/reference/', import.meta.url));
