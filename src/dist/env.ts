/**
 * The torchrun environment (torch/distributed/run.py): a process started with RANK, WORLD_SIZE, MASTER_ADDR
 * and MASTER_PORT (plus LOCAL_RANK, LOCAL_WORLD_SIZE) joins a job, whoever started it: `scoreflow train
 * --nproc N`, `torchrun --no-python`, or a cluster launcher. TORCHELASTIC_USE_AGENT_STORE=True means the
 * launcher's agent already serves the TCPStore at MASTER_ADDR:MASTER_PORT (torchrun's static rendezvous), so
 * rank 0 must not serve one; TORCHELASTIC_RESTART_COUNT separates the keys of restarted attempts.
 */
import { ScoreflowError } from '../errors.js';

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** The TCPStore is a launcher agent's (do not serve one). */
  agentStore: boolean;
  restartCount: number;
  /** Collective and rendezvous timeout (SCOREFLOW_DIST_TIMEOUT, seconds; default 600). */
  timeoutMs: number;
}

export const DEFAULT_DIST_TIMEOUT_S = 600;

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ScoreflowError('ERR_ARG', `${name}: expected an integer >= ${min} in the environment (torchrun's conventions), received nothing`);
  }
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) throw new ScoreflowError('ERR_ARG', `${name}: expected an integer >= ${min}, received '${raw}'`);
  return v;
}

/** The job this process belongs to, or undefined when it runs alone (no WORLD_SIZE, or WORLD_SIZE=1). */
export function distEnvFrom(env: NodeJS.ProcessEnv): DistEnv | undefined {
  if ((env.WORLD_SIZE ?? '') === '' && (env.RANK ?? '') === '') return undefined;
  const worldSize = intVar(env, 'WORLD_SIZE', 1);
  const rank = intVar(env, 'RANK', 0);
  if (rank >= worldSize) throw new ScoreflowError('ERR_ARG', `RANK: expected an integer < WORLD_SIZE (${worldSize}), received ${rank}`);
  if (worldSize === 1) return undefined;
  const masterAddr = env.MASTER_ADDR ?? '';
  if (masterAddr === '') throw new ScoreflowError('ERR_ARG', 'MASTER_ADDR: expected the host of rank 0 (e.g. 127.0.0.1) in the environment, received nothing');
  const masterPort = intVar(env, 'MASTER_PORT', 1);
  if (masterPort > 65535) throw new ScoreflowError('ERR_ARG', `MASTER_PORT: expected a port 1..65535, received ${masterPort}`);
  const localWorldSize = intVar(env, 'LOCAL_WORLD_SIZE', 1, worldSize);
  const localRank = intVar(env, 'LOCAL_RANK', 0, rank % localWorldSize);
  if (localRank >= localWorldSize) throw new ScoreflowError('ERR_ARG', `LOCAL_RANK: expected an integer < LOCAL_WORLD_SIZE (${localWorldSize}), received ${localRank}`);
  const timeoutS = intVar(env, 'SCOREFLOW_DIST_TIMEOUT', 1, DEFAULT_DIST_TIMEOUT_S);
  return {
    rank, worldSize, localRank, localWorldSize, masterAddr, masterPort,
    agentStore: (env.TORCHELASTIC_USE_AGENT_STORE ?? '').toLowerCase() === 'true',
    restartCount: intVar(env, 'TORCHELASTIC_RESTART_COUNT', 0, 0),
    timeoutMs: timeoutS * 1000,
  };
}
