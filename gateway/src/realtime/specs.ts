/** How the gateway serves one Subscription root field from live messages (README: Live boards). */
export interface SubscriptionSpec {
  /** Live channel name (the subgraph publishes on `<prefix>live:<name>:<projectId>`). */
  channel: string;
  /** The argument naming the project: the channel key, the access probe, and presence. */
  projectArg: string;
  /** Event fields copied from the message. */
  scalars: Record<string, string>;
  /** Event fields that are entities, fetched through the supergraph by a root query field. */
  entities: Record<string, { query: string; idKey: string }>;
  /**
   * `project` (the default): the channel is the project's, access is probed per event. `viewer`: the
   * channel is the subscriber's own (`<prefix>live:<name>:<userId>`): no project, no presence.
   */
  scope?: 'project' | 'viewer';
  /**
   * The root field is itself an entity, fetched per event by this root query field as the
   * subscriber with their whole selection; an answer of null (not theirs, gone) delivers nothing.
   */
  root?: { query: string; idKey: string };
}

/**
 * The subscriptions of the supergraph. An entity is fetched with the subscriber's whole selection
 * (so fields of any subgraph work), as the subscriber; every event also runs the access probe
 * `project(id:)`, so someone who lost access gets nothing more.
 */
export const SUBSCRIPTIONS: Record<string, SubscriptionSpec> = {
  taskChanged: {
    channel: 'taskChanged',
    projectArg: 'projectId',
    scalars: { kind: 'kind', taskId: 'taskId', at: 'at' },
    entities: { task: { query: 'task', idKey: 'taskId' }, actor: { query: 'user', idKey: 'actorId' } },
  },
  projectChanged: {
    channel: 'projectChanged',
    projectArg: 'projectId',
    scalars: { kind: 'kind', userId: 'userId', at: 'at' },
    entities: { project: { query: 'project', idKey: 'projectId' }, actor: { query: 'user', idKey: 'actorId' } },
  },
  presenceChanged: {
    channel: 'presenceChanged',
    projectArg: 'projectId',
    scalars: { online: 'online', at: 'at' },
    entities: { user: { query: 'user', idKey: 'userId' } },
  },
  notificationReceived: {
    channel: 'notificationReceived',
    projectArg: '',
    scope: 'viewer',
    scalars: {},
    entities: {},
    root: { query: 'notification', idKey: 'notificationId' },
  },
};

/** The root query used as the access probe for a project. */
export const PROBE_FIELD = '__probe';
