/** Capped linear backoff for reconnects: 100 ms, 200 ms, … never more than 3 s. */
export function retryDelay(attempt: number): number {
  return Math.min(Math.max(attempt, 1) * 100, 3000);
}
