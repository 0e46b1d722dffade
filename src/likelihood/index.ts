export { odeLikelihood, probabilityFlowDrift, augmentedRhs, type OdeLikelihoodOptions, type OdeLikelihoodResult } from './ode-likelihood.js';
export { likelihoodBound, epsOffsetTerm, registerBoundForm, type BoundOptions, type BoundResult } from './bound.js';
export { valueAndDivergence, drawProbe, registerProbe, probeNames, type VectorField } from './divergence.js';
export { bitsPerDim, offsetBits, type OffsetSpec } from './bits.js';
export { likelihoodChunk, describeChunk, type ChunkChoice } from './chunk.js';
export { likelihoodWorkers } from './workers.js';
