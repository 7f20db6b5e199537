// Entry for inference worker threads (filled in by the features pipeline).
export {};
