import { readFileSync } from 'node:fs';
import { LeanClient } from './lean-ws-client';
import { metricsText } from './procs';

/** Connections the client opens at once: enough that the gateway, not the client's pacing, bounds the start rate. */
const OPEN_WAVE = 250;

/**
 * Live-update load, in its own process: `node live-load.js <config.json>`; prints one JSON line.
 * Opens N graphql-transport-ws connections (one subscription each; lean-ws-client.ts) on one project's `taskChanged` with a
 * federated selection, fires `updateTask` through the gateway and times each delivery.
 */
export interface LiveConfig {
  wsUrl: string;
  httpUrl: string;
  gatewayBase: string;
  /** One token per connection (cycled; ≤ 20 connections per user). */
  tokens: string[];
  projectId: string;
  taskIds: string[];
  otherProjectTaskIds: string[];
  updaterToken: string;
  counts: number[];
  eventsPerCount: number;
  filteredOthers: number;
  churnSeconds: number;
  churnConnections: number;
  stableForChurn: number;
  /** How long all of a scenario's subscriptions may take to start (default 60 s). */
  subscribeTimeoutMs?: number;
  /** Sustained updates: `sustainedRate` per second for `sustainedSeconds` to the `sustainedSubscribers` case (0 s: none). */
  sustainedSeconds?: number;
  sustainedRate?: number;
  sustainedSubscribers?: number;
  /** The tasks the sustained case cycles through (default `taskIds`): the more, the further apart one task's updates. */
  sustainedTaskIds?: string[];
  /** The case whose opening is reported as the subscription-start time (the goal's count). */
  startsCount?: number;
}

/** The part of a `taskChanged` payload the subscribers read. */
interface TaskChanged {
  taskId: string;
  at: string;
  task: { title: string } | null;
}

export const LIVE_QUERY = `subscription Board($p: ID!) { taskChanged(projectId: $p) { kind taskId at
  task { id title status version assignee { id name } reporter { name } } actor { name } } }`;

interface Sub {
  client: LeanClient;
  stop: () => void;
  got: Map<string, number>;
  bad: number;
  /** While `Live.byEvent`: arrival time (performance.now) of each event, by `taskId@at`. */
  events: Map<string, number>;
}

const now = () => performance.now();
const STARTED = 'live_subscriptions_started_total';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(base: string, name: string): Promise<number> {
  const text = await metricsText(base);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

/** Every series of a metric added up (e.g. a counter with labels). */
async function metricSum(base: string, name: string): Promise<number> {
  const text = await metricsText(base);
  let sum = 0;
  for (const l of text.split('\n')) if (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) sum += Number(l.split(' ').pop());
  return sum;
}

/** A histogram's cumulative bucket counts by upper bound (`le`), every series added up. */
async function histogram(base: string, name: string): Promise<Map<number, number>> {
  const text = await metricsText(base);
  const out = new Map<number, number>();
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(l)?.[1];
    if (!le) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(l.split(' ').pop()));
  }
  return out;
}

/**
 * The bucket bound under which `p` % of the observations between two scrapes of a histogram fall
 * (ms; Infinity: above the largest bucket).
 */
function histogramPct(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const b of bounds) if ((after.get(b) ?? 0) - (before.get(b) ?? 0) >= (p / 100) * total) return b * 1000;
  return Infinity;
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 10) / 10;
}

/** An event's `taskId@at`, made once per payload object. */
const eventKeys = new WeakMap<TaskChanged, string>();
function eventKey(event: TaskChanged): string {
  let key = eventKeys.get(event);
  if (key === undefined) eventKeys.set(event, (key = `${event.taskId}@${event.at}`));
  return key;
}

export class Live {
  /** title → send time */
  readonly sent = new Map<string, number>();
  /**
   * Deliveries recorded by event (`taskId@at`, the change's own time) instead of by title: a payload
   * carries the task as it is when it is resolved, so under a backlog an older event of a task can
   * arrive with a newer update's title. The sustained case matches events to its sends by time.
   */
  byEvent = false;
  private seq = 0;
  constructor(private readonly cfg: LiveConfig) {}

