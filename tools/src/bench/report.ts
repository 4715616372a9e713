import type { Part1Result, Summary } from './part1';
import { BOARD_VUS, type Part2Result } from './part2';
import type { Part4Result } from './part4';
import type { Part5Result } from './part5';
import { BENCH_RATE_LIMIT_PER_MINUTE, median } from './procs';

export interface Goal {
  goal: string;
  /** null: not measured (SKIP), or a report line without a threshold (`info`). */
  pass: boolean | null;
  detail: string;
  info?: boolean;
}

/** The peers the speed goals compare with: Hive Gateway, with its JS or its Rust query planner. */
const HIVE_VARIANTS = ['hive', 'hive+rust-planner'];
/** Our throughput over the faster Hive Gateway variant's, at least. */
const SPEEDUP = 1.5;
/** Our gateway's CPU time per request in part 1, at most (ms). */
const MAX_CPU_MS_PER_REQUEST = 3;

/** What every measured configuration runs with (printed under the header). */
export const CHECKS_STATEMENT = `Checks: per-event authorization, token re-checks (JWT verify + Redis token version on every request), operation limits and rate limits (${Number(
  BENCH_RATE_LIMIT_PER_MINUTE,
).toLocaleString(
  'en-US',
)} per minute per user, far above what the bench sends) are on in every measured configuration of ours; the Hive Gateway peers run the same token check (and sign each subgraph fetch) via their plugin; Hive Router runs with none (reference only).`;

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const ms = (x: number) => (Number.isFinite(x) ? `${f1(x)} ms` : '–');

/**
 * A closed-loop table; `checks` (gateway → what it checks per request) adds a last column. CPU
 * ms/req is the gateway process's CPU time per request (see `cpuMsPerRequest`), median of the rounds.
 */
function closedTable(rows: Summary[], checks?: Record<string, string>): string {
  const head = [
    'gateway',
    'req/s (median, min–max)',
    'p50 ms',
    'p95 ms',
    'p99 ms (min–max)',
    'bad',
    'CPU % (gateway / subgraphs / load)',
    'CPU ms/req',
    ...(checks ? ['checks per request'] : []),
  ];
  return table([
    head,
    ...rows.map((r) => {
      const check = checks ? [checks[r.gateway] ?? ''] : [];
      if (r.unavailable && !Number.isFinite(r.rps))
        return [r.gateway, r.unavailable.slice(0, 120), '', '', '', '', '', '', ...check];
      return [
        r.gateway,
        `${f1(r.rps)} (${f1(r.rpsSpread[0])}–${f1(r.rpsSpread[1])})`,
        f1(r.p50),
        f1(r.p95),
        `${f1(r.p99)} (${f1(r.p99Spread[0])}–${f1(r.p99Spread[1])})`,
        String(r.badResponses + r.errors),
        `${f0(r.cpu.gateway ?? NaN)} / ${Object.entries(r.cpu)
          .filter(([k]) => k !== 'gateway' && k !== 'load')
          .map(([, v]) => f0(v))
          .join('+')} / ${f0(r.cpu.load ?? NaN)}`,
        f2(r.cpuMsPerRequest),
        ...check,
      ];
    }),
  ]);
}

/** The Hive Gateway variants that were measured (not Hive Router, a reference only). */
function hiveRows(rows: Summary[]): Summary[] {
  return rows.filter((r) => HIVE_VARIANTS.includes(r.gateway) && r.samples.length > 0 && Number.isFinite(r.rps));
}

/**
 * Part 1: ours (medians of the kept rounds) vs the faster Hive Gateway variant by median req/s:
 * req/s ≥ 1.5× theirs and p99 ≤ theirs.
 */
function gatewaySpeed(rows: Summary[]): Goal {
  const goal = `gateway workload: ours req/s ≥ ${SPEEDUP}× the faster Hive Gateway variant, p99 no worse`;
  const ours = rows.find((r) => r.gateway === 'ours');
  const peers = hiveRows(rows);
  if (!ours?.samples.length || !peers.length) return { goal, pass: null, detail: 'not measured' };
  const best = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
  return {
    goal,
    pass: ours.rps >= SPEEDUP * best.rps && ours.p99 <= best.p99,
    detail: `ours ${f1(ours.rps)} req/s p99 ${ms(ours.p99)} vs ${best.gateway} ${f1(best.rps)} req/s p99 ${ms(best.p99)} (${f2(ours.rps / best.rps)}×, medians of the kept rounds)`,
  };
}

