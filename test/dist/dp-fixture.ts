// What the data-parallel training tests add to test/train/tiny-trainer.ts's TINY: a global batch of 8 (4 per
// rank) and an eval batch every 2 steps (its loss is computed on row shards and gathered).
export const DP_TINY = ['training.batch_size=8', 'training.eval_freq=2'];
