import type { ApolloServer } from '@apollo/server';
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import { AppError, ErrorCode } from '@tm/kit/contracts';
import { liveChannel, type Logger, traceOperation, type UserContext } from '@tm/kit/infra';
import {
  executeSync,
  getOperationAST,
  GraphQLError,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Counter } from 'prom-client';
import type { GatewayContext } from '../gateway.context';
import type { ChannelHub } from './channels';
import { passGates, type StartGate } from './gate';
import { LiveIterator } from './iterator';
import { countDelivery, type Delivery } from './outbox';
import { planSubscription, type LivePlan } from './plan';
import { Slicer } from './slicer';
import { PROBE_FIELD } from './specs';

/** A stand-in id for a missing entity id: resolves to nothing. */
const NO_ID = '00000000-0000-4000-8000-000000000000';

/** What the engine needs to know about the subscriber's connection. */
export interface Subscriber {
  /** The subscriber's current identity; throws AUTH-002 once the token expired or was revoked. */
  user(): Promise<UserContext>;
  /** The identity when its last check is still fresh (no re-check due): what `user()` would give at once. */
  freshUser?(): UserContext | null;
  /** `clientOperation`: the subscriber's own request (start of a subscription): limits and maintenance apply. */
  context(user: UserContext, clientOperation?: boolean): GatewayContext;
  /** Closes the whole socket (auth lost, slow consumer). */
  close(code: number, reason: string): void;
  /** Bytes waiting to be sent on the socket. */
  buffered(): number;
  /** Bounds this connection's subscription starts running at once. */
  gate?: StartGate;
  /** Marks the subscriber online in the project while the subscription lives (presence); returns the leave. */
  join(projectId: string): () => void;
}

export interface EngineOptions {
  hub: ChannelHub;
  prefix: string;
  apollo: ApolloServer<GatewayContext>;
  log: Logger;
  maxQueue: number;
  maxBufferedBytes: number;
  /** Bounds the subscription starts running at once in the process (events are never held by it). */
  gate: StartGate;
  metrics: {
    delivered: Counter<'subscription'>;
    /** Payloads shaped (graphql-js execution of the subscriber's document); shared payloads are shaped once. */
    shaped?: Counter<'subscription'>;
    latency: { labels(labels: { subscription: string }): Delivery['latency'] };
    active: { inc(): void; dec(): void };
  };
  /**
   * The subscriber's membership in a project, from the permissions source of truth (the kit's
   * permissions client: Redis cache written by projects, its signed endpoint on a miss). With it,
   * the per-event access check costs no supergraph query, and a selection that does not depend on
   * who asks is resolved once per (event, selection, platform roles) and shared by the project's
   * members (per project role too where the selection depends on it: plan.ts).
   */
  access?: (userId: string, projectId: string) => Promise<{ role: string; archived: boolean } | null>;
  /**
   * The membership as this process holds it (the permissions client's local copy, which Redis keeps
   * exact), at once; `undefined` when not held: `access` is asked then. An event's check of
   * hundreds of users then costs no promise per user.
   */
  held?: (userId: string, projectId: string) => { role: string; archived: boolean } | null | undefined;
  /**
   * The request path's checks (operation limits, rate limits, maintenance) on a query the gateway
   * does not execute. With `access`, a member's subscription start is these checks on the plan's
   * query plus the cached membership, not a federated query (whose entity parts are empty at the start).
   */
  check?: (
    schema: GraphQLSchema,
    query: string,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ) => Promise<GraphQLFormattedError[]>;
}

interface EntityResult {
  data: Record<string, unknown> | null;
  errors: readonly GraphQLFormattedError[];
}

/** A live subscription, as the events of its channel reach it. */
interface Live {
  plan: LivePlan;
  args: ExecutionArgs;
  subscriber: Subscriber;
  iterator: LiveIterator;
  /** Sends a `next` message with this payload JSON (the socket's outbox); `delivery` is counted once it is written. */
  send?: (payloadJson: Buffer, delivery: Delivery) => void;
  /** The request text (document, operation name, variables): equal keys get equal payloads. */
  requestKey: string;
  /** The membership key of the subscriber's last event (user and project), kept while the user is the same. */
  accessKey?: { userId: string; key: string };
  /** The sharing key of the subscriber's last event, kept while the identity and membership objects are the same. */
  shareKey?: { user: UserContext; access: object; key: string };
}

