// The run folder: its format, the writer training uses, and the reader every other stage uses.
export * from './format';
export * from './reader';
export { newRunId, openRunWriter, type RunMetadataInput, type RunWriter } from './writer';