  async open(token: string, projectId = this.cfg.projectId): Promise<Sub> {
    const sub: Sub = { client: undefined as never, stop: () => undefined, got: new Map(), bad: 0, events: new Map() };
    sub.client = await LeanClient.connect(this.cfg.wsUrl, { authorization: `Bearer ${token}` });
    sub.stop = sub.client.subscribe(
      { query: LIVE_QUERY, variables: { p: projectId } },
      {
        next: (msg: { data?: { taskChanged: TaskChanged } | null; errors?: unknown[] }) => {
          const event = msg.data?.taskChanged;
          if (this.byEvent && event && !msg.errors?.length) {
            // the change's time as sent (parsed once per event when matched to its update); one
            // event's payload is one object for every subscriber here (lean-ws-client), keyed once
            const key = eventKey(event);
            if (sub.events.has(key)) sub.bad++;
            else sub.events.set(key, now());
            return;
          }
          const title = msg.data?.taskChanged?.task?.title;
          if (msg.errors?.length || !title || !msg.data?.taskChanged.task) {
            sub.bad++;
            return;
          }
          const t0 = this.sent.get(title);
          if (t0 !== undefined && !sub.got.has(title)) sub.got.set(title, now() - t0);
          else sub.bad++; // duplicate or unknown
        },
        error: () => sub.bad++,
        complete: () => undefined,
      },
    );
    return sub;
  }

  async update(taskId: string): Promise<string> {
    const { title, done } = this.startUpdate(taskId);
    await done;
    return title;
  }

  /**
   * Sends an updateTask (its send time recorded under its new title) without waiting for the
   * answer; `wall` is the send's wall-clock time (ms), to match the change's own time to.
   */
  startUpdate(taskId: string): { title: string; taskId: string; at: number; wall: number; done: Promise<void> } {
    const title = `live ${process.pid} ${++this.seq}`;
    const at = now();
    const wall = Date.now();
    this.sent.set(title, at);
    const done = (async () => {
      const res = await fetch(this.cfg.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.cfg.updaterToken}` },
        body: JSON.stringify({
          query: 'mutation($id: ID!, $t: String!) { updateTask(id: $id, input: { title: $t }) { id } }',
          variables: { id: taskId, t: title },
        }),
      });
      const body = (await res.json()) as { errors?: unknown[] };
      if (body.errors?.length) throw new Error(`updateTask failed: ${JSON.stringify(body.errors)}`);
    })();
    return { title, taskId, at, wall, done };
  }

  async waitSubscribed(expected: number, timeoutMs = this.cfg.subscribeTimeoutMs ?? 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await metric(this.cfg.gatewayBase, 'live_subscriptions')) < expected) {
      if (Date.now() > deadline)
        throw new Error(`only ${await metric(this.cfg.gatewayBase, 'live_subscriptions')} of ${expected} subscriptions live`);
      await sleep(100);
    }
  }

  /**
   * Waits until `n` subscriptions went live since `startedBefore` (the gateway's
   * live_subscriptions_started_total, counted once a subscription's Redis channel listens: exact,
   * whatever earlier subscriptions are still closing), polling every 50 ms.
   */
  async waitStarted(startedBefore: number, n: number, timeoutMs = this.cfg.subscribeTimeoutMs ?? 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const started = (await metric(this.cfg.gatewayBase, STARTED)) - startedBefore;
      if (started >= n) return;
      if (Date.now() > deadline) throw new Error(`only ${started} of ${n} subscriptions live after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async waitDrained(atMost: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await metric(this.cfg.gatewayBase, 'live_subscriptions')) > atMost && Date.now() < deadline) await sleep(100);
  }

  /** Opens `n` subscribers, OPEN_WAVE connections at a time (each wave connected before the next). */
  async openMany(n: number, offset = 0): Promise<Sub[]> {
    const subs: Sub[] = [];
    for (let i = 0; i < n; i += OPEN_WAVE) {
      subs.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(OPEN_WAVE, n - i) }, (_, k) =>
            this.open(this.cfg.tokens[(offset + i + k) % this.cfg.tokens.length]!),
          ),
        )),
      );
    }
    return subs;
  }

  /** Waits until every subscriber has the title (or the timeout); returns per-subscriber latencies. */
  async collect(subs: Sub[], title: string, timeoutMs = 15_000): Promise<number[]> {
    const deadline = now() + timeoutMs;
    while (subs.some((s) => !s.got.has(title)) && now() < deadline) await sleep(5);
    return subs.filter((s) => s.got.has(title)).map((s) => s.got.get(title)!);
  }
}

async function closeAll(subs: Sub[]): Promise<void> {
  for (const s of subs) {
    s.stop();
    await s.client.dispose();
  }
}

