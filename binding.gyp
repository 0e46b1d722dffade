{
  # Fallback build with node-gyp (cmake-js is primary): `npm run build:native:gyp`, output in build/.
  # Uses the system libtorch (Debian libtorch-dev) unless LIBTORCH_DIR points at another one.
  # CPU-only by design (SF_WITH_CUDA=0, no libtorch_cuda): the CUDA variant is built by CMakeLists.txt only
  # (SCOREFLOW_CUDA=1, see docs/gpu.md).
  "variables": {
    "torch_dir%": "<!(node -p \"process.env.LIBTORCH_DIR || '/usr'\")",
    "torch_include%": "<!(node -p \"process.env.LIBTORCH_DIR ? process.env.LIBTORCH_DIR + '/include' : '/usr/include'\")",
    # libtorch 2.14+ headers require C++20 (ATen.h says so); older ones are built with C++17.
    "cxx_std%": "<!(node -p \"require('fs').readFileSync((process.env.LIBTORCH_DIR ? process.env.LIBTORCH_DIR + '/include' : '/usr/include') + '/ATen/ATen.h', 'utf8').includes('C++20 or later') ? 'c++20' : 'c++17'\")",
    # nn/batch_split.cc needs at::parallel_for compiled with OpenMP where libtorch uses it (CMakeLists.txt says
    # why); node-gyp has no per-file flags, so every file gets it (no other file calls at::parallel_for).
    "torch_openmp_flag%": "<!(node -p \"require('fs').readFileSync((process.env.LIBTORCH_DIR ? process.env.LIBTORCH_DIR + '/include' : '/usr/include') + '/ATen/Config.h', 'utf8').includes('#define AT_PARALLEL_OPENMP 1') ? '-fopenmp' : '-Wno-unknown-pragmas'\")",
    "torch_lib%": "<!(node -p \"process.env.LIBTORCH_DIR ? process.env.LIBTORCH_DIR + '/lib' : '/usr/lib/' + (process.arch === 'arm64' ? 'aarch64' : 'x86_64') + '-linux-gnu'\")"
  },
  "targets": [
    {
      "target_name": "scoreflow",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native', { recursive: true }).filter(f => f.endsWith('.cc')).sort().map(f => 'native/' + f).join(' ')\")"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<(torch_include)",
        "<(torch_include)/torch/csrc/api/include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "SF_WITH_CUDA=0", "_GLIBCXX_USE_CXX11_ABI=1",
                  # c10d (native/dist): Gloo when Debian's libgloo-dev headers are there; no NCCL (CPU-only build).
                  "USE_DISTRIBUTED", "SF_WITH_NCCL=0",
                  "<!(node -p \"require('fs').existsSync('/usr/include/gloo/algorithm.h') ? 'USE_C10D_GLOO' : 'SF_NO_GLOO'\")",
                  "<!(node -p \"require('fs').existsSync('/usr/include/gloo/algorithm.h') ? 'SF_WITH_GLOO=1' : 'SF_WITH_GLOO=0'\")"],
      # node-gyp adds -fno-rtti and -fno-exceptions, which break libtorch's headers.
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=<(cxx_std)", "-frtti", "-fexceptions", "-Wno-unused-parameter", "<(torch_openmp_flag)"],
      "ldflags": ["-Wl,-z,now", "-Wl,--no-as-needed", "-L<(torch_lib)", "-Wl,-rpath,<(torch_lib)"],
      "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
    }
  ]
}
