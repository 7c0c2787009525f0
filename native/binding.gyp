{
  # libtorch: Debian's libtorch-dev by default; LIBTORCH=python (the PyTorch that python3 imports) or
  # LIBTORCH=/path (site-packages/torch, an unpacked libtorch) selects another build. scripts/libtorch.mjs
  # resolves it to include dirs, defines (C++ ABI, Gloo/CUDA/NCCL when present), libraries and rpath.
  "targets": [
    {
      "target_name": "msccnet_torch",
      "sources": ["src/addon.cc", "src/allocator.cc", "src/tensor.cc", "src/ops.cc", "src/distributed.cc", "src/cuda.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node ../scripts/libtorch.mjs include_dirs)"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node ../scripts/libtorch.mjs defines)"],
      "libraries": ["<!@(node ../scripts/libtorch.mjs libraries)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    },
    {
      # FFmpeg's libraries (Debian's libav*-dev), for decoding and encoding videos in-process (src/av.cc).
      "target_name": "msccnet_av",
      "sources": ["src/av.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(pkg-config --cflags-only-I libavformat libavcodec libavfilter libavutil | sed 's/-I//g')"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["<!@(pkg-config --libs libavformat libavcodec libavfilter libavutil)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wno-unused-parameter"]
    }
  ]
}