/** A published message and the subscriptions it reached. */
interface LiveEvent {
  channel: string;
  message: Record<string, unknown>;
  subscribers: Live[];
}

/** Subscribers of an event checked in one turn of the event loop. */
const PICK_CHUNK = 500;

/** An entity resolution of an event, or why it failed. */
type Resolved = EntityResult | { failed: unknown };

/** A value, or why it could not be had. */
type Settled<T> = { value: T } | { failed: unknown };

/**
 * Every item settled: at once when none is a promise (no turn of the loop), else once the
 * promises among them settled.
 */
function settleAll<T>(items: Array<T | Promise<T>>): Array<Settled<T>> | Promise<Array<Settled<T>>> {
  const out: Array<Settled<T>> = new Array<Settled<T>>(items.length);
  let waiting: Array<Promise<void>> | undefined;
  items.forEach((item, i) => {
    if (item instanceof Promise)
      (waiting ??= []).push(
        item.then(
          (value) => void (out[i] = { value }),
          (failed: unknown) => void (out[i] = { failed }),
        ),
      );
    else out[i] = { value: item };
  });
  return waiting ? Promise.all(waiting).then(() => out) : out;
}

/** What a subscriber of an event gets: a resolution to wait for, why it gets none, or nothing (null). */
type Choice = { live: Live; resolution: Promise<Resolved> } | { live: Live; failed: unknown } | null;

/** One event's shared work: membership reads by user and project, resolutions by sharing key. */
interface EventRound {
  message: Record<string, unknown>;
  /** Membership by `user \u0001 project`, read once per event (or why the read failed). */
  access: Map<string, Settled<{ role: string; archived: boolean } | null>>;
  resolutions: Map<string, Promise<Resolved>>;
  /** The plan's query variables for this event, made once per plan (not per subscriber). */
  variables: Map<LivePlan, Record<string, unknown>>;
}

/** The event's resolution under `key`, started by the first subscriber who needs it. */
function once(round: EventRound, key: string, start: () => Promise<EntityResult>): Promise<Resolved> {
  let resolution = round.resolutions.get(key);
  if (!resolution) {
    resolution = start().catch((failed: unknown) => ({ failed }));
    round.resolutions.set(key, resolution);
  }
  return resolution;
}

/** A shared result with the access probe answered (the cache said the subscriber is a member). */
function probed(plan: LivePlan, shared: EntityResult): EntityResult {
  return { data: { ...(shared.data ?? {}), [PROBE_FIELD]: { id: plan.projectId } }, errors: shared.errors };
}

/** What one subscriber gets of an event. */
type Outcome =
  | { live: Live; kind: 'payload'; payload: ExecutionResult; /** for the delivered/latency metrics */ delivery?: Delivery }
  | { live: Live; kind: 'lost' }
  | { live: Live; kind: 'ended'; error: GraphQLError; reason: string };

/**
 * Serves Subscription fields: listens on the field's Redis channel and, per event, fetches the
 * entity parts of the subscriber's selection through the supergraph as the subscriber (one query,
 * shared by that user's identical subscriptions), then lets graphql-js shape the payload exactly
 * as the subscriber asked (aliases, fragments, @include/@skip, __typename).
 */
export class LiveEngine {
  private readonly payloadSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();
  /**
   * Payloads shaped from one resolution, by the subscription's request text: every subscriber of an
   * event with the same request text and resolution gets the same payload object (serialized once).
   */
  private readonly payloads = new WeakMap<EntityResult, Map<string, ExecutionResult>>();
  /** Documents as text, printed once per document. */
  private readonly printed = new WeakMap<DocumentNode, string>();
  private readonly slicer: Slicer;
  private readonly published = new WeakMap<object, number>();
  private readonly payloadBytes = new WeakMap<ExecutionResult, Buffer>();
  /** An arriving message's subscribers, gathered while the hub hands it to each of them. */
  private readonly arriving = new WeakMap<object, LiveEvent>();
  /** Per channel: the last event's deliveries, which the next event's wait for. */
  private readonly tails = new Map<string, Promise<void>>();
  private readonly roleKeys = new WeakMap<UserContext, string>();
  private readonly series = new Map<
    string,
    { delivered: ReturnType<Counter<'subscription'>['labels']>; latency: Delivery['latency'] }
  >();
  /** A small id per distinct shared query and its fixed variables: the per-event sharing key is short. */
  private readonly sharedIds = new WeakMap<LivePlan, string>();
  private readonly sharedIdsByText = new Map<string, string>();
  private sharedSeq = 0;
  /** Plans by schema, document, and operation name with variables (see planFor). */
  private readonly plans = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, LivePlan>>>();

