/**
 * `npm run bench:search`: search.v1 on PostgreSQL at scale (docs/benchmarks.md).
 *
 * Setup, on a fresh embedded PostgreSQL (or DATABASE_URL): the migrations of the
 * projection runtime, membership.v1 and search.v1; BENCH_CONVERSATIONS groups (10,000),
 * with one user in 50 of them and another in 2,000 (membership.v1 through its projection).
 * Then BENCH_MESSAGES sends (1,000,000) spread over the conversations, a realistic mix:
 * lengths from one word to about sixty (most short), 80% Latin-script text (English
 * mostly, some French, German and Spanish with their accents), 20% CJK (Chinese, Japanese,
 * Korean) with now and then a Latin word inside.
 *
 * Measured:
 * - indexing: every send through search.v1's projection from position 0, in batches of
 *   its runner's size, one transaction each, events read through the catalogue as the
 *   runner hands them: `indexPerSec`. `BENCH_BUILD=rebuild`: as `herald projections
 *   rebuild` builds instead (ADR 034): into an UNLOGGED copy without the GIN and other
 *   non-unique indexes (cloneTables), which are made once it has caught up, the table
 *   then made LOGGED and analysed (finishTables); that last step is timed too;
 * - queries, one at a time, as GET /search runs them (the caller's spans from
 *   membership.v1, then the search, a page of 20 with snippets), for the user in 50
 *   conversations and the one in 2,000: one-word, two-word, phrase and CJK-substring
 *   queries, BENCH_QUERIES (200) of each kind and user after a warm-up: p50 and p99 of
 *   every non-CJK query (`queryP50Ms`, `queryP99Ms`), p99 of the CJK ones (`cjkQueryP99Ms`);
 * - the size of search.v1's table with its indexes (`indexSizeMb`) against the raw UTF-8
 *   size of the messages' text.
 * The last line is one JSON object.
 */
import { configFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { encodeCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import {
  cloneTables,
  createReadModelDataSource,
  finishTables,
  PROJECTION_RUNTIME_MIGRATIONS,
} from '@herald/projection-runtime';
import {
  MEMBERSHIP_MIGRATIONS,
  membershipProjection,
  parseQuery,
  PostgresSearchIndex,
  readableConversations,
  SEARCH_MIGRATIONS,
  usersByConversations,
  type Sql,
  searchProjection,
  searchTableSize,
  SEARCH_CANDIDATES,
  tablePrefix,
} from '@herald/projections';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { benchDatabase, percentile, round, seededRandom } from './report.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const CONVERSATIONS = env('BENCH_CONVERSATIONS', 10_000);
const MESSAGES = env('BENCH_MESSAGES', 1_000_000);
const QUERIES = env('BENCH_QUERIES', 200);
const BATCH = searchProjection().batchSize ?? 500;
const EPOCH = Date.parse('2026-01-01T00:00:00Z');

const next = seededRandom(42);
/** Zipf-like: the first items far more often than the last. */
const zipf = <T>(items: readonly T[]): T => items[Math.floor(next() ** 2.2 * items.length)]!;
const uniform = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const ENGLISH = `the a to and of is in it you that for on we this with be have are not at but can will just so
  what about get if do all from there they one my your up out like now know time when was how me meeting tomorrow
  today please thanks message delivery reliable release deploy server database query index search project team
  review plan lunch coffee weekend schedule document report customer invoice payment order shipping update issue
  bug fix feature design sprint deadline budget contract proposal presentation slides calendar holiday travel
  flight hotel airport ticket password account login network latency throughput benchmark kubernetes cluster
  backup restore migration schema version branch merge commit pipeline build failure success yesterday morning
  afternoon evening birthday party dinner family weather rain sunny football concert movie music photo video`
  .split(/\s+/)
  .filter(Boolean);
const EUROPEAN = `café crème déjà résumé naïve façade élève garçon très être où français réunion demain
  Straße Grüße Mädchen Übung Käse schön müssen größer Bahnhof Frühstück Wörterbuch
  mañana año niño señor acción canción corazón está también después reunión`
  .split(/\s+/)
  .filter(Boolean);
const CHINESE = `消息 可靠性 保障 我们 今天 明天 会议 项目 数据库 服务器 发布 部署 测试 用户 客户 订单 支付 问题
  修复 功能 设计 计划 报告 文档 团队 时间 地址 电话 邮件 天气 晚饭 朋友 周末 旅行 飞机 酒店 工作 学习 中国`
  .split(/\s+/)
  .filter(Boolean);
const JAPANESE = `メッセージ 信頼性 確認 してください 会議 明日 今日 プロジェクト データベース サーバー リリース
  テスト ユーザー お客様 注文 支払い 問題 修正 機能 設計 計画 報告 ありがとう よろしく お願いします 東京`
  .split(/\s+/)
  .filter(Boolean);
const KOREAN = `메시지 신뢰성 보장 회의 내일 오늘 프로젝트 데이터베이스 서버 배포 테스트 사용자 고객 주문
  결제 문제 수정 기능 설계 계획 보고서 감사합니다 안녕하세요 서울 주말 여행`
  .split(/\s+/)
  .filter(Boolean);

/** A message's length in words: mostly short, a few long. */
const length = (): number => 1 + Math.floor(next() ** 2.5 * 60);

function text(): string {
  const r = next();
  if (r < 0.2) {
    const lang = uniform([CHINESE, JAPANESE, KOREAN]);
    const words = Array.from({ length: length() }, () => (next() < 0.05 ? zipf(ENGLISH) : zipf(lang)));
    // Chinese and Japanese run their words together; Korean spaces them.
    return words.join(lang === KOREAN ? ' ' : '') + (next() < 0.5 ? '。' : '');
  }
  const words = Array.from({ length: length() }, () => (r > 0.9 ? zipf(EUROPEAN) : zipf(ENGLISH)));
  return words.join(' ') + (next() < 0.3 ? '.' : '');
}

let position = 0n;
function recorded(streamId: string, revision: number, type: string, data: unknown): RecordedEvent {
  position++;
  const at = new Date(EPOCH + Number(position) * 100);
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: { actorId: randomUUID(), correlationId: 'bench', causationId: 'bench', occurredAt: at.toISOString() },
    streamId,
    streamRevision: revision,
    globalPosition: encodeCheckpoint(0n, position),
    recordedAt: at,
  };
}

/** The users in 50 and in 2,000 conversations of a database filled before. */
async function benchUsers(db: Sql): Promise<[string, string]> {
  const users = await usersByConversations(db, [50, 2_000]);
  return [users[0]!, users[1]!];
}

async function main(): Promise<void> {
  const config = configFromProcess();
  const database = await benchDatabase(config.databaseUrl);
  await migrateDatabase(database.url, [
    ...PROJECTION_RUNTIME_MIGRATIONS,
    ...MEMBERSHIP_MIGRATIONS,
    ...SEARCH_MIGRATIONS,
  ]);
  const db = await createReadModelDataSource({ url: database.url, poolSize: 2 }).initialize();
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${MESSAGES} messages in ${CONVERSATIONS} conversations`,
  );

  // BENCH_REUSE=1 with DATABASE_URL: the database a run with BENCH_QUERIES=0 left filled; queries only.
  const reuse = process.env.BENCH_REUSE === '1';
  // Conversations: the small user is in the first 50, the large one in the first 2,000.
  const [small, large, owner] = [randomUUID(), randomUUID(), randomUUID()];
  const conversations = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  const seqs = new Array<number>(CONVERSATIONS).fill(0);
  const membership = membershipProjection();
  for (let i = 0; reuse ? false : i < CONVERSATIONS; i += BATCH) {
    const events = conversations.slice(i, i + BATCH).map((id, k) => {
      const n = i + k;
      const memberIds = [...(n < 50 ? [small] : []), ...(n < 2_000 ? [large] : []), randomUUID()];
      return recorded(streamIdOf('conversation', id), 0, 'GroupCreated', {
        conversationId: id,
        ownerId: owner,
        name: `group ${n}`,
        memberIds,
      });
    });
    await db.transaction((m) => membership.apply(events, m));
  }

  // Indexing from position 0.
  const projection = searchProjection();
  let rawBytes = 0;
  let indexing = 0;
  const rebuild = process.env.BENCH_BUILD === 'rebuild' && !reuse;
  const BUILD_SCHEMA = 'herald_build_search_bench';
  const built = rebuild ? await cloneTables(db, 'public', BUILD_SCHEMA, tablePrefix(projection)) : undefined;
  for (let i = 0; reuse ? false : i < MESSAGES; i += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, MESSAGES - i) }, () => {
      const c = Math.floor(next() * CONVERSATIONS);
      const id = conversations[c]!;
      const body = text();
      rawBytes += Buffer.byteLength(body);
      return recorded(streamIdOf('conversation', id), ++seqs[c]!, 'MessageSent', {
        conversationId: id,
        messageId: randomUUID(),
        senderId: owner,
        text: body,
        mentions: { userIds: [], all: false },
        attachments: [],
      });
    });
    const started = performance.now();
    await db.transaction(async (m) => {
      if (rebuild) await m.query(`SELECT set_config('search_path', $1, true)`, [`${BUILD_SCHEMA}, public`]);
      await projection.apply(events, m);
    });
    indexing += performance.now() - started;
    // membership.v1 counts the messages too (a search chooses its plan by them); not measured.
    await db.transaction((m) => membership.apply(events, m));
    if ((i / BATCH) % 100 === 0)
      console.log(`indexed ${i + events.length}: ${round((i + events.length) / (indexing / 1000))}/s`);
  }
  if (built) {
    const started = performance.now();
    await finishTables(db, BUILD_SCHEMA, built.tables, built.deferredIndexes);
    const finishing = performance.now() - started;
    console.log(
      `caught up in ${round(indexing / 1000, 1)} s, indexes, LOGGED and ANALYZE in ${round(finishing / 1000, 1)} s`,
    );
    indexing += finishing;
    // The copy serves: what the rebuild's switch does, without its locks.
    await db.transaction(async (m) => {
      for (const table of built.tables) {
        await m.query(`DROP TABLE public.${table}`);
        await m.query(`ALTER TABLE ${BUILD_SCHEMA}.${table} SET SCHEMA public`);
      }
      await m.query(`DROP SCHEMA ${BUILD_SCHEMA}`);
    });
  }
  const indexPerSec = round(MESSAGES / (indexing / 1000));
  await db.query('VACUUM ANALYZE');
  const indexBytes = await searchTableSize(db);
  console.log(
    `indexed ${MESSAGES} in ${round(indexing / 1000, 1)} s: ${indexPerSec}/s; raw text ${round(rawBytes / 2 ** 20, 1)} MiB, search.v1 ${round(indexBytes / 2 ** 20, 1)} MiB (×${round(indexBytes / rawBytes, 1)})`,
  );

  // Queries (BENCH_QUERIES=0: none, the database is left filled for a look at the plans).
  if (QUERIES === 0) {
    await db.destroy();
    return;
  }
  // BENCH_CANDIDATES: how many matches a search ranks (SEARCH_CANDIDATES unless given).
  const candidates = env('BENCH_CANDIDATES', SEARCH_CANDIDATES);
  const index = new PostgresSearchIndex(db, 'english', false, candidates);
  const [smallUser, largeUser] = reuse ? await benchUsers(db) : [small, large];
  const common = ENGLISH.slice(25); // Past the stop-word-like head of the vocabulary.
  const kinds: Record<string, () => string> = {
    oneWord: () => uniform([...common, ...EUROPEAN]),
    twoWord: () => `${uniform(common)} ${uniform(common)}`,
    phrase: () => `"${uniform(common)} ${uniform(common)}"`,
    cjk: () => {
      const word = uniform([...CHINESE, ...JAPANESE, ...KOREAN]);
      const chars = [...word];
      const from = Math.floor(next() * Math.max(1, chars.length - 1));
      return chars.slice(from, from + Math.min(chars.length, 2 + Math.floor(next() * 2))).join('');
    },
  };
  if (process.env.BENCH_EXPLAIN) {
    const explained = new PostgresSearchIndex(db, 'english', true, candidates);
    const scopes = await readableConversations(db, largeUser);
    for (const make of Object.values(kinds)) {
      const q = make();
      console.log(`--- ${q}`);
      await explained.search({ groups: parseQuery(q), scopes, limit: 20 });
    }
  }
  const timings: Record<string, number[]> = {};
  for (const [user, label] of [
    [smallUser, 'user in 50'],
    [largeUser, 'user in 2,000'],
  ] as const) {
    for (const [kind, make] of Object.entries(kinds)) {
      const run = async (): Promise<number> => {
        const started = performance.now();
        const scopes = await readableConversations(db, user);
        await index.search({ groups: parseQuery(make()), scopes, limit: 20 });
        return performance.now() - started;
      };
      for (let i = 0; i < 20; i++) await run();
      const times: number[] = [];
      for (let i = 0; i < QUERIES; i++) times.push(await run());
      times.sort((a, b) => a - b);
      (timings[kind === 'cjk' ? 'cjk' : 'other'] ??= []).push(...times);
      console.log(
        `${label.padEnd(14)} ${kind.padEnd(8)} p50 ${round(percentile(times, 50), 1)} ms, p99 ${round(percentile(times, 99), 1)} ms, max ${round(times[times.length - 1]!, 1)} ms`,
      );
    }
  }
  const other = timings.other!.sort((a, b) => a - b);
  const cjk = timings.cjk!.sort((a, b) => a - b);
  const all = [...other, ...cjk].sort((a, b) => a - b);
  await db.destroy();
  await database.stop();
  console.log(
    JSON.stringify({
      candidates,
      build: reuse ? null : rebuild ? 'rebuild' : 'runner',
      indexPerSec,
      queryP50Ms: round(percentile(all, 50), 1),
      queryP99Ms: round(percentile(other, 99), 1),
      cjkQueryP99Ms: round(percentile(cjk, 99), 1),
      indexSizeMb: round(indexBytes / 2 ** 20, 1),
      rawTextMb: round(rawBytes / 2 ** 20, 1),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
