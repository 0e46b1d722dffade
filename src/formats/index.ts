/**
 * Checkpoint and array file formats, pure TypeScript (no native addon): torch.save (zip + legacy) read and
 * write, a code-free pickle VM, npy/npz, safetensors, flax msgpack, the references' checkpoint layouts and
 * the flax→torch parameter map. Every malformed input raises a FormatError (`code: 'ERR_FORMAT'`).
 */
export { FormatError } from './errors.js';
export { OrderedDict, PyFloat, PyReduce, tuple, isTuple, dictGet, dictEntries } from './py-values.js';
export { loadPickle, type PickleGlobals } from './pickle.js';
export { dumpPickle, PickleWriter } from './pickle-writer.js';
export { readZip, writeZip } from './zip.js';
export { loadTorch, loadTorchFile, loadTorchZip, loadTorchLegacy, loadPlainPickle, asStateDict, type TorchLoadOptions } from './torch-load.js';
export { saveTorch, saveTorchFile, stateDict } from './torch-save.js';
export { TorchDType } from './torch-types.js';
export { readNpy, writeNpy, readNpyFile, writeNpyFile } from './npy.js';
export { readNpz, writeNpz, readNpzFile, writeNpzFile } from './npz.js';
export { readSafetensors, writeSafetensors, readSafetensorsFile, writeSafetensorsFile } from './safetensors.js';
export { decodeMsgpack, encodeMsgpack, MsgpackExt } from './msgpack.js';
export { readFlaxCheckpoint, readFlaxCheckpointFile, writeFlaxCheckpoint, writeFlaxCheckpointFile, flaxGet } from './flax.js';
export { locateFlaxParams, chooseFlaxWeights, type FlaxParamsTrees, type FlaxWeightsChoice } from './flax-params.js';
export {
  buildFlaxToTorchMap, classifyTorchModules, flaxModuleNames, flaxParamsToTorch, torchToFlaxParams, convertLeaf, unconvertLeaf,
  type LeafMapping, type FlaxModuleClass,
} from './flax-torch-map.js';
export {
  readReferenceCheckpoint, interpretReferenceCheckpoint, toReferenceCheckpoint, stripModulePrefix,
  interpretFlaxState, readFlaxReferenceState, toFlaxState, type ReferenceCheckpoint, type FlaxReferenceState, type FlaxStateInput,
} from './reference-checkpoint.js';
export { detectFormat, readCheckpoint, readCheckpointFile, SUPPORTED_FORMATS, type FileFormat } from './registry.js';
export { readStateDict, applyEmaShadow, checkStateDict, type StateDictOptions } from './state-dict.js';
export { toNumbers, halfToFloat, bfloat16ToFloat, floatToHalf, permute, isHostTensor } from './tensor-util.js';