  constructor(private readonly opts: EngineOptions) {
    this.slicer = new Slicer((err) => opts.log.error({ err }, 'live delivery failed'));
  }

  /** A copy of the API schema whose fields read a ready-made result by response key. */
  private payloadSchema(api: GraphQLSchema): GraphQLSchema {
    let s = this.payloadSchemas.get(api);
    if (!s) {
      s = mapSchema(api, {
        [MapperKind.OBJECT_FIELD]: (config) => ({
          ...config,
          resolve: (
            source: Record<string, unknown> | null,
            _args: unknown,
            _ctx: unknown,
            info: { path: { key: string | number } },
          ) => source?.[info.path.key as string],
        }),
      });
      this.payloadSchemas.set(api, s);
    }
    return s;
  }

  /**
   * The subscription's plan, made once per document (the socket server hands identical subscription
   * texts the same document), operation name and variables; plans are never changed once made.
   */
  private planFor(args: ExecutionArgs, variables: Record<string, unknown>): LivePlan {
    let bySchema = this.plans.get(args.schema);
    if (!bySchema) this.plans.set(args.schema, (bySchema = new WeakMap()));
    let byDocument = bySchema.get(args.document);
    if (!byDocument) bySchema.set(args.document, (byDocument = new Map()));
    const key = JSON.stringify([args.operationName ?? null, variables]);
    let plan = byDocument.get(key);
    if (!plan) {
      plan = planSubscription(args.schema, args.document, args.operationName, variables);
      if (byDocument.size >= 1000) byDocument.delete(byDocument.keys().next().value!);
      byDocument.set(key, plan);
    }
    return plan;
  }

  /** `alive`: false once the client completed the operation (it may do so before the start finished). */
  async subscribe(
    args: ExecutionArgs,
    subscriber: Subscriber,
    alive: () => boolean = () => true,
    /** Sends a `next` message with this payload JSON to the subscriber's socket (else the iterator yields it). */
    send?: (payloadJson: Buffer, delivery: Delivery) => void,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    let plan: LivePlan;
    try {
      plan = this.planFor(args, variables);
    } catch (err) {
      return { errors: [coded(err instanceof AppError ? err : new AppError(ErrorCode.InvalidRequest, 'Invalid subscription'))] };
    }
    // the subscriber must be able to see the project now, before anything is delivered
    const turn = await passGates(subscriber.gate ? [subscriber.gate, this.opts.gate] : [this.opts.gate], alive);
    const admitted = turn.outcome;
    if (admitted === 'gone') return completedBeforeStart();
    if (admitted === 'full') {
      return {
        errors: [
          new GraphQLError('Too many subscriptions are starting at once; retry shortly', {
            extensions: { code: ErrorCode.RateLimited, retryAfter: 1 },
          }),
        ],
      };
    }
    let first: EntityResult | { error: unknown };
    try {
      first = await traceOperation(
        'graphql-ws subscription',
        'server',
        { 'graphql.operation.type': 'subscription', 'graphql.operation.name': operationNameOf(args) ?? plan.fieldName },
        () => this.start(plan, args.schema, subscriber),
        firstCode,
      ).catch((err: unknown) => ({ error: err }));
    } finally {
      turn.release();
    }
    if ('error' in first) return { errors: [coded(first.error)] };
    // the client left while its start ran: no channel, no presence (graphql-ws sends nothing more)
    if (!alive()) return completedBeforeStart();
    // the start of a subscription is a client request: rate limits, maintenance and operation limits apply
    const refused = first.errors.find((e) => REFUSALS.has(String(e.extensions?.code)));
    if (refused)
      return {
        errors: [
          new GraphQLError(refused.message, {
            extensions: {
              code: refused.extensions?.code,
              ...(refused.extensions?.retryAfter ? { retryAfter: refused.extensions.retryAfter } : {}),
            },
          }),
        ],
      };
    if (probeFailed(first)) return { errors: [notMember()] };
    const viewer = plan.spec.scope === 'viewer';
    // a viewer-scoped subscription listens on the subscriber's own channel (their user id)
    const channelKey = viewer ? String((first.data?.[PROBE_FIELD] as { id?: unknown } | undefined)?.id ?? '') : plan.projectId;

    // filled in below, once the channel is live; the iterator's end runs them
    const cleanup: { leave?: () => void; unlisten?: () => Promise<void> } = {};
    const iterator = new LiveIterator(
      this.opts.maxQueue,
      async () => {
        this.opts.metrics.active.dec();
        cleanup.leave?.();
        await cleanup.unlisten?.();
      },
      () => subscriber.close(1013, 'SYS-002: too slow to keep up with live updates'),
    );
    const live: Live = { plan, args, subscriber, iterator, send, requestKey: this.requestKeyOf(args) };
    const channel = liveChannel(this.opts.prefix, plan.spec.channel, channelKey);
    cleanup.unlisten = await this.opts.hub.listen(channel, (message) => this.received(channel, message, live));
    this.opts.metrics.active.inc();
    if (!viewer) cleanup.leave = subscriber.join(plan.projectId);
    return iterator;
  }

