#!/usr/bin/env bash
# Packs what a GPU benchmark run needs into .device/ (git-ignored): Node, Dawn and the Vulkan loader
# (../shared/gpu/device-prep.sh), plus the CLI bundled into one file with esbuild (webgpu stays external and
# resolves to .device/node_modules/webgpu). On the GPU machine:
#   source .device/enter.sh; node .device/vptq.mjs bench kernels
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm exec turbo run build --filter=vptq... --output-logs=errors-only
bash "${VPTQ_SHARED:-../shared}/gpu/device-prep.sh"
pnpm exec esbuild packages/vptq/dist/cli.js --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/vptq.mjs \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
mkdir -p .device/examples/babyllama && cp -r examples/stories260K .device/examples/
cp "${VPTQ_SHARED:-../shared}"/fixtures/en10-babyllama-tok105/{model5000.bin,tok105.bin} .device/examples/babyllama/
# The quantizer's kernels one by one (benchmarks/quantize-kernels.mjs; benchmarks/h100-quantize.sh runs it).
pnpm exec esbuild benchmarks/quantize-kernels.mjs --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.device/quantize-kernels.mjs \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
du -sh .device
