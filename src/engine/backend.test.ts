import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { checkGpuPrerequisites, checkGraphicsDevice, createBackendSelector, explainFailure, selectBackend, type BackendLoaders, type GpuSystem } from './backend';
import { ensureBackend } from './compute';

// The errors the real requires throw in each situation (messages as Node and tfjs-node print them).
const notInstalled = (pkg: string) =>
  Object.assign(new Error(`Cannot find module '${pkg}'\nRequire stack:\n- /app/dist/engine/entry.js`), { code: 'MODULE_NOT_FOUND' });
const cudaMissing = () => new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');
const bindingMissing = () =>
  new Error(
    'The Node.js native addon module (tfjs_binding.node) can not be found at path: /app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \n' +
      "Please run command 'npm rebuild @tensorflow/tfjs-node' to rebuild the native addon module.",
  );
const libtensorflowMissing = () => new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory');

function fakes(over: Partial<BackendLoaders>) {
  const loaders: BackendLoaders = {
    tensorflowGpu: vi.fn(async () => {
      throw notInstalled('@tensorflow/tfjs-node-gpu');
    }),
    tensorflow: vi.fn(async () => {
      throw notInstalled('@tensorflow/tfjs-node');
    }),
    webgpu: vi.fn(async () => {
      throw Object.assign(new Error('no graphics card found (/dev/dri/renderD*)'), { code: 'no-gpu' });
    }),
    wasm: vi.fn(async () => 1),
    ...over,
  };
  const activate = vi.fn(async () => true);
  return { loaders, activate };
}

describe('selectBackend with injected loaders', () => {
  it('takes tfjs-node-gpu when it loads, with no reasons', async () => {
    const { loaders, activate } = fakes({ tensorflowGpu: vi.fn(async () => undefined) });
    const info = await selectBackend({ loaders, activate });
    expect(info).toMatchObject({ name: 'tensorflow-gpu', gradients: 'tensorflow-gpu', badge: 'GPU', reasons: [] });
    expect(activate).toHaveBeenCalledWith('tensorflow');
    expect(loaders.tensorflow).not.toHaveBeenCalled();
  });

  it('falls back to tfjs-node when CUDA is missing, and says so', async () => {
    const { loaders, activate } = fakes({ tensorflowGpu: vi.fn(async () => Promise.reject(cudaMissing())), tensorflow: vi.fn(async () => undefined) });
    const info = await selectBackend({ loaders, activate });
    expect(info).toMatchObject({ name: 'tensorflow', gradients: 'tensorflow', badge: 'CPU' });
    expect(info.reasons).toEqual([expect.stringContaining('CUDA 11.2/cuDNN 8.1 not found: training will use the CPU'), 'No graphics card was found for WebGPU: training will use the CPU.']);
  });

  it('falls back to wasm (cpu gradients) when neither TensorFlow for Node loads, with one reason each', async () => {
    const { loaders, activate } = fakes({ tensorflow: vi.fn(async () => Promise.reject(bindingMissing())) });
    const info = await selectBackend({ loaders, activate });
    expect(info).toMatchObject({ name: 'wasm', gradients: 'cpu', badge: 'WASM', threads: 1 });
    expect(info.reasons).toHaveLength(3);
    expect(info.reasons[0]).toMatch(/graphics-card edition of TensorFlow is not installed.*internet/);
    expect(info.reasons[2]).toMatch(/TensorFlow for Node is installed but its native library is missing.*Reinstall Foldwise while online/);
  });

  it('ends on the plain cpu backend when wasm fails too', async () => {
    const { loaders, activate } = fakes({ wasm: vi.fn(async () => Promise.reject(new Error('WebAssembly.instantiate(): out of memory'))) });
    const info = await selectBackend({ loaders, activate });
    expect(info).toMatchObject({ name: 'cpu', gradients: 'cpu', badge: 'CPU', threads: 1 });
    expect(info.reasons).toHaveLength(4);
    expect(info.reasons[2]).toBe('TensorFlow for Node is not installed (its download needs the internet): using the WebAssembly engine, which is slower.');
    expect(info.reasons[3]).toMatch(/WebAssembly engine could not start \(WebAssembly.instantiate\(\): out of memory\)/);
    expect(activate).toHaveBeenLastCalledWith('cpu');
  });

  it('does not take a backend that loads but will not start', async () => {
    const { loaders } = fakes({ tensorflow: vi.fn(async () => undefined) });
    const activate = vi.fn(async (name: string) => name !== 'tensorflow');
    const info = await selectBackend({ loaders, activate });
    expect(info.name).toBe('wasm');
    expect(info.reasons[2]).toMatch(/TensorFlow for Node could not start \(the tensorflow backend registered but did not start\)/);
  });
});

