// Dropping a file onto an area: the area lights up while something is dragged over it, and the
// first dropped file is handed on (the browser would otherwise open it in place of the app).
import { useState, type DragEvent } from 'react';

export function useFileDrop(onFile: (file: File) => void) {
  const [over, setOver] = useState(false);
  const dropProps = {
    onDragOver(event: DragEvent) {
      event.preventDefault();
      setOver(true);
    },
    onDragLeave() {
      setOver(false);
    },
    onDrop(event: DragEvent) {
      event.preventDefault();
      setOver(false);
      const file = event.dataTransfer.files[0];
      if (file) onFile(file);
    },
  };
  return { over, dropProps };
}