type NextTask = () => string;

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LiveConfig;
  const live = new Live(cfg);
  const out: Record<string, unknown> = { scenarios: [] as unknown[] };
  let task = 0;
  const nextTask = () => cfg.taskIds[task++ % cfg.taskIds.length]!;
  try {
    await runCases(live, cfg, out, nextTask);
  } catch (err) {
    // what was measured before the failure is kept
    out.error = (err as Error).message.slice(0, 500);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

async function runCases(live: Live, cfg: LiveConfig, out: Record<string, unknown>, nextTask: NextTask): Promise<void> {
  for (const n of cfg.counts) {
    const opened = await openMeasured(live, cfg.gatewayBase, n);
    const row = await deliveryScenario(live, cfg, opened, nextTask);
    (out.scenarios as unknown[]).push(row);
    process.stderr.write(`live ${JSON.stringify(row)}\n`);
    // most events filtered out: the same subscribers, while other projects' tasks change
    if (n === cfg.counts[Math.min(1, cfg.counts.length - 1)] && cfg.filteredOthers > 0) {
      out.filtered = await filteredScenario(live, cfg, opened.subs, row.badPayloads, nextTask);
      process.stderr.write(`filtered ${JSON.stringify(out.filtered)}\n`);
    }
    if (n === cfg.startsCount) {
      out.starts = { subscriptions: n, ms: opened.liveMs, clientOpenMs: opened.clientOpenMs };
      process.stderr.write(`starts ${JSON.stringify(out.starts)}\n`);
    }
    await closeAll(opened.subs);
  }

  if (cfg.churnSeconds > 0) {
    const churn = await churnScenario(live, cfg, nextTask);
    out.churn = churn.row;
    process.stderr.write(`churn ${JSON.stringify(out.churn)}\n`);
    await closeAll(churn.subs);
  }

  // last, on subscribers of its own: a backlog it leaves in the gateway cannot spill into another case
  const sustainedN = cfg.sustainedSubscribers ?? 0;
  if ((cfg.sustainedSeconds ?? 0) > 0 && cfg.counts.includes(sustainedN)) {
    const opened = await openMeasured(live, cfg.gatewayBase, sustainedN);
    out.sustained = await sustainedScenario(live, cfg, opened.subs, nextTask);
    process.stderr.write(`sustained ${JSON.stringify(out.sustained)}\n`);
    await closeAll(opened.subs);
  }
}

/**
 * N subscribers opened once the previous ones are gone, with the gateway's memory before and after,
 * and the time from the first connection opened until the gateway has all N live (`liveMs`).
 */
async function openMeasured(live: Live, base: string, n: number) {
  await live.waitDrained(0);
  const rss0 = await metric(base, 'process_resident_memory_bytes');
  const heap0 = await metric(base, 'nodejs_heap_size_used_bytes');
  const started0 = await metric(base, STARTED);
  const tOpen = now();
  const subs = await live.openMany(n);
  const clientOpenMs = now() - tOpen;
  await live.waitStarted(started0, n);
  const liveMs = now() - tOpen;
  await live.waitSubscribed(n);
  const openSec = (now() - tOpen) / 1000;
  await sleep(500);
  const rss1 = await metric(base, 'process_resident_memory_bytes');
  const heap1 = await metric(base, 'nodejs_heap_size_used_bytes');
  return {
    subs,
    openSec,
    liveMs: Math.round(liveMs),
    clientOpenMs: Math.round(clientOpenMs),
    rss: rss1 - rss0,
    heap: heap1 - heap0,
  };
}

/** `eventsPerCount` task updates, one at a time, each timed until every subscriber has it. */
async function deliveryScenario(
  live: Live,
  cfg: LiveConfig,
  opened: Awaited<ReturnType<typeof openMeasured>>,
  nextTask: NextTask,
) {
  const { subs } = opened;
  const n = subs.length;
  const d = await deliverEvents(live, cfg, subs, nextTask);
  const bad = subs.reduce((x, s) => x + s.bad, 0);
  return {
    subscribers: n,
    events: cfg.eventsPerCount,
    p50: pct(d.all, 50),
    p99: pct(d.all, 99),
    lastMedian: pct(d.lastPerEvent, 50),
    deliveryRatio: d.delivered / (n * cfg.eventsPerCount),
    failedUpdates: d.failedUpdates,
    ...(d.firstFailure ? { firstFailure: d.firstFailure } : {}),
    badPayloads: bad,
    memoryPerConnectionKiB: Math.round(opened.rss / n / 1024),
    heapPerConnectionKiB: Math.round(opened.heap / n / 1024),
    eventLoopLagMaxMs: Math.round(d.lagMax * 1000 * 10) / 10,
    connectSeconds: Math.round(opened.openSec * 10) / 10,
    liveMs: opened.liveMs,
  };
}

/**
 * Sustained updates: `sustainedRate` updateTask calls a second for `sustainedSeconds`, sent on a
 * fixed schedule (a 50 ms timer at 20/s that catches up on late ticks; it never waits for an
 * answer or a delivery), each timed from its own send to each delivery. Then up to 10 s for the
 * last deliveries. A backlog shows as latency rising through the window: the p99 of the events
 * sent in its last third against the first third's, and events not delivered at all.
 *
 * Deliveries are matched by event, not title (see `Live.byEvent`): an event of task X is the
 * update of X whose send and answer bracket the change's own time (`at`). Updates of one task are
 * `sustainedTaskIds.length / rate` seconds apart (7.5 s or more here), more than an update takes
 * to answer, so the brackets of one task's updates do not overlap.
 */
async function sustainedScenario(live: Live, cfg: LiveConfig, subs: Sub[], fallback: NextTask) {
  const tasks = cfg.sustainedTaskIds?.length ? cfg.sustainedTaskIds : null;
  let next = 0;
  const nextTask = tasks ? () => tasks[next++ % tasks.length]! : fallback;
  const base = cfg.gatewayBase;
  const rate = cfg.sustainedRate ?? 20;
  const seconds = cfg.sustainedSeconds ?? 30;
  const periodMs = 1000 / rate;
  const total = Math.round(seconds * rate);
  const windowMs = total * periodMs;
  const badBefore = subs.reduce((x, s) => x + s.bad, 0);
  type Send = ReturnType<Live['startUpdate']> & { failed?: string; answeredMs?: number; answeredWall?: number };
  const sends: Send[] = [];
  let lagMax = 0;
  await metric(base, 'nodejs_eventloop_lag_max_seconds'); // resets the window
  // where a shortfall comes from: what the gateway handed to its subscribers, and this process's own CPU
  const handed0 = await metricSum(base, 'live_events_delivered_total');
  const latency0 = await histogram(base, 'live_delivery_latency_seconds');
  const cpu0 = process.cpuUsage();
  const lagTimer = setInterval(() => {
    void metric(base, 'nodejs_eventloop_lag_max_seconds')
      .then((x) => (lagMax = Math.max(lagMax, Number.isFinite(x) ? x : 0)))
      .catch(() => undefined);
  }, 1000);
  for (const s of subs) s.events.clear();
  live.byEvent = true;
  const t0 = now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      // every send due by now (a late tick catches up), none ahead of its time
      const due = Math.min(total, Math.floor((now() - t0) / periodMs) + 1);
      while (sends.length < due) {
        const u: Send = live.startUpdate(nextTask());
        u.done = u.done.then(
          () => {
            u.answeredMs = now() - u.at;
            u.answeredWall = Date.now();
          },
          (err: unknown) => void (u.failed = (err as Error).message.slice(0, 300)),
        );
        sends.push(u);
      }
      if (sends.length >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, periodMs);
    tick();
  });
  // the rate kept: sends after the first ÷ the time from the first send to the last
  const sendSeconds = ((sends.at(-1)?.at ?? t0) - (sends[0]?.at ?? t0)) / 1000;
  await Promise.all(sends.map((x) => x.done));
  const ok = sends.filter((x) => !x.failed);
  // the last deliveries: every subscriber has as many events as updates succeeded, or 10 s have passed
  const deadline = now() + 10_000;
  while (now() < deadline && !subs.every((s) => s.events.size >= ok.length)) await sleep(20);
  live.byEvent = false;
  clearInterval(lagTimer);
  lagMax = Math.max(lagMax, await metric(base, 'nodejs_eventloop_lag_max_seconds'));
  const handed = (await metricSum(base, 'live_events_delivered_total')) - handed0;
  const latency = await histogram(base, 'live_delivery_latency_seconds');
  const cpu = process.cpuUsage(cpu0);
  const clientCpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (now() - t0)) * 100);

  // each event seen by any subscriber → its update: same task, sent at or before the change, answered at or after
  const sendOf = new Map<string, Send>();
  const byTask = new Map<string, Send[]>();
  for (const x of ok) byTask.set(x.taskId, [...(byTask.get(x.taskId) ?? []), x]);
  let unmatched = 0;
  for (const key of new Set(subs.flatMap((s) => [...s.events.keys()]))) {
    const [taskId, at] = [key.slice(0, key.lastIndexOf('@')), Date.parse(key.slice(key.lastIndexOf('@') + 1))];
    const candidates = (byTask.get(taskId) ?? []).filter((x) => x.wall - 5 <= at && at <= (x.answeredWall ?? Infinity) + 5);
    const match = candidates.at(-1);
    if (match) sendOf.set(key, match);
    else unmatched++;
  }
  const eventOf = new Map([...sendOf].map(([key, x]) => [x, key]));
  const thirds: number[][] = [[], [], []];
  const all: number[] = [];
  // where an event's time goes: send → the change's own time (the gateway's mutation path and tasks
  // up to its write), the change → its first delivery (the write, publication, resolution, first
  // socket), first → last delivery (the fan-out); the change's time is wall-clock, as the send's
  const toChange: number[] = [];
  const changeToFirst: number[] = [];
  const firstToLast: number[] = [];
  let delivered = 0;
  for (const x of ok) {
    const key = eventOf.get(x);
    if (!key) continue;
    const third = Math.min(2, Math.floor(((x.at - t0) / windowMs) * 3));
    let first = Infinity;
    let last = -Infinity;
    for (const s of subs) {
      const arrived = s.events.get(key);
      if (arrived === undefined) continue;
      delivered++;
      all.push(arrived - x.at);
      thirds[third]!.push(arrived - x.at);
      first = Math.min(first, arrived - x.at);
      last = Math.max(last, arrived - x.at);
    }
    const change = Date.parse(key.slice(key.lastIndexOf('@') + 1)) - x.wall;
    toChange.push(change);
    if (Number.isFinite(first)) {
      changeToFirst.push(first - change);
      firstToLast.push(last - first);
    }
  }
  const failed = sends.filter((x) => x.failed);
  return {
    subscribers: subs.length,
    rate,
    seconds,
    sent: sends.length,
    achievedRate: sendSeconds > 0 ? Math.round(((sends.length - 1) / sendSeconds) * 10) / 10 : NaN,
    failedUpdates: failed.length,
    ...(failed[0] ? { firstFailure: failed[0].failed } : {}),
    p50: pct(all, 50),
    p99: pct(all, 99),
    p99FirstThird: pct(thirds[0]!, 99),
    p99MiddleThird: pct(thirds[1]!, 99),
    p99LastThird: pct(thirds[2]!, 99),
    mutationP99: pct(
      ok.map((x) => x.answeredMs ?? NaN).filter((x) => Number.isFinite(x)),
      99,
    ),
    deliveryRatio: ok.length ? delivered / (ok.length * subs.length) : 0,
    /** Per event, p50 / p99 (ms): send → the change's time, the change → first delivery, first → last delivery. */
    split: {
      toChange: [pct(toChange, 50), pct(toChange, 99)],
      changeToFirst: [pct(changeToFirst, 50), pct(changeToFirst, 99)],
      firstToLast: [pct(firstToLast, 50), pct(firstToLast, 99)],
    },
    /** Payloads the gateway handed to its subscribers (live_events_delivered_total) by the end, of `ok × subscribers`. */
    gatewayHandedOver: handed,
    /** The gateway's own view (live_delivery_latency_seconds: the change's time → handed to the socket), bucket bounds in ms. */
    gatewayLatencyP50: histogramPct(latency0, latency, 50),
    gatewayLatencyP99: histogramPct(latency0, latency, 99),
    expectedDeliveries: ok.length * subs.length,
    /** Events received that match no update (none expected). */
    unmatchedEvents: unmatched,
    /** The subscribers' process (this one): % of one core over the window and the drain. */
    clientCpuPercent,
    /** Payloads with errors, and events received twice by one subscriber. */
    badPayloads: subs.reduce((x, s) => x + s.bad, 0) - badBefore,
    eventLoopLagMaxMs: Math.round(lagMax * 1000 * 10) / 10,
  };
}

