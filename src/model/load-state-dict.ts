/**
 * Copying a state dict into a network's live tensors, with the report every network's loadStateDict gives
 * (missing, unexpected and wrongly shaped keys; strict: any of those is an ERR_STATE_DICT error and nothing
 * is changed).
 */
import type { HostTensor } from '../host-tensor.js';
import { ScoreflowError } from '../errors.js';
import { fromHost, type Tensor } from '../tensor.js';
import { noGrad } from '../autograd.js';

export interface LoadReport { missing: string[]; unexpected: string[]; mismatched: { key: string; expected: number[]; received: number[] }[] }

export type AnyTensor = Tensor | HostTensor;
const isDevice = (t: AnyTensor): t is Tensor => typeof (t as Tensor).dispose === 'function';

/** Copies `sd` into `own` (live views of a network's tensors; not disposed here). */
export function loadInto(own: ReadonlyMap<string, Tensor>, sd: ReadonlyMap<string, AnyTensor>, strict: boolean): LoadReport {
  const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
  for (const key of own.keys()) if (!sd.has(key)) report.missing.push(key);
  for (const [key, t] of sd) {
    const mine = own.get(key);
    if (!mine) report.unexpected.push(key);
    else if (mine.shape.join() !== t.shape.join()) report.mismatched.push({ key, expected: mine.shape, received: [...t.shape] });
  }
  const problems = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && problems > 0) throw new ScoreflowError('ERR_STATE_DICT', describeReport(report));
  noGrad(() => {
    for (const [key, t] of sd) {
      const mine = own.get(key);
      if (!mine || report.mismatched.some((m) => m.key === key)) continue;
      if (isDevice(t)) mine.copy_(t);
      else {
        const src = fromHost(t);
        mine.copy_(src);
        src.dispose();
      }
    }
  });
  return report;
}

export function describeReport(r: LoadReport): string {
  const parts: string[] = [];
  const list = (xs: string[]) => xs.slice(0, 8).join(', ') + (xs.length > 8 ? ` … (${xs.length} in all)` : '');
  if (r.missing.length) parts.push(`missing keys: ${list(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected keys: ${list(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push('shape mismatches: ' + r.mismatched.slice(0, 8)
      .map((m) => `${m.key} expected [${m.expected.join(', ')}] received [${m.received.join(', ')}]`).join('; '));
  }
  return `state dict does not match the model: ${parts.join('; ')}`;
}
