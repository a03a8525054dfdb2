#!/usr/bin/env bash
# Packs what a GPU machine without .NET or network needs to run SemiClip's benchmarks on CUDA: the .NET runtime (with
# ASP.NET, which the bench references), the Release build's managed assemblies (no LibTorch: the GPU machine's
# PyTorch provides it), and TorchSharp's native sources at the release the project references, which
# run-on-device.sh compiles there against that PyTorch. TorchSharp's CUDA package is not served here, so this is how
# the CUDA path gets tested.
#
#   bench/gpu/make-kit.sh PATH-TO-TORCHSHARP-CLONE   # writes .gpu/kit.tar.xz (.gpu/ is for .git/info/exclude)
#
# then, through the device tool: run `bash bench/gpu/run-on-device.sh` with carry [".gpu"]. The kit is ~45 MB of the
# 64 MiB a call may carry.
set -euo pipefail
torchsharp="${1:?path to a clone of dotnet/TorchSharp}"
cd "$(dirname "$0")/../.."
version=$(sed -n 's/.*<TorchSharpVersion>\(.*\)<\/TorchSharpVersion>.*/\1/p' Directory.Packages.props)
# The native sources must be those of the release whose managed TorchSharp.dll the build holds (exports match one for
# one): the clone's HEAD must be that release.
minor=$(git -C "$torchsharp" show HEAD:build/BranchInfo.props | sed -n 's/.*<MinorVersion>\(.*\)<\/MinorVersion>.*/\1/p')
[ "0.$minor.0" = "$version" ] || { echo "TorchSharp clone is at 0.$minor.0, the project references $version" >&2; exit 1; }
dotnet build bench/SemiClip.Bench -c Release
kit=$(mktemp -d)
trap 'rm -rf "$kit"' EXIT
out=bench/SemiClip.Bench/bin/Release/net10.0
mkdir -p "$kit/app" "$kit/dotnet/shared"
cp "$out"/*.dll "$out/SemiClip.Bench.runtimeconfig.json" "$out/runtimes/linux-x64/native/libSkiaSharp.so" "$kit/app/"
root=$(dirname "$(readlink -f "$(command -v dotnet)")")
cp -r "$root/dotnet" "$root/host" "$kit/dotnet/"
cp -r "$root/shared/Microsoft.NETCore.App" "$root/shared/Microsoft.AspNetCore.App" "$kit/dotnet/shared/"
git -C "$torchsharp" archive HEAD src/Native | tar -x -C "$kit"
mkdir -p .gpu
tar -cJf .gpu/kit.tar.xz -C "$kit" app dotnet src
ls -la .gpu/kit.tar.xz
