// Core ML (.mlmodel, NeuralNetworkClassifier) for iPhone, iPad and Mac apps, written from the export
// graph. Nothing on Linux runs Core ML, so the written file is checked for structure only: by Apple's
// own validator where this machine has it, else by Foldwise's own checks; predictions are not checked.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../../../shared/rpc';
import type { StructureCheck } from '../../../shared/types';
import { checkSpec, classifierSpec, encodeMlmodel } from '../coreml/model';
import { decodeSpec } from '../coreml/proto';
import { coremlValidator, runCoremlValidator } from '../coreml/validate';
import type { ModelFormat } from './types';

const NOT_RUN = 'predictions not checked (needs a Mac)';

export const coremlFormat: ModelFormat = {
  id: 'coreml',
  modelFile: 'model.mlmodel',
  inputName: 'image',
  outputName: 'probabilities',
  async write(dir, graph, meta) {
    const size = meta.recipe.size;
    const spec = classifierSpec(
      graph,
      meta.labels,
      { input: this.inputName, probabilities: this.outputName, label: 'label' },
      {
        summary: `Foldwise image classifier (${meta.backbone.name}${meta.backbone.fineTuned ? ', fine-tuned' : ''}): ${meta.labels.join(', ')}.`,
        author: `Foldwise ${meta.appVersion}`,
        version: meta.runId,
        inputHelp:
          `A photo as an RGB image of ${size}x${size}: the centre square of the photo, its shorter side resized to ${size} px ` +
          `(Vision's centerCrop does this). Scaling happens inside the model.`,
        notes: {
          labels: JSON.stringify(meta.labels),
          recipe: meta.recipe.description,
          backbone: meta.backbone.id,
          testTimeAugmentation: meta.testTimeAugmentation,
          verified: `structure checked; ${NOT_RUN}`,
        },
      },
    );
    await fs.promises.writeFile(path.join(dir, this.modelFile), encodeMlmodel(spec));
    return [this.modelFile];
  },
  async load() {
    throw new EngineError(
      'predict/cannot-run',
      'Core ML models run only on Apple systems (iPhone, iPad, Mac); Foldwise cannot run this one here. Use the run folder, or a TF.js, ONNX or TFLite export, to classify photos on this computer.',
    );
  },
  async checkStructure(dir) {
    return checkMlmodel(path.join(dir, this.modelFile));
  },
};

/** Apple's validator where it is found and runs; Foldwise's own checks of the file as read back otherwise. */
export async function checkMlmodel(file: string): Promise<StructureCheck> {
  const validator = coremlValidator();
  let missing = "Apple's validator is not installed on this computer";
  if (validator) {
    try {
      const answer = await runCoremlValidator(validator, file);
      if (!answer.valid) {
        throw new EngineError('export/structure-invalid', `Apple's Core ML validator refused the model Foldwise wrote (${answer.message}). Nothing was written; please report this.`, { checker: validator });
      }
      return { kind: 'structure', checker: "Apple's Core ML validator", answer: 'VALID', summary: `structure checked by Apple's validator; ${NOT_RUN}` };
    } catch (error) {
      if (error instanceof EngineError) throw error;
      missing = (error as Error).message;
    }
  }
  const problems = checkSpec(decodeSpec(await fs.promises.readFile(file)));
  if (problems.length > 0) {
    throw new EngineError('export/structure-invalid', `The Core ML model Foldwise wrote does not read back right: ${problems.join('; ')}. Nothing was written; please report this.`);
  }
  return { kind: 'structure', checker: `Foldwise's own checks (${missing})`, answer: 'VALID', summary: `structure checked by Foldwise's own checks, not Apple's validator; ${NOT_RUN}` };
}
