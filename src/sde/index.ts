export * from './types.js';
export { batchView, dataDims, DiscreteTable, BaseSde, NUMERICS } from './base.js';
export { BetaLinearSde, type BetaSdeOptions } from './beta-schedule.js';
export { VPSDE, ddpmTables, type DdpmTables } from './vp.js';
export { SubVPSDE } from './subvp.js';
export { VESDE, type VeSdeOptions } from './ve.js';
export { createSde, sdeFromConfig, registerSde, sdeNames, type SdeParams } from './registry.js';
export { getScoreFn, getModelFn, scoreConvention, type ModelFn, type ScoreModel, type ScoreFnOptions } from './score-fn.js';
export { importanceSampler, type ImportanceSampler } from './importance.js';
