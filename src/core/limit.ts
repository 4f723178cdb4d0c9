/**
 * Runs `fn` over `items` with at most `limit` calls in flight, and settles when all have. Errors stay with each
 * call (`fn` handles its own): one unreachable bot must not end a sweep over the others. Fifteen lines do not
 * justify a dependency.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