  /**
   * A message for one of a channel's subscriptions. The hub hands one message to every listener of
   * its channel in one synchronous loop, so they are gathered here and the event is handled once
   * for all of them, right after (a microtask later).
   */
  private received(channel: string, message: unknown, live: Live): void {
    if (!message || typeof message !== 'object') return; // not JSON published by a subgraph
    let event = this.arriving.get(message);
    if (!event) {
      const gathered: LiveEvent = { channel, message: message as Record<string, unknown>, subscribers: [] };
      this.arriving.set(message, (event = gathered));
      queueMicrotask(() => this.dispatch(gathered));
    }
    event.subscribers.push(live);
  }

  /**
   * Resolves an event for all its subscribers at once (started as it arrives, even while the
   * channel's previous event is still being delivered), then queues the deliveries after the
   * channel's previous event's: a subscription sees its channel's events in publication order.
   */
  private dispatch(event: LiveEvent): void {
    const outcomes = this.resolveEvent(event).catch((err: unknown): Outcome[] => {
      this.opts.log.error({ err }, 'live delivery failed');
      return [];
    });
    const tail = (this.tails.get(event.channel) ?? Promise.resolve())
      .then(() => outcomes)
      .then((list) => this.slicer.runEach(list, this.deliverOne));
    this.tails.set(event.channel, tail);
    void tail.then(() => {
      if (this.tails.get(event.channel) === tail) this.tails.delete(event.channel);
    });
  }

