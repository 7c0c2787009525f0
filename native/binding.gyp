{
  # libtorch: Debian's libtorch-dev by default; LIBTORCH=/path selects another build
  # (e.g. a CUDA libtorch from pytorch.org) — its include/ and lib/ are used and put on the rpath.
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")"
  },
  "targets": [
    {
      "target_name": "msccnet_torch",
      "sources": ["src/addon.cc", "src/allocator.cc", "src/tensor.cc", "src/ops.cc", "src/distributed.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=1", "USE_C10D_GLOO"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "conditions": [
        ["libtorch==''", {
          "include_dirs": ["/usr/include", "/usr/include/torch/csrc/api/include"],
          "libraries": ["-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": ["-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "<!(node -p \"require('fs').existsSync(process.env.LIBTORCH + '/lib/libtorch_cuda.so') ? '-ltorch_cuda' : '-lc10'\")", "-Wl,--as-needed"]
        }]
      ]
    }
  ]
}
