/**
 * deploy/grafana/herald.json is built on the metrics the apps export: every query (panels
 * and template variables) names at least one metric, and only metrics of the catalogue
 * (herald-metrics.ts; the several-process test checks the catalogue against each app's real
 * /metrics); and every metric of the catalogue is on the dashboard.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportedNames, METRICS } from './herald-metrics.js';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/herald.json', import.meta.url));

interface Panel {
  readonly title: string;
  readonly type: string;
  readonly targets?: readonly { readonly expr: string }[];
  readonly panels?: readonly Panel[];
}

/** PromQL words that are not metric names where they stand (operators and modifiers). */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are not functions (followed
 * by `(`), keywords, label names (in `{…}`, `by (…)`, `without (…)`), strings or ranges.
 */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    // Numbers and durations (0.99, 5m).
    .replace(/\b\d+(\.\d+)?[a-z]*\b/gi, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1');
  const names: string[] = [];
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(match.index + match[0].length).trimStart();
    // A function or an aggregation (`sum by (…) (…)`), or an operator's keyword.
    if (after.startsWith('(') || /^(by|without)\b/.test(after) || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

function queries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating?: { list: { name: string; type: string; query?: unknown }[] };
  };
  const found: { where: string; expr: string }[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) found.push({ where: panel.title, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query' || typeof variable.query !== 'string') continue;
    // label_values(metric, label): the metric is its first argument.
    const metric = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(variable.query)?.[1];
    found.push({ where: `variable ${variable.name}`, expr: metric ?? variable.query });
  }
  return found;
}

describe('the Grafana dashboard (deploy/grafana/herald.json)', () => {
  it('reads metric names out of PromQL, not functions, keywords or labels', () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, route) (rate(herald_http_request_duration_seconds_bucket{status=~"5.."}[5m])))',
      ),
    ).toEqual(['herald_http_request_duration_seconds_bucket']);
    expect(metricNamesOf('sum(a_total) / ignoring (x) group_left b_total offset 5m')).toEqual(['a_total', 'b_total']);
  });

  it('every query names at least one metric, and only metrics the apps export', () => {
    const exported = exportedNames();
    const all = queries();
    expect(all.length).toBeGreaterThan(15);
    for (const { where, expr } of all) {
      const names = metricNamesOf(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exported.has(n)),
        `${where}: ${expr}`,
      ).toEqual([]);
    }
  });

  it('shows every metric of the catalogue', () => {
    const used = new Set(queries().flatMap(({ expr }) => metricNamesOf(expr)));
    const shown = (name: string): boolean =>
      [name, `${name}_bucket`, `${name}_count`, `${name}_sum`].some((n) => used.has(n));
    expect(Object.keys(METRICS).filter((name) => !shown(name))).toEqual([]);
  });
});
