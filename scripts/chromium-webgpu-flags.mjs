// Command-line flags with which Debian's headless Chromium (156) gives a page a working WebGPU device on a machine
// with no GPU, and findChromium() to locate that browser. Every flag below was measured to matter on the 2-core
// Debian 12 dev/CI machine; docs/browser-webgpu.md has the figures and the exact errors without each flag.
// Install the browser (and Mesa's lavapipe, which the compat flags need) with: bash scripts/install-chromium.sh
//
// Puppeteer adds --headless=new, --disable-dev-shm-usage and --no-first-run itself; add them when launching
// the binary directly.
import { accessSync, constants } from 'node:fs';

/** Core WebGPU on SwiftShader (Chromium's bundled CPU Vulkan): adapter architecture "swiftshader", subgroups. */
export const chromiumWebGPUFlags = Object.freeze([
  // As root, Chromium exits at once: "Running as root without --no-sandbox is not supported".
  '--no-sandbox',
  // Without it navigator.gpu exists but requestAdapter() resolves null ("No available adapters."): with no GPU,
  // Chromium marks WebGPU "software only" and blocklists CPU adapters unless unsafe WebGPU is on.
  '--enable-unsafe-webgpu',
]);

/**
 * Compatibility-mode WebGPU over ANGLE's GLES on Vulkan, where the Vulkan driver is Mesa's lavapipe: 4-5x faster
 * than SwiftShader here, but a compat device (no 'core-features-and-limits' feature, no subgroups, no shader-f16,
 * empty adapter info, maxStorageBufferBindingSize 128 MiB). Needs a lavapipe ICD: mesa-vulkan-drivers, or
 * VK_DRIVER_FILES pointing at one (../shared/gpu/lavapipe.sh). Works without --enable-unsafe-webgpu.
 */
export const chromiumWebGPUCompatFlags = Object.freeze([
  '--no-sandbox', // see above
  // ANGLE on the system Vulkan loader (lavapipe); headless Chromium otherwise picks --use-angle=swiftshader-webgl,
  // and the compat adapter then runs on SwiftShader at SwiftShader's speed.
  '--use-angle=vulkan',
  // Chromium never hands out lavapipe as a Vulkan WebGPU adapter (listed as "Blocklisted - crbug.com/40057808:
  // CPU adapters not fully tested or conformant", and refused even with the blocklist off); its OpenGLES
  // backend, on top of ANGLE, does run on lavapipe.
  '--use-webgpu-adapter=opengles',
  // The OpenGLES adapter exists only in compatibility mode: without this, a plain requestAdapter() gets
  // SwiftShader (or null) and only requestAdapter({ featureLevel: 'compatibility' }) reaches the GLES adapter.
  '--force-webgpu-compat',
]);

/** Where Debian's chromium package puts the real binary (/usr/bin/chromium is a shell wrapper, see the doc). */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

/**
 * Path of the Chromium executable: $CHROMIUM_PATH if set, else Debian's.
 * @returns {string}
 * @throws {Error} naming scripts/install-chromium.sh when none is found.
 */
export function findChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  for (const path of fromEnv ? [fromEnv] : CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `Chromium not found (looked at ${fromEnv ? `CHROMIUM_PATH=${fromEnv}` : CANDIDATES.join(', ')}). ` +
      'Install it with `bash scripts/install-chromium.sh` (as root, Debian), or set CHROMIUM_PATH.',
  );
}
