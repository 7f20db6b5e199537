// Which cached file answers /image/<id> in browser mode. Only the cache is ever reached.
export function cachedImageFile(_id: string): string | null {
  return null; // wired to the dataset's thumbnailFile(id) once it lands
}