  /**
   * What each subscriber of an event gets: their token checked (connections share a check), their
   * membership read once per user, the entities fetched once per shared selection and permission
   * set (or per user where the selection depends on who asks), and a payload shaped once per
   * resolution and request text. A resolution starts as soon as its first subscriber is checked,
   * not after all of them.
   */
  private async resolveEvent(event: LiveEvent): Promise<Outcome[]> {
    const { message } = event;
    const round: EventRound = { message, access: new Map(), resolutions: new Map(), variables: new Map() };
    const subscribers: Live[] = [];
    for (const live of event.subscribers) {
      if (live.subscriber.buffered() > this.opts.maxBufferedBytes) {
        live.subscriber.close(1013, 'SYS-002: too slow to keep up with live updates');
      } else subscribers.push(live);
    }
    // a few hundred subscribers at a time, the event loop's other work in between (thousands of
    // token and membership checks in one burst would hold it for tens of milliseconds)
    const picks: Choice[] = [];
    for (let from = 0; from < subscribers.length; from += PICK_CHUNK) {
      if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = subscribers.slice(from, from + PICK_CHUNK);
      // the chunk's identities (fresh ones at once, due re-checks shared per connection), then its
      // membership reads (one per user and project, all at once), then each subscriber's resolution
      const identities = settleAll(chunk.map((live) => live.subscriber.freshUser?.() ?? live.subscriber.user()));
      const users = identities instanceof Promise ? await identities : identities;
      const reading = this.readAccess(chunk, users, round);
      if (reading) await reading;
      chunk.forEach((live, i) => picks.push(this.pick(live, users[i]!, round)));
    }
    const settled = new Map<Promise<Resolved>, Resolved>();
    await Promise.all([...round.resolutions.values()].map((r) => r.then((value) => settled.set(r, value))));
    const outcomes: Outcome[] = [];
    // what a delivery of this event counts towards, made once per event and field
    const deliveries = new Map<string, Delivery>();
    const deliveryOf = (field: string): Delivery => {
      let d = deliveries.get(field);
      if (!d) deliveries.set(field, (d = { at: this.publishedAt(message), ...this.seriesOf(field) }));
      return d;
    };
    for (const pick of picks) {
      if (!pick) continue;
      const { live } = pick;
      const entities = 'resolution' in pick ? settled.get(pick.resolution)! : pick;
      if ('failed' in entities) {
        const err = entities.failed;
        const app = err instanceof AppError ? err : null;
        if (app?.code === ErrorCode.TokenInvalid || app?.code === ErrorCode.AuthFailed) {
          outcomes.push({ live, kind: 'ended', error: coded(app), reason: `${app.code}: ${app.message}` });
        } else {
          this.opts.log.warn({ err }, 'live event not resolved');
          outcomes.push({ live, kind: 'payload', payload: { errors: [coded(err)] } });
        }
        continue;
      }
      if (live.plan.spec.root) {
        // the entity is the payload: nothing to deliver when it is not the subscriber's (or gone)
        if (!entities.data?.[live.plan.rootKey]) continue;
      } else if (probeFailed(entities)) {
        // lost access to the project: say so once, then nothing more
        outcomes.push({ live, kind: 'lost' });
        continue;
      }
      outcomes.push({
        live,
        kind: 'payload',
        payload: this.payload(live, message, entities),
        delivery: deliveryOf(live.plan.fieldName),
      });
    }
    return outcomes;
  }

  /** Whether this subscriber's pick reads the membership cache (a shared selection and a known user). */
  private readsAccess(plan: LivePlan, user: UserContext): boolean {
    return !!this.opts.access && plan.sharedQuery !== null && !!user.userId;
  }

  /**
   * Gets the memberships the chunk's picks need that the event has not read yet, one per user and
   * project: those the process holds at once, the others read together (the promise, if any).
   */
  private readAccess(chunk: Live[], users: Array<Settled<UserContext>>, round: EventRound): Promise<void> | undefined {
    const { access: accessOf, held } = this.opts;
    if (!accessOf) return undefined;
    let reads: Map<string, Promise<{ role: string; archived: boolean } | null>> | undefined;
    chunk.forEach((live, i) => {
      const u = users[i]!;
      if (!('value' in u) || !this.readsAccess(live.plan, u.value)) return;
      const userId = u.value.userId!;
      const key = accessKeyOf(live, userId);
      if (round.access.has(key) || reads?.has(key)) return;
      const now = held?.(userId, live.plan.projectId);
      if (now !== undefined) round.access.set(key, { value: now });
      else (reads ??= new Map()).set(key, accessOf(userId, live.plan.projectId));
    });
    if (!reads) return undefined;
    const pending = reads;
    return Promise.resolve(settleAll([...pending.values()])).then((settled) => {
      [...pending.keys()].forEach((key, i) => round.access.set(key, settled[i]!));
    });
  }

