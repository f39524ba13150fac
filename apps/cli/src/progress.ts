/**
 * Progress of a long command on stderr (stdout stays the command's output, e.g. an NDJSON
 * export): a live bar with rate and ETA on a terminal, a plain line every few seconds
 * otherwise (a CI log, a pipe).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` so far out of `total` (when known). */
  update(done: number, total?: number): void;
  stop(): void;
}

const LINE_EVERY_MS = 5_000;

export function progress(label: string, unit = 'events', stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed}/s | ETA {eta_formatted}`,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let began = false;
    return {
      update(done, total) {
        const speed = Math.round(done / Math.max((Date.now() - started) / 1000, 0.001));
        if (!began) {
          bar.start(total ?? done, done, { speed });
          began = true;
        }
        if (total !== undefined) bar.setTotal(total);
        bar.update(done, { speed });
      },
      stop: () => began && bar.stop(),
    };
  }
  const started = Date.now();
  let last = 0;
  let latest = { done: 0, total: undefined as number | undefined };
  const line = (): void => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = latest.done / seconds;
    const eta =
      latest.total !== undefined && rate > 0 ? `, ETA ${Math.ceil((latest.total - latest.done) / rate)} s` : '';
    const of = latest.total !== undefined ? `/${latest.total}` : '';
    stream.write(`${label}: ${latest.done}${of} ${unit}, ${Math.round(rate)}/s${eta}\n`);
  };
  return {
    update(done, total) {
      latest = { done, total };
      if (Date.now() - last >= LINE_EVERY_MS) {
        last = Date.now();
        line();
      }
    },
    stop: line,
  };
}
