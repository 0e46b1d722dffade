// Precompiled header: libtorch's headers cost ~11 s and ~1 GB per translation unit, so every native
// source includes this first and the build precompiles it once.
#pragma once
#include <torch/torch.h>
#include <napi.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>
