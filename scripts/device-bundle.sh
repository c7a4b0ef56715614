#!/usr/bin/env bash
# Packs what a GPU benchmark run needs into .device/ (git-ignored): Node, Dawn and the Vulkan loader
# (../shared/gpu/device-prep.sh), plus the CLI bundled into one file with esbuild (webgpu stays external and
# resolves to .device/node_modules/webgpu). On the GPU machine:
#   source .device/enter.sh; node .device/vptq.mjs bench kernels
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm exec turbo run build --filter=vptq... --output-logs=errors-only
shared=$(cd "${VPTQ_SHARED:-../shared}" && pwd)
if [ -d .git ]; then
  bash "$shared/gpu/device-prep.sh"
else
  # A git worktree: .git is a file, and device-prep.sh creates .git/info (for an exclude line that .gitignore
  # already covers). Prepare in a scratch repository that sees this node_modules, then move the result here.
  scratch=$(mktemp -d); git init -q "$scratch"; ln -s "$PWD/node_modules" "$scratch/node_modules"
  if [ -d .device ]; then cp -a .device "$scratch/"; fi
  (cd "$scratch" && bash "$shared/gpu/device-prep.sh")
  rm -rf .device && mv "$scratch/.device" .device && rm -rf "$scratch"
fi
pnpm exec esbuild packages/vptq/dist/cli.js --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/vptq.mjs \
  --banner:js="import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);"
mkdir -p .device/examples/babyllama && cp -r examples/stories260K .device/examples/
cp "$shared"/fixtures/en10-babyllama-tok105/{model5000.bin,tok105.bin} .device/examples/babyllama/
# The quantizer's kernels one by one (benchmarks/quantize-kernels.mjs; benchmarks/h100-quantize.sh runs it).
pnpm exec esbuild benchmarks/quantize-kernels.mjs --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/quantize-kernels.mjs \
  --banner:js="import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);"
# Where a refinement round's refit goes (benchmarks/refit-profile.mjs; benchmarks/h100-profile.sh runs it).
pnpm exec esbuild benchmarks/refit-profile.mjs --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/refit-profile.mjs \
  --banner:js="import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);"
du -sh .device
