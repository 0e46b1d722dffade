/** Sample-quality metrics: FID, KID, Inception score, the Inception-v3 network and reference stats files. */
export { activationStatistics, frechetDistance, frechetDistanceFromActivations, type ActivationStatistics, type FrechetOptions, type Matrix } from './fid.js';
export { kernelInceptionDistance, kernelInceptionDistanceAndStd, type KidOptions, type KidResult } from './kid.js';
export { inceptionScore } from './inception-score.js';
export { InceptionV3, guessVariant, type InceptionOptions, type InceptionOutputs, type InceptionLoadReport, type InceptionVariant } from './inception.js';
export { readReferenceStats, writeReferenceStats, type ReferenceStats } from './stats-file.js';
export { eigh, sqrtmPsd, trace } from './linalg.js';
export { sampleQuality, writeReport, type SampleQuality } from './report.js';
