import type { Part1Result, Summary } from './part1';
import { BOARD_VUS, type Part2Result } from './part2';
import type { Part4Result } from './part4';
import type { Part5Result } from './part5';

export interface Goal {
  goal: string;
  pass: boolean | null;
  detail: string;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function closedTable(rows: Summary[]): string {
  return table([
    ['gateway', 'req/s (median, min–max)', 'p50 ms', 'p95 ms', 'p99 ms (min–max)', 'bad', 'CPU % (gateway / subgraphs / load)'],
    ...rows.map((r) =>
      r.unavailable && !Number.isFinite(r.rps)
        ? [r.gateway, r.unavailable.slice(0, 90), '', '', '', '', '']
        : [
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
          ],
    ),
  ]);
}

/** ours vs the faster peer: req/s ≥ 1.0× and p99 no worse. */
function versusPeer(label: string, rows: Summary[]): Goal {
  const ours = rows.find((r) => r.gateway === 'ours');
  const peers = rows.filter((r) => r.gateway.startsWith('hive') && Number.isFinite(r.rps));
  if (!ours || !peers.length) return { goal: label, pass: null, detail: 'not measured' };
  const best = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
  const pass = ours.rps >= best.rps && ours.p99 <= best.p99;
  return {
    goal: label,
    pass,
    detail: `ours ${f1(ours.rps)} req/s p99 ${f1(ours.p99)} ms vs ${best.gateway} ${f1(best.rps)} req/s p99 ${f1(best.p99)} ms (${(ours.rps / best.rps).toFixed(2)}×)`,
  };
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
  if (r.p1) {
    out.push(
      '\n1. Gateway workload (federation benchmark schema and query, 4 fixture subgraphs each in its own process, 50 VUs, closed loop)',
    );
    out.push(closedTable(r.p1.closed));
    out.push('\n   Open load (fixed arrival rates; dropped = not issued at the rate + timeouts)');
    out.push(
      table([
        ['rate/s', 'gateway', 'achieved req/s', 'p50 ms', 'p99 ms', 'dropped', 'bad'],
        ...r.p1.open.map((o) => [String(o.rate), o.gateway, f1(o.rps), f1(o.p50), f1(o.p99), String(o.dropped), String(o.bad)]),
      ]),
    );
    goals.push(versusPeer('gateway workload: req/s ≥ 1.0× faster peer, p99 no worse', r.p1.closed));
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
      goals.push(versusPeer('board query: req/s ≥ 1.0× faster peer, p99 no worse', r.p2.board));
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
      `\n4. Live updates (graphql-ws, taskChanged with a federated selection, subscribers spread over ${r.p4.users} users, one updateTask per event)`,
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
        ]),
      ]),
    );
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
    const k = r.p4.scenarios.find((s) => s.subscribers === 1000);
    goals.push({
      goal: '1,000 subscribers get an update within 1 s (p99)',
      pass: k ? k.p99 <= 1000 : null,
      detail: k ? `p99 ${f1(k.p99)} ms, last ${f1(k.lastMedian)} ms` : 'not measured',
    });
    for (const s of r.p4.scenarios)
      if (s.failedUpdates)
        out.push(`   ${s.subscribers} subscribers: ${s.failedUpdates} updateTask calls failed: ${s.firstFailure ?? ''}`);
    const ratios = [
      ...r.p4.scenarios.map((s) => s.deliveryRatio),
      ...(r.p4.filtered ? [r.p4.filtered.deliveryRatio] : []),
      ...(r.p4.churn ? [r.p4.churn.deliveryRatio] : []),
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
  out.push('\nGoals');
  for (const g of goals) out.push(`  ${g.pass === null ? 'SKIP' : g.pass ? 'PASS' : 'FAIL'}  ${g.goal}: ${g.detail}`);
  return { text: out.join('\n'), goals };
}
