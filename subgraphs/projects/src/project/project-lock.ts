/**
 * The lock every writer of a project's documents holds (Locks in the kit): the project, its
 * memberships, and the outbox relays that send their events. Owner counting needs membership
 * changes one at a time, and the test store rewrites a whole document on any update, so two
 * concurrent writers of one document (a change and a relay's flush) would lose one of them there.
 */
export const projectLock = (projectId: string): string => `project:${projectId}`;
