// A promise given a time limit: for fixtures whose peers (a broker cluster still electing its
// leaders) may leave an exchange unanswered for good. On time-out the promise rejects, naming
// what did not come (`what` may be read only then); the caller closes what hangs.

export async function withinMs<T>(work: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${typeof what === "string" ? what : what()}: nothing within ${ms / 1000} s`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
