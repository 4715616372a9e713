/**
 * Polls `check` until it holds, instead of a fixed sleep; the bound is generous because the
 * machine may be busy, and `what` (or what it returns at the time) names the condition in the error.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