/** Part 1: our gateway's CPU time per request (median over the kept rounds, each from one /proc window). */
function gatewayCpu(rows: Summary[]): Goal {
  const goal = `gateway workload: our gateway's CPU per request ≤ ${MAX_CPU_MS_PER_REQUEST} ms`;
  const ours = rows.find((r) => r.gateway === 'ours');
  if (!ours?.samples.length || !Number.isFinite(ours.cpuMsPerRequest)) return { goal, pass: null, detail: 'not measured' };
  return {
    goal,
    pass: ours.cpuMsPerRequest <= MAX_CPU_MS_PER_REQUEST,
    detail: `${f2(ours.cpuMsPerRequest)} ms (gateway CPU % ÷ 100 ÷ req/s × 1000 per round, median; ${f0(ours.cpu.gateway ?? NaN)} % of a core at ${f1(ours.rps)} req/s)`,
  };
}

/**
 * Part 2: round by round (round i of ours against round i of each Hive Gateway variant, the kept
 * rounds in order): ours req/s ≥ 1.5× the peer's and p99 ≤ the peer's, in every round and against
 * every peer.
 */
function boardRounds(rows: Summary[]): Goal {
  const goal = `board query: ours req/s ≥ ${SPEEDUP}× the faster Hive Gateway variant, p99 no worse, in every kept round`;
  const ours = rows.find((r) => r.gateway === 'ours');
  const peers = hiveRows(rows);
  if (!ours?.samples.length || !peers.length) return { goal, pass: null, detail: 'not measured' };
  const rounds = Math.min(ours.samples.length, ...peers.map((p) => p.samples.length));
  let pass = rounds > 0;
  const parts: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const o = ours.samples[i]!;
    const vs = peers.map((p) => {
      const x = p.samples[i]!;
      const ok = o.rps >= SPEEDUP * x.rps && o.p99 <= x.p99;
      pass &&= ok;
      return `${p.gateway} ${f1(x.rps)} (${f2(o.rps / x.rps)}×) p99 ${f1(x.p99)}${ok ? '' : ' ✗'}`;
    });
    parts.push(`kept round ${i + 1}: ours ${f1(o.rps)} req/s p99 ${f1(o.p99)} ms vs ${vs.join(', ')}`);
  }
  return { goal, pass, detail: parts.join('; ') };
}

/**
 * Part 2: where a board request's CPU goes, ours and the faster Hive Gateway variant: the gateway
 * process, and everything else of the stack (subgraphs, store, Redis), in CPU ms per request from
 * the same /proc windows (medians of the kept rounds). On a machine the load saturates, req/s
 * follows the total, so ours ÷ the peer's is at most (peer gateway + the rest) ÷ (the rest): the
 * ratio even a gateway costing nothing would reach. A report, no threshold.
 */
function boardCpuLine(rows: Summary[]): Goal | null {
  const ours = rows.find((r) => r.gateway === 'ours');
  const peers = hiveRows(rows);
  if (!ours?.samples.length || !peers.length) return null;
  const best = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
  const split = (row: Summary) => {
    const per = (pick: (cpu: Record<string, number>) => number) =>
      median(row.samples.filter((s) => s.rps > 0).map((s) => (pick(s.cpu) / 100 / s.rps) * 1000));
    const rest = (cpu: Record<string, number>) =>
      Object.entries(cpu)
        .filter(([k, v]) => k !== 'gateway' && k !== 'load' && Number.isFinite(v))
        .reduce((n, [, v]) => n + v, 0);
    return { gateway: per((cpu) => cpu.gateway ?? NaN), rest: per(rest) };
  };
  const o = split(ours);
  const b = split(best);
  return {
    goal: 'board query, CPU per request',
    pass: null,
    info: true,
    detail:
      `ours: gateway ${f2(o.gateway)} ms + subgraphs, store and Redis ${f2(o.rest)} ms; ${best.gateway}: gateway ${f2(b.gateway)} ms + ${f2(b.rest)} ms; ` +
      `gateway alone ${f2(b.gateway / o.gateway)}× less CPU than the peer's; with the machine saturated, req/s ${f2(ours.rps / best.rps)}× ` +
      `(a gateway costing nothing on these subgraphs: at most ${f2((b.gateway + b.rest) / b.rest)}×)`,
  };
}