describe('WebGPU in the selection', () => {
  const card = { name: 'NVIDIA GeForce RTX 4060 Laptop GPU', api: 'Vulkan' as const, software: false };
  const swiftShader = { name: 'SwiftShader driver 5.0.0', api: 'Vulkan' as const, software: true };

  it('takes a hardware card after CUDA, before tfjs-node, and names it', async () => {
    const { loaders, activate } = fakes({ webgpu: vi.fn(async () => card), tensorflow: vi.fn(async () => undefined) });
    const info = await selectBackend({ loaders, activate, forced: '' });
    expect(info).toMatchObject({ name: 'webgpu', gradients: 'webgpu', badge: 'GPU', gpu: card });
    expect(activate).toHaveBeenCalledWith('webgpu');
    expect(loaders.tensorflow).not.toHaveBeenCalled();
    expect(info.reasons).toHaveLength(1); // why CUDA was not taken
  });

  it('never takes a software adapter by itself, and says why', async () => {
    const { loaders, activate } = fakes({ webgpu: vi.fn(async () => swiftShader) });
    const info = await selectBackend({ loaders, activate, forced: undefined });
    expect(info.name).toBe('wasm');
    expect(activate).not.toHaveBeenCalledWith('webgpu');
    expect(info.reasons[1]).toMatch(/only a software adapter \(SwiftShader driver 5.0.0\).*FOLDWISE_BACKEND=webgpu/);
  });

  it('FOLDWISE_BACKEND=webgpu takes even a software adapter, skips CUDA, and says it was asked for', async () => {
    const { loaders, activate } = fakes({ webgpu: vi.fn(async () => swiftShader) });
    const info = await selectBackend({ loaders, activate, forced: 'webgpu' });
    expect(info).toMatchObject({ name: 'webgpu', gpu: swiftShader });
    expect(loaders.webgpu).toHaveBeenCalledWith(true);
    expect(loaders.tensorflowGpu).not.toHaveBeenCalled();
    expect(info.reasons).toEqual([expect.stringMatching(/asked for \(FOLDWISE_BACKEND=webgpu\).*software/)]);
  });

  it('FOLDWISE_BACKEND=webgpu fails loudly where WebGPU cannot run, instead of quietly using the CPU', async () => {
    const { loaders, activate } = fakes({});
    await expect(selectBackend({ loaders, activate, forced: 'webgpu' })).rejects.toThrow(/FOLDWISE_BACKEND=webgpu asks for WebGPU, but it cannot run here/);
  });

  it('FOLDWISE_BACKEND=cpu leaves both graphics routes alone', async () => {
    const { loaders, activate } = fakes({ webgpu: vi.fn(async () => card) });
    const info = await selectBackend({ loaders, activate, forced: 'CPU' });
    expect(info.name).toBe('wasm');
    expect(loaders.webgpu).not.toHaveBeenCalled();
    expect(loaders.tensorflowGpu).not.toHaveBeenCalled();
    expect(info.reasons[0]).toMatch(/FOLDWISE_BACKEND=cpu/);
  });

  it('looks for a graphics card on Linux before loading Dawn, and leaves that to Dawn elsewhere', () => {
    const check = (platform: NodeJS.Platform, nodes: string[]) => {
      try {
        checkGraphicsDevice({ platform, renderNodes: () => nodes });
        return 'looks';
      } catch (error) {
        return explainFailure('webgpu', error);
      }
    };
    expect(check('linux', [])).toBe('No graphics card was found for WebGPU: training will use the CPU.');
    expect(check('linux', ['renderD128'])).toBe('looks');
    expect(check('linux', ['/dev/nvidia0'])).toBe('looks');
    expect(check('win32', [])).toBe('looks');
  });

  it('refuses a route it does not know', async () => {
    const { loaders, activate } = fakes({});
    await expect(selectBackend({ loaders, activate, forced: 'cuda' })).rejects.toThrow(/FOLDWISE_BACKEND=cuda is not a route Foldwise knows/);
  });
});

describe('explainFailure', () => {
  it('tells the missing native library from the missing package and from other failures', () => {
    expect(explainFailure('tensorflow', libtensorflowMissing())).toMatch(/native library is missing/);
    expect(explainFailure('tensorflow-gpu', notInstalled('@tensorflow/tfjs-node-gpu'))).toMatch(/not installed/);
    expect(explainFailure('tensorflow-gpu', new Error('libcudnn.so.8: cannot open shared object file'))).toMatch(/^CUDA 11.2\/cuDNN 8.1 not found/);
    expect(explainFailure('tensorflow', new Error("/lib/x86_64-linux-gnu/libm.so.6: version `GLIBC_2.29' not found"))).toMatch(/newer Linux/);
    // A missing dependency of the package is not "the package is not installed".
    expect(explainFailure('tensorflow', notInstalled('node-pre-gyp'))).toMatch(/^TensorFlow for Node could not start \(Cannot find module 'node-pre-gyp'\)/);
  });
});

