// `foldwise heatmap <run dir> <image> --out heat.png [--class name]`: where in the photo the model
// looked (Grad-CAM), as a PNG overlay.
import path from 'node:path';
import type { Command } from 'commander';
import { EngineError } from '../../shared/rpc';
import { readRun } from '../../engine/run';
import { writeFileAtomic } from '../../engine/paths';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

/** The index of `name` (or a number) among the run's classes, with a helpful error otherwise. */
export function classIndexOf(classes: readonly string[], name: string): number {
  const exact = classes.indexOf(name);
  if (exact >= 0) return exact;
  const folded = classes.findIndex((c) => c.toLowerCase() === name.toLowerCase());
  if (folded >= 0) return folded;
  if (/^\d+$/.test(name) && Number(name) < classes.length) return Number(name);
  throw new EngineError('review/unknown-class', `This model has no class "${name}". Its classes are: ${classes.join(', ')}.`, { classes });
}

export function register(program: Command): void {
  program
    .command('heatmap')
    .description('Show where in a photo the model looked (Grad-CAM), as a PNG overlay.')
    .argument('<run dir>', 'the run folder written by `foldwise train --out`')
    .argument('<image>', 'the photo to explain')
    .requiredOption('-o, --out <file>', 'where to write the PNG overlay')
    .option('-c, --class <name>', 'explain this class instead of the predicted one')
    .option('--json', 'print one JSON object instead of a sentence')
    .action(async (runDir: string, image: string, opts: { out: string; class?: string; json?: boolean }) => {
      const json = Boolean(opts.json);
      const out = path.resolve(opts.out);
      let classes: string[];
      let classIndex: number | undefined;
      try {
        // Read once: the class names serve both --class and the sentence about the answer.
        ({ classes } = await readRun(runDir));
        classIndex = opts.class === undefined ? undefined : classIndexOf(classes, opts.class);
      } catch (error) {
        reportFailure(error, json);
        return;
      }
      const client = startLocalEngine();
      await runJob(client, client.call('review/heatmap', { runDir, file: path.resolve(image), classIndex }), {
        json,
        finish: async (heatmap) => {
          await writeFileAtomic(out, Buffer.from(heatmap.png, 'base64'));
          const { file, predicted, probability } = heatmap;
          return { file, predicted, probability, class: classes[heatmap.classIndex]!, classIndex: heatmap.classIndex, out };
        },
        format: (shown) =>
          `The model says ${shown.predicted} (${(100 * shown.probability).toFixed(1)}% sure).\n` + `Heatmap of what points to ${shown.class} written to ${out}\n`,
      });
    });
}
