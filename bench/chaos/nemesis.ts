/**
 * The nemesis: injects one fault at a time on a schedule drawn from a seeded PRNG, every
 * kind once per round in a shuffled order, with quiet gaps between them. After each fault
 * ends (SIGCONT, restart, thaw) it measures the recovery: until /health/ready answers 200
 * and a send succeeds (for a frozen Kafka, also until /health is `ok` again: the relay
 * delivered its backlog).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaMock } from '@herald/kafka-mock';
import { signal, type HeraldProcess } from './herald-process.js';
import { FAULT_KINDS, type FaultKind, type History } from './history.js';
import type { Prng } from './prng.js';
import { probeSend, type Endpoint, type World } from './workload.js';

export interface NemesisOptions {
  readonly herald: HeraldProcess;
  readonly kafka: KafkaMock | undefined;
  readonly world: World;
  readonly endpoint: Endpoint;
  readonly history: History;
  readonly prng: Prng;
  /** How long a lasting fault (pause, freeze, slow client) lasts: [min, max] ms. */
  readonly faultMs: readonly [number, number];
  /** Quiet time between one fault's recovery and the next fault: [min, max] ms. */
  readonly gapMs: readonly [number, number];
  /** Recovery is waited for at most this long (then the fault is recorded as never recovered). */
  readonly recoveryTimeoutMs: number;
  readonly log: (line: string) => void;
}

/**
 * Herald restarts its PostgreSQL at most 5 times in 10 minutes (then exits, by design):
 * the nemesis kills it at most this often within one Herald process.
 */
const POSTGRES_KILLS_PER_WINDOW = 3;
const POSTGRES_KILL_WINDOW_MS = 10 * 60_000;

export class Nemesis {
  private stopped = false;
  private probes = 0;
  private postgresKills: number[] = [];
  readonly injected = new Map<FaultKind, number>();

  constructor(private readonly o: NemesisOptions) {}

  stop(): void {
    this.stopped = true;
  }

  /** Runs until `stop()` or `until` (a Date.now() deadline), then leaves every fault lifted. */
  async run(until: number): Promise<void> {
    let round: FaultKind[] = [];
    while (!this.stopped && Date.now() < until) {
      await this.quiet(this.o.prng.int(this.o.gapMs[0], this.o.gapMs[1]), until);
      if (this.stopped || Date.now() >= until) break;
      if (round.length === 0)
        round = this.o.prng.shuffle(FAULT_KINDS.filter((k) => k !== 'kafka-freeze' || this.o.kafka));
      let fault = round.shift()!;
      if (fault === 'postgres-kill' && !this.mayKillPostgres()) {
        round.push(fault);
        fault = round.shift()!;
        if (fault === 'postgres-kill') continue;
      }
      await this.inject(fault);
    }
  }

  private async quiet(ms: number, until: number): Promise<void> {
    const end = Math.min(Date.now() + ms, until);
    while (!this.stopped && Date.now() < end) await sleep(Math.min(250, end - Date.now()));
  }

  private mayKillPostgres(): boolean {
    const now = Date.now();
    this.postgresKills = this.postgresKills.filter((t) => now - t < POSTGRES_KILL_WINDOW_MS);
    return this.postgresKills.length < POSTGRES_KILLS_PER_WINDOW;
  }

  async inject(fault: FaultKind): Promise<void> {
    const { herald, history, prng } = this.o;
    const startAt = history.now();
    let note: string | undefined;
    const lasting = (): number => prng.int(this.o.faultMs[0], this.o.faultMs[1]);
    this.o.log(`nemesis: ${fault}`);
    switch (fault) {
      case 'herald-kill': {
        note = `pid ${herald.pid}`;
        await herald.kill9();
        await sleep(prng.int(200, 2_000));
        herald.spawn();
        // A new Herald has a new restart budget for its PostgreSQL.
        this.postgresKills = [];
        break;
      }
      case 'postgres-kill': {
        const pid = herald.postmasterPid();
        note = `postmaster ${pid}`;
        if (pid !== undefined) signal([pid], 'SIGKILL');
        this.postgresKills.push(Date.now());
        break;
      }
      case 'postgres-pause': {
        const pids = herald.postgresPids();
        const ms = lasting();
        note = `${pids.length} processes for ${ms} ms`;
        signal(pids, 'SIGSTOP');
        await sleep(ms);
        signal(pids, 'SIGCONT');
        break;
      }
      case 'kafka-freeze': {
        const ms = lasting();
        note = `${ms} ms`;
        this.o.kafka?.pause();
        await sleep(ms);
        this.o.kafka?.resume();
        break;
      }
      case 'slow-client': {
        const client = prng.pick(this.o.world.clients);
        const ms = lasting();
        note = `${client.name} reads nothing for ${ms} ms`;
        client.pauseReading();
        await sleep(ms);
        client.resumeReading();
        break;
      }
      case 'reconnect-burst': {
        note = `${this.o.world.clients.length} clients, 3 reconnects each`;
        for (let i = 0; i < 3; i++) {
          for (const client of this.o.world.clients) client.reconnect(0);
          await sleep(prng.int(20, 300));
        }
        break;
      }
    }
    const endAt = history.now();
    const recovered = await this.recovery(fault === 'kafka-freeze');
    const recoveredAt = recovered ? history.now() : undefined;
    history.add({
      kind: 'fault',
      fault,
      startAt,
      endAt,
      ...(recoveredAt !== undefined ? { recoveredAt, recoveryMs: Math.round(recoveredAt - endAt) } : {}),
      ...(note !== undefined ? { note } : {}),
    });
    this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    this.o.log(
      `nemesis: ${fault} (${note ?? ''}) ${recoveredAt !== undefined ? `recovered in ${Math.round(recoveredAt - endAt)} ms` : 'NOT RECOVERED'}`,
    );
  }

  /** Waits until Herald is ready and a send succeeds (and, if asked, /health is `ok`). */
  private async recovery(healthOk: boolean): Promise<boolean> {
    const deadline = Date.now() + this.o.recoveryTimeoutMs;
    let sent = false;
    while (Date.now() < deadline) {
      if (this.o.herald.crashed) {
        // Herald exited on its own (recorded as an anomaly): as its supervisor, start it again.
        this.o.log('nemesis: Herald exited on its own; restarting it');
        this.o.herald.spawn();
      }
      if (await this.o.herald.ready()) {
        sent ||= await probeSend(this.o.endpoint, this.o.world, ++this.probes);
        if (sent && (!healthOk || (await this.healthOk()))) return true;
      }
      await sleep(100);
    }
    return false;
  }

  private async healthOk(): Promise<boolean> {
    try {
      const response = await fetch(`${this.o.herald.url}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = (await response.json()) as { status?: string };
      return body.status === 'ok';
    } catch {
      return false;
    }
  }
}
