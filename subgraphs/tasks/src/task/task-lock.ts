/**
 * The lock every writer of one task document holds (Locks in the kit): the test store rewrites a
 * whole document on any update, so two concurrent updates of one task, even of different fields,
 * would lose one of them there.
 */
export const taskLock = (taskId: string): string => `task:${taskId}`;
