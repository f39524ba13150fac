/**
 * One run at a time of a loop that empties a queue. `kick()` starts the loop unless it is
 * running or there is nothing to do; when a run ends with work left, the next run starts at
 * once. (A run whose last check found the queue empty ends a turn later than that check:
 * work queued in between would otherwise wait for the next kick, which may never come.)
 * The loop handles its own failures; a rejection is a bug and surfaces as one.
 */
export class Drain {
  private running: Promise<void> | undefined;

  constructor(
    /** Empties the queue, or stops early (it is kicked again if work is left). */
    private readonly run: () => Promise<void>,
    /** Whether there is work to do now (false once the owner stops). */
    private readonly due: () => boolean,
  ) {}

  kick(): void {
    if (this.running !== undefined || !this.due()) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  /** Settles when no run is in progress. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }
}
