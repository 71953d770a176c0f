// Summary statistics shared by the benchmarks.

export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** Median (the mean of the middle two for an even count), min and max; NaN for no samples. */
export function stats(list: number[]): Summary {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 ? sorted[mid]! : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
}
