// Type-checked by scripts/ci/package in a fresh project (moduleResolution node16 and bundler): the root
// exports, every subpath, and real types (the @ts-expect-error lines fail if a type resolved to `any`).
import {
  VPSDE, subVPSDE, SubVPSDE, VESDE, ScoreModel, Trainer, odeLikelihood, pcSample, odeSample, sample,
  readStateDict, readCheckpointFile, generator, tensor, tidy, loadConfig, sdeFromConfig, getScoreFn,
  type Sde, type ScoreFn, type OdeLikelihoodResult, type Tensor,
} from 'scoreflow';
import { readFileSync } from 'node:fs';
import { readSafetensors, type FileFormat } from 'scoreflow/formats';
import { bitsPerDim } from 'scoreflow/likelihood';
import * as config from 'scoreflow/config';
import * as data from 'scoreflow/data';
import * as evaluation from 'scoreflow/eval';
import * as losses from 'scoreflow/losses';
import * as metrics from 'scoreflow/metrics';
import * as ode from 'scoreflow/ode';
import * as sampling from 'scoreflow/sampling';
import * as sde from 'scoreflow/sde';
import * as train from 'scoreflow/train';

const sdes: Sde[] = [new VPSDE(), new subVPSDE(), new SubVPSDE(), new VESDE()];
const score: ScoreFn = (x) => x.neg();
const likelihood = (x: ReturnType<typeof tensor>): OdeLikelihoodResult =>
  tidy(() => odeLikelihood(score, sdes[0]!, x, { generator: generator(0), offset: 'none' }));
// @ts-expect-error: odeLikelihood takes a score function first, not an SDE
odeLikelihood(sdes[0]!, score, tensor([0]));
// @ts-expect-error: readStateDict takes the file's bytes, not a number
readStateDict(42);
const format: FileFormat | null = null;

/** The README's library example, as written there. */
export function readmeExample(x: Tensor): Tensor {
  const config = loadConfig('score_flow/vp/cifar10_ddpmpp_continuous');
  const model = new ScoreModel(config, { stage: 'eval' }).eval();
  model.loadStateDict(readStateDict(readFileSync('checkpoint_26.pth'), 'checkpoint_26.pth', { ema: true }));
  const sde = sdeFromConfig(config);
  const scoreFn = getScoreFn(sde, model, { continuous: config.training.continuous });
  const { bpd } = odeLikelihood(scoreFn, sde, x, { generator: generator(0) });
  return bpd;
}
export const used = [ScoreModel, Trainer, pcSample, odeSample, sample, readCheckpointFile, readSafetensors, bitsPerDim,
  likelihood, format, config.loadConfig, data.openDataset, evaluation.runEvaluation, losses.getLossFn,
  metrics.frechetDistance, ode.odeSolve, sampling.samplerNames, sde.sdeNames, train.Trainer];
