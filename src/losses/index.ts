export * from './types.js';
export { getWeighting, weightingName, type Weighting, type WeightingName, type WeightingContext } from './weighting.js';
export { continuousDsmLoss, type DsmOptions } from './dsm.js';
export { discreteLoss, type DiscreteOptions } from './discrete.js';
export { highOrderTerms, jacobianVectorProduct, supportedOrders, type HighOrderContext, type HighOrderTerms } from './high-order.js';
export { getLossFn, type LossFnOptions } from './registry.js';
