export { odeSolve, nextAfter, type OdeFn, type OdeOptions, type OdeResult, type OdeStepInfo } from './solve.js';
export { registerTableau, getTableau, tableauNames, DOPRI5, EULER, HEUN, RK4, type ButcherTableau } from './tableau.js';
