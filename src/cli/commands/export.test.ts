import { describe, expect, it } from 'vitest';
import { ExportResult } from '../../shared/schemas';
import { formatExport } from './export';

const files = ['model.mlmodel', 'samples/expected.json'];
const structure = {
  format: 'coreml' as const,
  out: '/tmp/x',
  files,
  seconds: 0.9,
  verified: { kind: 'structure' as const, checker: "Apple's Core ML validator", answer: 'VALID', summary: "structure checked by Apple's validator; predictions not checked (needs a Mac)" },
};

describe('export results', () => {
  it('read as before when written before structure checks (no kind), and a structure check carries no agreement numbers', () => {
    const old = { format: 'onnx', out: '/tmp/x', files: ['model.onnx'], verified: { images: 10, agreement: 1, maxAbsDiff: 2e-6 } };
    expect(ExportResult.parse(old).verified).toEqual(old.verified);
    expect(ExportResult.parse(structure).verified).toEqual(structure.verified);
    expect(ExportResult.safeParse({ ...structure, verified: { ...structure.verified, agreement: 1, images: 150 } }).success).toBe(false);
  });

  it('prints what was checked: the app’s answers, or only the structure (Core ML)', () => {
    const printed = formatExport(structure);
    expect(printed).toContain("Exported Core ML model (iPhone and iPad) to /tmp/x in 0.9 s\nStructure checked by Apple's validator; predictions not checked (needs a Mac). Apple's Core ML validator says VALID.");
    expect(printed).not.toMatch(/agree|same answer/);
    const onnx = formatExport({ format: 'onnx', out: '/tmp/y', files: ['model.onnx'], verified: { kind: 'predictions', images: 150, agreement: 1, maxAbsDiff: 2.1e-6 } });
    expect(onnx).toContain('Exported ONNX model (Node and Python) to /tmp/y\nVerified on 150 validation photos: same answer as the app for 100.0%, probabilities within 2.1e-6');
    const gone = { ...structure, skipped: [{ file: '/photos/a.jpg', reason: 'not used to calibrate the 8-bit model: it is gone' }] };
    expect(formatExport(gone)).toContain('1 photo could not be read and was left out:\n  /photos/a.jpg: not used to calibrate the 8-bit model: it is gone\nFiles:');
  });
});