/** Sends the events and collects every subscriber's latency, the slowest per event and the gateway's event-loop lag. */
async function deliverEvents(live: Live, cfg: LiveConfig, subs: Sub[], nextTask: NextTask) {
  const base = cfg.gatewayBase;
  const all: number[] = [];
  const lastPerEvent: number[] = [];
  let lagMax = 0;
  let delivered = 0;
  let failedUpdates = 0;
  let firstFailure: string | undefined;
  for (let e = 0; e < cfg.eventsPerCount; e++) {
    await metric(base, 'nodejs_eventloop_lag_max_seconds'); // resets the window
    let title: string;
    try {
      title = await live.update(nextTask());
    } catch (err) {
      // the change itself failed (counted: an event that never happened cannot be delivered)
      failedUpdates++;
      firstFailure ??= (err as Error).message.slice(0, 300);
      lastPerEvent.push(NaN);
      continue;
    }
    const lat = await live.collect(subs, title);
    lagMax = Math.max(lagMax, await metric(base, 'nodejs_eventloop_lag_max_seconds'));
    delivered += lat.length;
    all.push(...lat);
    lastPerEvent.push(lat.length ? Math.max(...lat) : NaN);
    await sleep(300);
  }
  return { all, lastPerEvent, lagMax, delivered, failedUpdates, firstFailure };
}

