// How the engine's backend is named where people and programs read it: `--json`'s "backend", the run's
// metadata and the badge. A GPU is named with its adapter and API, and a software one says so, since
// "webgpu" alone would not tell a fast card from SwiftShader.
import type { BackendInfo, GpuAdapter } from './types';

/** "Vulkan", or "Vulkan, software" for a software adapter. */
const apiWords = (gpu: GpuAdapter) => `${gpu.api}${gpu.software ? ', software' : ''}`;

/** "GPU: NVIDIA GeForce RTX 4060 Laptop GPU (WebGPU, Vulkan)"; software adapters add ", software". */
export function gpuWords(gpu: GpuAdapter): string {
  return `GPU: ${gpu.name} (WebGPU, ${apiWords(gpu)})`;
}

/** The backend's name for `--json` and run metadata: "webgpu (<adapter>, <API>)", or tfjs's name. */
export function backendLabel(info: Pick<BackendInfo, 'name' | 'gpu'>): string {
  if (info.name === 'webgpu' && info.gpu) return `webgpu (${info.gpu.name}, ${apiWords(info.gpu)})`;
  return info.name;
}
