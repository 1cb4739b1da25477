/** A bounded-concurrency runner: at most `limit` tasks in flight; an `urgent` task waits ahead of the others. */
export function createPool(limit: number): <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  // A finishing task hands its slot straight to the next waiter.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async <T>(task: () => Promise<T>, urgent = false): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => (urgent ? waiting.unshift(resolve) : waiting.push(resolve)));
    else running++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}