  /**
   * Which resolution of the event a subscriber gets (started here if it is the first to need it),
   * or why they get none: null when the event is not for them (a viewer-scoped event for another
   * user, or one whose token check failed). Synchronous: identity and membership are read before.
   */
  private pick(live: Live, checked: Settled<UserContext>, round: EventRound): Choice {
    const { plan, subscriber } = live;
    const { message } = round;
    // a viewer-scoped event is only for its recipient: an unknown subscriber is not told about it
    if ('failed' in checked) return plan.spec.scope === 'viewer' ? null : { live, failed: checked.failed };
    const user = checked.value;
    if (plan.spec.scope === 'viewer' && message.recipientId !== user.userId) return null;
    let variables = round.variables.get(plan);
    if (!variables) round.variables.set(plan, (variables = variablesFor(plan, message)));
    if (this.readsAccess(plan, user)) {
      // one membership read per user and project for this event (readAccess)
      const read = round.access.get(accessKeyOf(live, user.userId!))!;
      if ('failed' in read) return { live, failed: read.failed };
      const access = read.value;
      if (access) {
        if (!plan.sharedQuery) {
          // nothing to fetch: the event's own fields are the payload
          const key = `probe\u0001${plan.projectId}`;
          return { live, resolution: once(round, key, () => Promise.resolve(probed(plan, { data: {}, errors: [] }))) };
        }
        // the entity variables are the plan's own and the event's ids: the plan and the event say them
        const key = this.shareKeyOf(live, user, access);
        const event = variables;
        return {
          live,
          resolution: once(round, key, () => {
            const { [PROBE_FIELD]: _probe, ...entityVariables } = event;
            return this.run(plan.sharedQuery!, entityVariables, subscriber, user).then((shared) => probed(plan, shared));
          }),
        };
      }
      // not a member by the cache: the full query with the probe decides (e.g. platform admins)
    }
    const key = JSON.stringify([plan.query, variables, user.userId, user.roles]);
    return { live, resolution: once(round, key, () => this.run(plan.query, variables, subscriber, user)) };
  }

  /** One subscriber's outcome of an event, on the slicer (in the order events were published). */
  private readonly deliverOne = (outcome: Outcome): void => {
    const { live } = outcome;
    if (outcome.kind === 'ended') {
      live.iterator.finish({ errors: [outcome.error] });
      live.subscriber.close(4403, outcome.reason);
      return;
    }
    if (outcome.kind === 'lost') {
      live.iterator.finish({ errors: [notMember()] });
      return;
    }
    const { payload, delivery } = outcome;
    // a payload without errors goes to the socket's outbox, its JSON made once for all who share
    // it (counted when written); anything else through graphql-ws, counted now
    if (live.send && delivery && !payload.errors?.length && !live.iterator.mustQueue) {
      live.send(this.bytesOf(payload), delivery);
      return;
    }
    live.iterator.push(payload);
    countDelivery(delivery);
  };

  /**
   * The key under which members share a resolution: the shared query, the platform roles, the
   * membership's archived flag (and its role where the selection depends on it). Made again only
   * when the subscriber's identity or membership object changed since its last event.
   */
  private shareKeyOf(live: Live, user: UserContext, access: { role: string; archived: boolean }): string {
    const memo = live.shareKey;
    if (memo && memo.user === user && memo.access === access) return memo.key;
    // every member's reads are the same whatever their project role (plan.ts: ROLE_DEPENDENT_FIELDS)
    const role = live.plan.roleDependent ? access.role : '';
    const key = `shared\u0001${this.sharedId(live.plan)}\u0001${role}\u0001${access.archived}\u0001${this.rolesKey(user)}`;
    live.shareKey = { user, access, key };
    return key;
  }

  /** A user's platform roles as part of a sharing key (made once per user object). */
  private rolesKey(user: UserContext): string {
    let key = this.roleKeys.get(user);
    if (key === undefined) this.roleKeys.set(user, (key = [...user.roles].sort().join(',')));
    return key;
  }

  /** When the message was published (its `at`), parsed once per message. */
  private publishedAt(message: Record<string, unknown>): number {
    let at = this.published.get(message);
    if (at === undefined) this.published.set(message, (at = typeof message.at === 'string' ? Date.parse(message.at) : NaN));
    return at;
  }

  /** The per-delivery metric series of a subscription field, labelled once (not per delivery). */
  private seriesOf(field: string) {
    let series = this.series.get(field);
    if (!series) {
      const { delivered, latency } = this.opts.metrics;
      series = { delivered: delivered.labels({ subscription: field }), latency: latency.labels({ subscription: field }) };
      this.series.set(field, series);
    }
    return series;
  }

