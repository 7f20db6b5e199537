// The features stage: frozen-backbone extraction with an on-disk cache (docs/ENGINE.md).
export { createExtractor, defaultThreads, type Extractor, type ExtractorOptions, type ExtractorRoute } from './extractor';
export {
  computeFeatures,
  DEFAULT_VIEWS,
  AUGMENT_VIEWS,
  type ComputeFeaturesOptions,
  type Dataset,
  type DatasetFeatures,
  type FeatureMatrix,
  type FeatureProgress,
  type ScannedImage,
} from './pipeline';
export { createFeatureCache, featureKey, type FeatureCache } from './cache';
export { viewParams, renderViews, flipHorizontal, AUGMENT_VERSION, type ViewParams } from './augment';
export { computeActivations, countMissingActivations, createActivationCache, modelToCut, type ActivationPhotos, type ActivationRows, type DatasetActivations } from './activations';
