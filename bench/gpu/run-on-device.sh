#!/usr/bin/env bash
# On the device machine (through the device tool, carry [".gpu"], after bench/gpu/make-kit.sh): compiles
# TorchSharp's native library against the machine's PyTorch (libtorch with CUDA), then runs bench speed on the GPU
# with the carried .NET runtime and managed build; extra arguments go to bench speed (default: the real-size rows).
# Results land in $OUT, which the device tool brings back.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$(date +%s)
date
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
PY=python3
TORCH=$($PY -c "import torch,os;print(os.path.dirname(torch.__file__))")
ABI=$($PY -c "import torch;print(int(torch.compiled_with_cxx11_abi()))")
$PY -c "import torch;print('torch', torch.__version__, 'cuda', torch.version.cuda, 'abi', torch.compiled_with_cxx11_abi())"
K=/tmp/k; mkdir -p $K/obj && tar -xJf .gpu/kit.tar.xz -C $K || exit 1
echo "unpacked $(date +%T)"; which dotnet g++ gcc
cd $K/src/Native/LibTorchSharp
FLAGS="-O2 -fPIC -w -D_GLIBCXX_USE_CXX11_ABI=$ABI -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP"
INC="-I$TORCH/include -I$TORCH/include/torch/csrc/api/include -I$K/src/Native -I."
gcc -O2 -fPIC -w -c crc32c.c -o $K/obj/crc32c.o
ls *.cpp | xargs -P 16 -I{} sh -c "g++ -std=c++17 $FLAGS $INC -c {} -o $K/obj/{}.o 2> $K/obj/{}.err || echo FAILED {}"
for e in $K/obj/*.err; do [ -s $e ] && { echo "== $e"; head -c 3000 $e; }; done
echo "compiled $(date +%T)"
g++ -shared -o $K/app/libLibTorchSharp.so $K/obj/*.o -Wl,--no-as-needed -L$TORCH/lib -ltorch -ltorch_cpu \
  -ltorch_cuda -lc10 -lc10_cuda -Wl,-rpath,$TORCH/lib || exit 1
ls -la $K/app/libLibTorchSharp.so
export DOTNET_ROOT=$K/dotnet PATH=$K/dotnet:$PATH LD_LIBRARY_PATH=$TORCH/lib:$K/app DOTNET_CLI_TELEMETRY_OPTOUT=1
cd $ROOT
timeout $((570 - ($(date +%s) - START))) dotnet $K/app/SemiClip.Bench.dll speed --device cuda \
  ${@:---big --steps-only --peer $PY} --out $OUT 2>&1 | tee $OUT/bench.log
echo "bench rc ${PIPESTATUS[0]} $(date +%T)"
nvidia-smi --query-gpu=memory.used,clocks.sm --format=csv
