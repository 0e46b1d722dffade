/**
 * Per-call overhead of the bridge: the same small op timed through N-API (JS → native → libtorch → new
 * JS handle) and inside libtorch alone. Usage: npm run bench:bridge
 */
import { addon } from '../src/native.js';
import { ones } from '../src/tensor.js';
import { tidy } from '../src/scope.js';
import { buildInfo, numThreads } from '../src/device.js';

function timeJs(fn: () => void, iters: number): number {
  for (let i = 0; i < Math.min(1000, iters); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e9 / iters;
}

const us = (s: number) => `${(s * 1e6).toFixed(2)} µs`;
console.log(`libtorch ${buildInfo().torchVersion}, intra-op threads ${numThreads()}`);
console.log('op                          bridge (JS)    in tidy()      libtorch alone   overhead   ratio');
for (const n of [1, 1024, 1024 * 1024]) {
  const a = ones([n]);
  const b = ones([n]);
  const iters = n > 100_000 ? 200 : 20_000;
  // Disposing each result right away lets the allocator reuse the block, as the libtorch loop does.
  const bridge = timeJs(() => a.add(b).dispose(), iters);
  const scoped = timeJs(() => tidy(() => { a.add(b); }), iters);
  const alone = addon().timeAddLoop(a, b, iters);
  console.log(`add float32[${n}]`.padEnd(28) + us(bridge).padEnd(15) + us(scoped).padEnd(15) + us(alone).padEnd(17) +
    us(bridge - alone).padEnd(11) + (bridge / alone).toFixed(2) + 'x');
  a.dispose();
  b.dispose();
}
const t = ones([4]);
const getter = timeJs(() => { void t.shape; }, 100_000);
console.log(`shape getter (N-API only)   ${us(getter)}`);
t.dispose();