  /** A payload's bytes, made once per payload object (shared payloads are one object for many subscribers). */
  private bytesOf(payload: ExecutionResult): Buffer {
    let bytes = this.payloadBytes.get(payload);
    if (bytes === undefined) this.payloadBytes.set(payload, (bytes = Buffer.from(JSON.stringify(payload))));
    return bytes;
  }

  /** A subscription's request text as a key: subscribers with the same key get the same payload object. */
  private requestKeyOf(args: ExecutionArgs): string {
    let text = this.printed.get(args.document);
    if (text === undefined) this.printed.set(args.document, (text = print(args.document)));
    return JSON.stringify([text, args.operationName ?? null, args.variableValues ?? {}]);
  }

  /** The subscriber's payload for an event: shaped once per resolution and request text. */
  private payload(live: Live, message: Record<string, unknown>, entities: EntityResult): ExecutionResult {
    let byRequest = this.payloads.get(entities);
    if (!byRequest) this.payloads.set(entities, (byRequest = new Map()));
    let payload = byRequest.get(live.requestKey);
    if (!payload) {
      payload = this.shape(live.plan, live.args, message, entities);
      byRequest.set(live.requestKey, payload);
    }
    return payload;
  }

  /**
   * Lets graphql-js shape the payload exactly as the subscriber asked, from the event and its
   * entities (synchronously: the payload schema's resolvers only read the ready-made result).
   */
  private shape(plan: LivePlan, args: ExecutionArgs, message: Record<string, unknown>, entities: EntityResult): ExecutionResult {
    this.opts.metrics.shaped?.inc({ subscription: plan.fieldName });
    const run = (rootValue: Record<string, unknown>) =>
      executeSync({
        schema: this.payloadSchema(args.schema),
        document: args.document,
        operationName: args.operationName,
        variableValues: args.variableValues,
        rootValue,
      });
    if (plan.spec.root) {
      const result = run({ [plan.rootKey]: entities.data?.[plan.rootKey] ?? null });
      const extra = entities.errors
        .filter((e) => e.extensions?.code !== ErrorCode.NotFound)
        .map((e) => new GraphQLError(e.message, { path: e.path ?? [plan.rootKey], extensions: e.extensions }));
      return extra.length ? { ...result, errors: [...(result.errors ?? []), ...extra] } : result;
    }
    const event: Record<string, unknown> = {};
    for (const { key, name } of plan.eventFields) {
      const scalar = plan.spec.scalars[name];
      if (scalar) event[key] = message[scalar] ?? null;
      else if (plan.spec.entities[name]) event[key] = entities.data?.[key] ?? null;
    }
    const result = run({ [plan.rootKey]: event });
    const extra = entities.errors
      .filter((e) => e.path?.[0] !== PROBE_FIELD && e.extensions?.code !== ErrorCode.NotFound)
      .map((e) => new GraphQLError(e.message, { path: [plan.rootKey, ...(e.path ?? [])], extensions: e.extensions }));
    return extra.length ? { ...result, errors: [...(result.errors ?? []), ...extra] } : result;
  }

  /**
   * The start of a subscription, a client request: the subscriber must see the project, and the
   * request path's limits apply. A member by the permissions cache is checked without a query (the
   * plan's query would fetch no entity yet); anyone else runs it with the access probe as themself.
   */
  private async start(plan: LivePlan, schema: GraphQLSchema, subscriber: Subscriber): Promise<EntityResult> {
    const { access, check } = this.opts;
    if (plan.spec.scope === 'viewer') {
      // the subscriber's own channel: signed in is all it takes; the request path's limits apply
      const user = await subscriber.user();
      if (!user.userId) throw new AppError(ErrorCode.AuthFailed, 'Authentication required');
      const errors = check
        ? await check(schema, plan.query, variablesFor(plan, {}), subscriber.context(user, true))
        : (await this.run(plan.query, variablesFor(plan, {}), subscriber, user, true)).errors;
      return { data: { [PROBE_FIELD]: { id: user.userId } }, errors };
    }
    if (access && check) {
      const user = await subscriber.user();
      if (user.userId && (await access(user.userId, plan.projectId))) {
        const errors = await check(schema, plan.query, variablesFor(plan, {}), subscriber.context(user, true));
        return { data: { [PROBE_FIELD]: { id: plan.projectId } }, errors };
      }
    }
    // the subscriber's own request: through the gateway's guard, never shared
    return this.run(plan.query, variablesFor(plan, {}), subscriber, await subscriber.user(), true);
  }