/** Part 1: our gateway with SUBGRAPH_DEDUP=on against the default (off); a report, no threshold. */
function dedupLine(rows: Summary[]): Goal | null {
  const ours = rows.find((r) => r.gateway === 'ours');
  const dedup = rows.find((r) => r.gateway === 'ours+dedup');
  if (!ours?.samples.length || !dedup?.samples.length) return null;
  return {
    goal: 'de-duplication (SUBGRAPH_DEDUP=on; the default is off)',
    pass: null,
    info: true,
    detail: `ours+dedup ${f1(dedup.rps)} req/s p99 ${ms(dedup.p99)} vs ours ${f1(ours.rps)} req/s p99 ${ms(ours.p99)}: req/s ${f2(dedup.rps / ours.rps)}×, p99 ${f2(dedup.p99 / ours.p99)}×`,
  };
}

/** Part 4's goals: latency at 1,000 and 5,000 subscribers, loop lag, sustained updates, starts. */
function liveGoals(p4: Part4Result, quick: boolean): Goal[] {
  const row = (n: number) => p4.scenarios.find((s) => s.subscribers === n && Number.isFinite(s.p99));
  const notMeasured = (n: number) => (quick && n === 5000 ? 'not measured (quick run: up to 1,000 subscribers)' : 'not measured');
  const k1 = row(1000);
  const k5 = row(5000);
  const goals: Goal[] = [
    {
      goal: 'live: 1,000 subscribers, p99 < 150 ms',
      pass: k1 ? k1.p99 < 150 : null,
      detail: k1 ? `p99 ${ms(k1.p99)}, p50 ${ms(k1.p50)}, last (median) ${ms(k1.lastMedian)}` : notMeasured(1000),
    },
    {
      goal: 'live: 5,000 subscribers, p99 < 600 ms',
      pass: k5 ? k5.p99 < 600 : null,
      detail: k5 ? `p99 ${ms(k5.p99)}, p50 ${ms(k5.p50)}, last (median) ${ms(k5.lastMedian)}` : notMeasured(5000),
    },
    {
      goal: 'live: 5,000 subscribers, gateway event-loop lag max < 100 ms',
      pass: k5 ? k5.eventLoopLagMaxMs < 100 : null,
      detail: k5 ? `${ms(k5.eventLoopLagMaxMs)} (nodejs_eventloop_lag_max_seconds over the event windows)` : notMeasured(5000),
    },
  ];
  const x = p4.sustained;
  const backlogLimit = x ? 1.5 * x.p99FirstThird + 50 : NaN;
  // a third with no delivery at all has no p99 (NaN; null in the JSON): that is no pass
  const noBacklog = !!x && Number.isFinite(x.p99FirstThird) && Number.isFinite(x.p99LastThird) && x.p99LastThird <= backlogLimit;
  goals.push({
    goal: 'live: sustained 20 updates/s to 1,000 subscribers, p99 < 300 ms and no growing backlog (last third p99 ≤ 1.5× first third + 50 ms, every event delivered to every subscriber)',
    pass: x ? x.p99 < 300 && noBacklog && x.deliveryRatio === 1 && x.failedUpdates === 0 : null,
    detail: x
      ? `${x.seconds} s, ${x.sent} updates: p99 ${ms(x.p99)}; first third p99 ${ms(x.p99FirstThird)}, last third p99 ${ms(x.p99LastThird)} (limit ${ms(backlogLimit)}); delivered ${(x.deliveryRatio * 100).toFixed(1)}%, failed updates ${x.failedUpdates}`
      : 'not measured',
  });
  const want = quick ? 1000 : 5000;
  const st = p4.starts;
  goals.push({
    goal: `live: ${want.toLocaleString('en-US')} subscriptions live within 5 s${quick ? ' (quick run; a full run: 5,000)' : ''}`,
    pass: st && st.subscriptions === want ? st.ms <= 5000 : null,
    detail:
      st && st.subscriptions === want
        ? `${f0(st.ms)} ms from the first connection opened until the gateway counted all live (live_subscriptions_started_total; the client had sent them all after ${f0(st.clientOpenMs)} ms)`
        : 'not measured',
  });
  return goals;
}