describe('checkGpuPrerequisites', () => {
  const linux = (files: string[]): GpuSystem => ({ platform: 'linux', exists: (f) => files.includes(f), libraryDirs: () => ['/usr/local/cuda/lib64'] });
  const explained = (system: GpuSystem) => {
    try {
      checkGpuPrerequisites(system);
      return 'ok';
    } catch (error) {
      return explainFailure('tensorflow-gpu', error);
    }
  };

  it('explains a Mac, a PC without an NVIDIA driver, and the wrong CUDA version', () => {
    expect(explained({ platform: 'darwin', exists: () => true, libraryDirs: () => [] })).toMatch(/^Macs cannot train on the graphics card/);
    expect(explained(linux([]))).toBe('No NVIDIA graphics card (or driver) was found: training will use the CPU.');
    // CUDA 12 is the usual install today; tfjs-node-gpu 4.x needs 11.x.
    const cuda12 = linux(['/proc/driver/nvidia/version', '/usr/local/cuda/lib64/libcudart.so.12', '/usr/local/cuda/lib64/libcudnn.so.8']);
    expect(explained(cuda12)).toMatch(/^CUDA 11.2\/cuDNN 8.1 not found: training will use the CPU/);
    expect(explained(linux(['/proc/driver/nvidia/version', '/usr/local/cuda/lib64/libcudart.so.11.0', '/usr/local/cuda/lib64/libcudnn.so.8']))).toBe('ok');
    const windows: GpuSystem = { platform: 'win32', exists: (f) => f.endsWith('cudart64_110.dll'), libraryDirs: () => ['C:\\CUDA\\bin'] };
    expect(explained(windows)).toMatch(/^CUDA 11.2\/cuDNN 8.1 not found/);
  });
});

describe('createBackendSelector', () => {
  it('selects once and appends extra notes at each describe', async () => {
    const { loaders, activate } = fakes({});
    let route = 'Feature extraction runs on onnxruntime (2 threads).';
    const selector = createBackendSelector({ loaders, activate, extraNotes: () => [route] });
    await selector.ensure();
    await selector.ensure();
    expect(loaders.wasm).toHaveBeenCalledTimes(1);
    route = 'Feature extraction runs on 2 WebAssembly workers.';
    const removeBroken = selector.addNotes(() => {
      throw new Error('notes broke');
    });
    const info = await selector.describe();
    expect(info.reasons.at(-1)).toBe('Feature extraction runs on 2 WebAssembly workers.');
    expect(info.reasons).toHaveLength(4);
    removeBroken();
    expect((await selector.ensure()).reasons).toHaveLength(3);
  });
});

describe('describe does not disturb running work', () => {
  it('puts back the backend that was computing when the first description was asked', async () => {
    const { loaders } = fakes({});
    let active: string | null = 'cpu'; // e.g. a training already running on the cpu backend
    const activate = vi.fn(async (name: string) => ((active = name), true));
    const wasm = vi.fn(async () => ((active = 'wasm'), 1));
    const selector = createBackendSelector({ loaders: { ...loaders, wasm }, activate, current: () => active });
    expect((await selector.describe()).name).toBe('wasm');
    expect(active).toBe('cpu');
    // ensure() is the explicit "use the inference backend" and does switch.
    const fresh = createBackendSelector({ loaders: { ...loaders, wasm }, activate, current: () => active });
    await fresh.ensure();
    expect(active).toBe('wasm');
  });
});

describe('the engine\'s backend on this machine (real packages)', () => {
  it('reports what is really installed', async () => {
    const nodeRequire = createRequire(__filename);
    const hasTfjsNode = (() => {
      try {
        nodeRequire.resolve('@tensorflow/tfjs-node');
        return true;
      } catch {
        return false;
      }
    })();
    const info = await ensureBackend(); // the engine's selector, starting backends through compute.ts
    expect(info.reasons.length).toBeGreaterThanOrEqual(hasTfjsNode ? 0 : 2);
    if (hasTfjsNode) {
      expect(info.name).toMatch(/^tensorflow/);
    } else {
      // These machines cannot download libtensorflow: wasm must take over and say why.
      expect(info).toMatchObject({ name: 'wasm', gradients: 'cpu', badge: 'WASM' });
      expect(tf.getBackend()).toBe('wasm');
      expect(info.reasons).toContain('TensorFlow for Node is not installed (its download needs the internet): using the WebAssembly engine, which is slower.');
      // And it computes.
      expect(tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0])).toBe(6);
    }
  });
});