  private sharedId(plan: LivePlan): string {
    let id = this.sharedIds.get(plan);
    if (id === undefined) {
      const text = JSON.stringify([plan.sharedQuery, plan.variables, plan.idVariables]);
      id = this.sharedIdsByText.get(text);
      if (id === undefined) {
        // ids are never reused, so a plan made before a clear can never share with another query
        if (this.sharedIdsByText.size >= 10_000) this.sharedIdsByText.clear();
        this.sharedIdsByText.set(text, (id = `q${++this.sharedSeq}`));
      }
      this.sharedIds.set(plan, id);
    }
    return id;
  }

  /** Runs a query through the supergraph as the subscriber. */
  private run(
    query: string,
    variables: Record<string, unknown>,
    subscriber: Subscriber,
    user: UserContext,
    clientOperation = false,
  ): Promise<EntityResult> {
    const execute = () =>
      this.opts.apollo
        .executeOperation({ query, variables }, { contextValue: subscriber.context(user, clientOperation) })
        .then((res): EntityResult => {
          const body = res.body.kind === 'single' ? res.body.singleResult : { data: null, errors: [] };
          return { data: (body.data as Record<string, unknown> | null) ?? null, errors: body.errors ?? [] };
        });
    if (clientOperation) return execute();
    // an event's resolution is a trace of its own (a start runs inside the subscription's span)
    return traceOperation(
      `live ${liveOperationName(query)}`,
      'consumer',
      { 'graphql.operation.type': 'query' },
      execute,
      firstCode,
    );
  }
}

/** The first error's code of a result, for its span. */
function firstCode(r: EntityResult): string | undefined {
  const code = r.errors[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `Live_taskChanged` from a plan's query (names only: never the document). */
function liveOperationName(query: string): string {
  return /^query (Live_\w{1,100})/.exec(query)?.[1] ?? 'Live';
}

/** The client's operation name, if it gave one. */
export function operationNameOf(args: Pick<ExecutionArgs, 'document' | 'operationName'>): string | undefined {
  return getOperationAST(args.document, args.operationName)?.name?.value.slice(0, 100);
}

/** The membership key of a subscriber's user and project (`user \u0001 project`), made once per user. */
function accessKeyOf(live: Live, userId: string): string {
  const memo = live.accessKey;
  if (memo?.userId === userId) return memo.key;
  const key = `${userId}\u0001${live.plan.projectId}`;
  live.accessKey = { userId, key };
  return key;
}

/** The plan's query variables for one event (entity ids from the message; none at the start). */
function variablesFor(plan: LivePlan, message: Record<string, unknown>): Record<string, unknown> {
  const variables: Record<string, unknown> = { ...plan.variables };
  for (const [variable, key] of Object.entries(plan.idVariables)) {
    variables[variable] = variable === PROBE_FIELD ? plan.projectId : typeof message[key] === 'string' ? message[key] : NO_ID;
  }
  return variables;
}

/** Refusals of the request path (limits, rate limits, maintenance), passed on as they are. */
const REFUSALS = new Set<string>([ErrorCode.RateLimited, ErrorCode.Maintenance, ErrorCode.InvalidRequest]);

function probeFailed(r: EntityResult): boolean {
  return r.errors.some((e) => e.path?.[0] === PROBE_FIELD) || !r.data?.[PROBE_FIELD];
}

/** The client completed the subscription before it started (graphql-ws sends this nowhere). */
function completedBeforeStart(): ExecutionResult {
  return {
    errors: [new GraphQLError('Subscription completed before it started', { extensions: { code: ErrorCode.InvalidRequest } })],
  };
}

function notMember(): GraphQLError {
  return new GraphQLError('You are not a member of this project (any more)', {
    extensions: { code: ErrorCode.NotProjectMember },
  });
}

function coded(err: unknown): GraphQLError {
  if (err instanceof AppError) return new GraphQLError(err.message, { extensions: { code: err.code, ...err.details } });
  return new GraphQLError('Live update failed', { extensions: { code: ErrorCode.ServiceUnavailable } });
}