export function report(r: {
  machine: Record<string, unknown>;
  p1?: Part1Result;
  p2?: Part2Result;
  p4?: Part4Result;
  p5?: Part5Result;
}): { text: string; goals: Goal[] } {
  const out: string[] = [];
  const goals: Goal[] = [];
  out.push(
    `Bench ${String(r.machine.date)} · ${String(r.machine.cpu)} · ${String(r.machine.cores)} cores · Node ${String(r.machine.node)} · ${String(r.machine.mode)} run · load average at start ${(r.machine.loadAverageAtStart as number[]).join(' ')}`,
  );
  out.push(CHECKS_STATEMENT);
  const quick = r.machine.mode === 'quick';
  let dedup: Goal | null = null;
  if (r.p1) {
    out.push(
      '\n1. Gateway workload (federation benchmark schema and query, 4 fixture subgraphs each in its own process, 50 VUs, closed loop)',
    );
    const checks = Object.fromEntries(Object.entries(r.p1.flags).map(([k, v]) => [k, String(v.checks ?? '')]));
    out.push(closedTable(r.p1.closed, checks));
    out.push(
      '   CPU ms/req = gateway CPU % ÷ 100 ÷ req/s × 1000, per round from the same /proc window, median of the kept rounds. Hive Router rows: reference only (no auth, no signed context).',
    );
    dedup = dedupLine(r.p1.closed);
    if (dedup) out.push(`   ${dedup.goal}: ${dedup.detail}`);
    out.push('\n   Open load (fixed arrival rates; dropped = not issued at the rate + timeouts)');
    out.push(
      table([
        ['rate/s', 'gateway', 'achieved req/s', 'p50 ms', 'p99 ms', 'dropped', 'bad'],
        ...r.p1.open.map((o) => [String(o.rate), o.gateway, f1(o.rps), f1(o.p50), f1(o.p99), String(o.dropped), String(o.bad)]),
      ]),
    );
    goals.push(gatewaySpeed(r.p1.closed), gatewayCpu(r.p1.closed));
  }
  if (r.p2) {
    out.push(
      `\n2. Board query through the full stack (seeded through the API: ${r.p2.seed.users} users, ${r.p2.seed.projects} projects, ${r.p2.seed.tasks} tasks, ${r.p2.seed.comments} comments; ${BOARD_VUS} VUs, one user each)`,
    );
    if (r.p2.board) {
      out.push(closedTable(r.p2.board));
      if (r.p2.boardStore) {
        const top = Object.entries(r.p2.boardStore).slice(0, 5);
        out.push(
          `   store commands during the load, per board request: ${top.map(([k, v]) => `${k} ×${v.perRequest} (mean ${v.meanMs} ms)`).join(', ') || 'none'}`,
        );
      }
      goals.push(boardRounds(r.p2.board));
      const boardCpu = boardCpuLine(r.p2.board);
      if (boardCpu) goals.push(boardCpu);
    }
    if (r.p2.single && r.p2.gatewayOverDirect) {
      out.push('\n   Single-subgraph query (projects): through our gateway vs direct to the subgraph');
      out.push(closedTable(r.p2.single));
      out.push(
        `   gateway ÷ direct: throughput ${r.p2.gatewayOverDirect.rpsRatio.toFixed(2)}×, p50 latency ${r.p2.gatewayOverDirect.p50Ratio.toFixed(2)}×`,
      );
    }
    if (r.p2.growth) {
      out.push('\n3. Cost growth of the board query in tasks(first: N) (page size is capped at 100)');
      out.push(
        table([
          [
            'first',
            'before',
            'tasks returned',
            'p50 ms',
            'p99 ms',
            'ms per task',
            'subgraph requests / request',
            'db round trips / request',
            'store ms / request',
          ],
          ...r.p2.growth.map((g) => [
            String(g.first),
            g.pages ?? 'steady',
            String(g.returned),
            f1(g.p50),
            f1(g.p99),
            g.msPerTask.toFixed(3),
            f1(g.subgraphRequests),
            f1(g.dbRoundTrips),
            f1(g.dbMs),
          ]),
        ]),
      );
      goals.push({
        goal: 'database round trips constant in the task count',
        pass: r.p2.roundTripsConstant ?? null,
        detail: r.p2.growth
          .map((g) => `${g.first}${g.pages === 'after a write' ? ' (after a write)' : ''}: ${f1(g.dbRoundTrips)}`)
          .join(', '),
      });
    }
  }
  if (r.p4) {
    out.push(
      `\n4. Live updates (graphql-ws server; the subscribers' process speaks graphql-transport-ws with a lean client of the bench's own on its own WebSocket framing, tools/src/bench/lean-ws-client.ts: every message read, every payload checked, a payload byte-equal to one just parsed compared instead of parsed again; taskChanged with a federated selection, subscribers spread over ${r.p4.users} users, one updateTask per event)`,
    );
    if (r.p4.error) out.push(`   failed: ${r.p4.error.slice(0, 500)}`);
    out.push(
      table([
        [
          'subscribers',
          'events',
          'p50 ms',
          'p99 ms',
          'last (median) ms',
          'delivered',
          'bad',
          'RSS/conn KiB',
          'heap/conn KiB',
          'loop lag max ms',
          'all live after ms',
        ],
        ...r.p4.scenarios.map((s) => [
          String(s.subscribers),
          String(s.events),
          f1(s.p50),
          f1(s.p99),
          f1(s.lastMedian),
          `${(s.deliveryRatio * 100).toFixed(1)}%`,
          String(s.badPayloads),
          String(s.memoryPerConnectionKiB),
          String(s.heapPerConnectionKiB),
          f1(s.eventLoopLagMaxMs),
          f0(s.liveMs ?? NaN),
        ]),
      ]),
    );
    out.push(
      "   all live after: from the first connection opened (batches of 250 connections, each subscribing once acknowledged) until the gateway counted every subscription live (live_subscriptions_started_total, polled every 50 ms). Loop lag: the gateway's nodejs_eventloop_lag_max_seconds over the event windows.",
    );
    if (r.p4.sustained) {
      const x = r.p4.sustained;
      out.push(
        `   sustained: ${x.rate} updates/s (fixed schedule, a ${f0(1000 / x.rate)} ms timer) to ${x.subscribers} subscribers for ${x.seconds} s: ${x.sent} sent (${f1(x.achievedRate)}/s), ${x.failedUpdates} failed; deliveries p50 ${ms(x.p50)}, p99 ${ms(x.p99)}; p99 by send time: first third ${ms(x.p99FirstThird)}, middle ${ms(x.p99MiddleThird)}, last third ${ms(x.p99LastThird)}; delivered ${(x.deliveryRatio * 100).toFixed(1)}% (10 s allowed after the last send; the gateway had handed over ${x.gatewayHandedOver} of ${x.expectedDeliveries} payloads, live_events_delivered_total; its own latency histogram, change → socket: p50 ≤ ${ms(x.gatewayLatencyP50 ?? NaN)}, p99 ≤ ${ms(x.gatewayLatencyP99 ?? NaN)}); mutation p99 ${ms(x.mutationP99)}; per event p50 / p99: send → the change's time ${splitText(x.split?.toChange)}, change → first delivery ${splitText(x.split?.changeToFirst)}, first → last delivery ${splitText(x.split?.firstToLast)}; gateway loop lag max ${ms(x.eventLoopLagMaxMs)}; subscriber process CPU ${f0(x.clientCpuPercent)} % of a core; bad payloads ${x.badPayloads}; events matching no update ${x.unmatchedEvents}`,
      );
      if (x.firstFailure) out.push(`   sustained: first failed update: ${x.firstFailure.slice(0, 300)}`);
    }
    if (r.p4.perSubscriber?.length) {
      out.push('   before (LIVE_SHARED_RESOLUTION=off: every payload resolved through the supergraph per subscriber):');
      out.push(
        table([
          ['subscribers', 'p50 ms', 'p99 ms', 'last (median) ms', 'delivered', 'loop lag max ms'],
          ...r.p4.perSubscriber.map((s) => [
            String(s.subscribers),
            f1(s.p50),
            f1(s.p99),
            f1(s.lastMedian),
            `${(s.deliveryRatio * 100).toFixed(1)}%`,
            f1(s.eventLoopLagMaxMs),
          ]),
        ]),
      );
      for (const s of r.p4.perSubscriber)
        if (s.firstFailure)
          out.push(`   ${s.subscribers} subscribers: ${s.failedUpdates ?? '?'} failed updates: ${s.firstFailure.slice(0, 300)}`);
    }
    if (r.p4.filtered) {
      const x = r.p4.filtered;
      out.push(
        `   mostly filtered: ${x.subscribers} subscribers, ${x.otherEvents} events in another project around 1 matching: p50 ${f1(x.p50)} ms, p99 ${f1(x.p99)} ms, delivered ${(x.deliveryRatio * 100).toFixed(1)}%, unexpected payloads ${x.unexpectedPayloads}`,
      );
    }
    if (r.p4.churn) {
      const c = r.p4.churn;
      out.push(
        `   churn: ${c.cycles} subscribe/unsubscribe cycles (${c.cyclesPerSecond}/s) next to ${c.stable} stable subscribers: ${c.events} events, p50 ${f1(c.p50)} ms, p99 ${f1(c.p99)} ms, delivered ${(c.deliveryRatio * 100).toFixed(1)}%, leaked subscriptions ${c.leakedSubscriptions}, Redis channels after ${c.redisChannelsAfter}`,
      );
    }
    goals.push(...liveGoals(r.p4, quick));
    for (const s of r.p4.scenarios)
      if (s.failedUpdates)
        out.push(`   ${s.subscribers} subscribers: ${s.failedUpdates} updateTask calls failed: ${s.firstFailure ?? ''}`);
    const ratios = [
      ...r.p4.scenarios.map((s) => s.deliveryRatio),
      ...(r.p4.filtered ? [r.p4.filtered.deliveryRatio] : []),
      ...(r.p4.churn ? [r.p4.churn.deliveryRatio] : []),
      ...(r.p4.sustained ? [r.p4.sustained.deliveryRatio] : []),
    ];
    goals.push({
      goal: 'no dropped live events',
      pass: ratios.length ? ratios.every((x) => x === 1) : null,
      detail: ratios.map((x) => `${(x * 100).toFixed(1)}%`).join(', '),
    });
  }
  if (r.p5) {
    out.push(
      `\n5. Analytics: Project.metrics through the gateway for projects with the same tasks and a short or long history (read model fed at ${r.p5.ingestPerSecond} events/s)`,
    );
    if (r.p5.error) out.push(`   failed: ${r.p5.error.slice(0, 500)}`);
    out.push(
      table([
        ['task changes', 'tasks', 'requests', 'p50 ms', 'p99 ms', 'store commands / request', 'store ms / request'],
        ...r.p5.rows.map((x) => [
          String(x.changes),
          String(x.tasks),
          String(x.requests),
          f1(x.p50),
          f1(x.p99),
          f1(x.storeCommands),
          f1(x.storeMs),
        ]),
      ]),
    );
    const [short, long] = r.p5.rows;
    goals.push({
      goal: 'analytics: metrics cost constant in history length (store commands within 1 of each other, p50 within 1.5× + 5 ms)',
      pass: short && long ? Math.abs(long.storeCommands - short.storeCommands) <= 1 && long.p50 <= short.p50 * 1.5 + 5 : null,
      detail:
        short && long
          ? `${short.changes} changes: p50 ${f1(short.p50)} ms, ${f1(short.storeCommands)} commands; ${long.changes} changes: p50 ${f1(long.p50)} ms, ${f1(long.storeCommands)} commands`
          : 'not measured',
    });
  }
  if (dedup) goals.push(dedup);
  out.push('\nGoals');
  for (const g of goals)
    out.push(`  ${g.info ? 'INFO' : g.pass === null ? 'SKIP' : g.pass ? 'PASS' : 'FAIL'}  ${g.goal}: ${g.detail}`);
  return { text: out.join('\n'), goals };
}

/** A p50 / p99 pair of the sustained case's per-event split, or – when the run had none. */
function splitText(pair: readonly number[] | undefined): string {
  return pair ? `${pair[0]} / ${pair[1]} ms` : '–';
}
