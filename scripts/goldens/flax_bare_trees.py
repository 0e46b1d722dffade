"""The tiny flax State fixture's params in the bare forms flax users save (issue 10):

  tiny_flax_params      flax.serialization.to_bytes({'params': state.optimizer.target})
  tiny_flax_params_ema  flax.serialization.to_bytes({'params_ema': state.params_ema})
  tiny_flax_modules     flax.serialization.to_bytes(state.params_ema)   (the module names at the top level)

Written with flax's own serialiser (not the hand-rolled msgpack of test/data/formats/make_golden.py), so
the reader is checked against what flax really writes. Imports only flax/numpy. Run from the repo root with
a venv holding jax 0.10.2 / flax 0.12.8:
  .cache/venv-flax/bin/python scripts/goldens/flax_bare_trees.py
"""
import os

import flax
from flax import serialization

DATA = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'data', 'formats')


def main():
    with open(os.path.join(DATA, 'tiny_flax_checkpoint'), 'rb') as f:
        state = serialization.msgpack_restore(f.read())
    target, ema = state['optimizer']['target'], state['params_ema']
    outputs = {
        'tiny_flax_params': {'params': target},
        'tiny_flax_params_ema': {'params_ema': ema},
        'tiny_flax_modules': ema,
    }
    for name, tree in outputs.items():
        data = serialization.to_bytes(tree)
        # the bytes must read back to the same tree with flax itself
        back = serialization.msgpack_restore(data)
        assert list(back) == list(tree), name
        with open(os.path.join(DATA, name), 'wb') as f:
            f.write(data)
        print(f'{name}: {len(data)} bytes, top-level keys {list(tree)[:4]}… (flax {flax.__version__})')


if __name__ == '__main__':
    main()
