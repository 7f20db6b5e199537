// heic-decode ships no types: the part Foldwise uses (libheif compiled to wasm).
declare module 'heic-decode' {
  interface HeicImage {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  }
  interface HeicDecode {
    (input: { buffer: Uint8Array }): Promise<HeicImage>;
    all(input: { buffer: Uint8Array }): Promise<Array<{ width: number; height: number; decode(): Promise<HeicImage> }> & { dispose?(): void }>;
  }
  const decode: HeicDecode;
  export default decode;
}