/** One matching event between many of other projects: delivered once to each, nothing else delivered. */
async function filteredScenario(live: Live, cfg: LiveConfig, subs: Sub[], badBefore: number, nextTask: NextTask) {
  const others = cfg.otherProjectTaskIds;
  for (let i = 0; i < cfg.filteredOthers; i++) await live.update(others[i % others.length]!);
  const title = await live.update(nextTask());
  for (let i = 0; i < cfg.filteredOthers; i++) await live.update(others[(i + 3) % others.length]!);
  const lat = await live.collect(subs, title);
  await sleep(500);
  const extra = subs.reduce((x, s) => x + s.bad, 0) - badBefore;
  const n = subs.length;
  return {
    subscribers: n,
    otherEvents: cfg.filteredOthers * 2,
    matching: 1,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    deliveryRatio: lat.length / n,
    unexpectedPayloads: extra,
  };
}

/**
 * Subscribe/unsubscribe churn next to stable subscribers: their latency, and no subscription or
 * channel left behind. Returns the row and the connections, still open, for the caller to close.
 */
async function churnScenario(live: Live, cfg: LiveConfig, nextTask: NextTask) {
  await live.waitDrained(0);
  const stable = await live.openMany(cfg.stableForChurn);
  await live.waitSubscribed(cfg.stableForChurn);
  // the subscription count can still include the previous scenario's closing subscribers: one
  // warm-up event that every stable subscriber must receive proves they are all live (not counted)
  const warm = await live.collect(stable, await live.update(nextTask()), 15_000);
  if (warm.length < stable.length)
    process.stderr.write(`churn warm-up reached ${warm.length} of ${stable.length} stable subscribers\n`);
  const churners = await Promise.all(
    Array.from({ length: cfg.churnConnections }, (_, i) => live.open(cfg.tokens[(i * 7) % cfg.tokens.length]!)),
  );
  for (const c of churners) c.stop();
  const churn = startChurn(churners, cfg.projectId);
  const { lat, sent } = await eventsFor(live, stable, cfg.churnSeconds, nextTask);
  const cycles = await churn.stop();
  await sleep(1000);
  const subsAfter = await metric(cfg.gatewayBase, 'live_subscriptions');
  const channelsAfter = await metric(cfg.gatewayBase, 'live_redis_channels');
  const row = {
    stable: cfg.stableForChurn,
    churnConnections: cfg.churnConnections,
    cycles,
    cyclesPerSecond: Math.round(cycles / cfg.churnSeconds),
    events: sent,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    deliveryRatio: lat.length / (sent * cfg.stableForChurn),
    subscriptionsAfter: subsAfter,
    leakedSubscriptions: subsAfter - cfg.stableForChurn,
    redisChannelsAfter: channelsAfter,
  };
  return { row, subs: [...stable, ...churners] };
}

/** Each connection subscribes and unsubscribes in a loop until stopped; `stop` resolves to the cycles done. */
function startChurn(churners: Sub[], projectId: string): { stop(): Promise<number> } {
  let cycles = 0;
  let running = true;
  const loops = churners.map(async (c) => {
    while (running) {
      const stop = c.client.subscribe(
        { query: LIVE_QUERY, variables: { p: projectId } },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      await sleep(50 + Math.random() * 100);
      stop();
      cycles++;
      await sleep(10);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return cycles;
    },
  };
}

/** Task updates for `seconds`, each collected from the subscribers (10 s at most), 250 ms apart. */
async function eventsFor(live: Live, subs: Sub[], seconds: number, nextTask: NextTask) {
  const lat: number[] = [];
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const title = await live.update(nextTask());
    sent++;
    lat.push(...(await live.collect(subs, title, 10_000)));
    await sleep(250);
  }
  return { lat, sent };
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
