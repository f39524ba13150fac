/**
 * One stream at a time: reading its events within its retention rules, its info, its
 * retention settings and its soft delete. Appends are the group commit's (append-queue.ts).
 */
import type pg from 'pg';
import { withClient } from '@herald/database';
import { isWrongRevision, readWindow, wrongRevision, type StreamState } from '../append-rules.js';
import { StreamNotFound } from '../errors.js';
import type { ExpectedRevision, ReadStreamOptions, RecordedEvent, StreamInfo, StreamMetadata } from '../types.js';
import {
  assertExpectedRevision,
  assertReadStreamOptions,
  assertStreamId,
  assertStreamMetadata,
  readLimit,
} from '../validation.js';
import { guard } from './guard.js';
import { readStreamQuery, streamRevision, streamStateQuery } from './log-queries.js';
import { toRecordedEvent, type EventRow } from './rows.js';
import { lockStreams } from './stream-locks.js';

export class Streams {
  constructor(private readonly pool: pg.Pool) {}

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    assertReadStreamOptions(options);
    const limit = readLimit(options.limit);
    return guard(async () => {
      const state = await this.streamState(streamId);
      if (state.deleted || state.revision < 0) throw new StreamNotFound(streamId);
      const { backwards, from, oldestKept } = readWindow(state, options);
      const result = await this.pool.query<EventRow>(
        readStreamQuery(streamId, backwards, from, oldestKept, state.metadata.maxAgeSeconds, limit),
      );
      return result.rows.map(toRecordedEvent);
    });
  }

  async getStreamInfo(streamId: string): Promise<StreamInfo> {
    assertStreamId(streamId);
    const { revision, deleted, metadata } = await this.streamState(streamId);
    return { revision, deleted, metadata };
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    assertStreamId(streamId);
    assertStreamMetadata(metadata);
    await guard(() =>
      this.pool.query(
        `INSERT INTO herald_streams (stream_id, max_age_seconds, max_count, truncate_before) VALUES ($1, $2, $3, $4)
         ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = $2, max_count = $3, truncate_before = $4`,
        [streamId, metadata.maxAgeSeconds ?? null, metadata.maxCount ?? null, metadata.truncateBefore ?? null],
      ),
    );
  }

  async deleteStream(streamId: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    assertStreamId(streamId);
    assertExpectedRevision(expectedRevision);
    await guard(() =>
      withClient(this.pool, async (client) => {
        try {
          const results = (await client.query(
            `BEGIN; ${lockStreams(client, [streamId])};
             SELECT ${streamRevision(client.escapeLiteral(streamId))}::text AS revision,
                    coalesce((SELECT deleted FROM herald_streams WHERE stream_id = ${client.escapeLiteral(streamId)}), false) AS deleted;`,
          )) as unknown as pg.QueryResult[];
          const row = (results[2] as pg.QueryResult<{ revision: string; deleted: boolean }>).rows[0]!;
          const revision = row.deleted ? -1 : Number(row.revision);
          if (isWrongRevision(expectedRevision, revision)) throw wrongRevision(streamId, expectedRevision, revision);
          if (revision < 0) throw new StreamNotFound(streamId);
          // The deletion point is kept apart from the retention settings, which a later
          // setStreamMetadata replaces: deleted history stays hidden.
          await client.query(
            `INSERT INTO herald_streams (stream_id, deleted, deleted_before) VALUES ($1, true, $2)
             ON CONFLICT (stream_id) DO UPDATE SET deleted = true, deleted_before = $2`,
            [streamId, revision + 1],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    );
  }

  /** The stream's info plus where a soft delete cut its history. */
  private async streamState(streamId: string): Promise<StreamState> {
    return guard(async () => {
      const { rows } = await this.pool.query<{
        revision: string;
        deleted: boolean | null;
        max_age_seconds: string | null;
        max_count: string | null;
        truncate_before: string | null;
        deleted_before: string | null;
      }>(streamStateQuery(streamId));
      const row = rows[0]!;
      const metadata: { -readonly [K in keyof StreamMetadata]: StreamMetadata[K] } = {};
      if (row.max_age_seconds !== null) metadata.maxAgeSeconds = Number(row.max_age_seconds);
      if (row.max_count !== null) metadata.maxCount = Number(row.max_count);
      if (row.truncate_before !== null) metadata.truncateBefore = Number(row.truncate_before);
      return {
        revision: Number(row.revision),
        deleted: row.deleted === true,
        metadata,
        deletedBefore: row.deleted_before === null ? 0 : Number(row.deleted_before),
      };
    });
  }
}
