// The dataset stage's public face (see docs/ENGINE.md).
export { scanDataset, THUMBNAIL_SIZE, type ScanOptions } from './scan';
export { applyEdits, type Dataset, type ScannedImage } from './summary';
export { loadImage, decodeForModel, thumbnailFile, openImage, ImageProblem, MAX_PIXELS, type ResizeRecipe } from './decode';
