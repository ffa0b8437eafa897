/**
 * The decoded-image record every data source produces (folder loader, demo generator, importers):
 * 8-bit sRGB, 3 channels, row-major HWC. Kept as plain typed arrays so it can cross worker boundaries.
 */
export interface RawImage {
  /** Stable identifier: the path relative to the dataset root (POSIX separators) or a generated name. */
  id: string;
  width: number;
  height: number;
  /** width × height × 3 bytes, RGB, rows top to bottom. */
  data: Uint8Array;
}

/** Throws an Error naming the image when its buffer does not match its declared shape. */
export function assertRawImage(image: RawImage): void {
  const { id, width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new Error(`Image ${id}: invalid size ${width}×${height}`);
  if (data.length !== width * height * 3)
    throw new Error(
      `Image ${id}: data has ${data.length} bytes, expected ${width}×${height}×3 = ${width * height * 3}`,
    );
}
