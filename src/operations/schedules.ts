import { randomBytes } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type pg from 'pg';
import { PachopsError } from '../errors.ts';

/** A standing request: back up `cluster` at every occurrence of `cron` in `tz`, with a thread in `channel`. */
export interface Schedule {
  id: string;
  cluster: string;
  cron: string;
  tz: string;
  channel: string;
  note?: string;
  createdBy: string;
  createdAt: Date;
  lastFiredFor?: Date;
}

/** Checks a cron expression and a time zone the way the queue will read them; refuses with the reason. */
export function checkCron(cron: string, tz: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new PachopsError(
      'BAD_REQUEST',
      `unknown time zone ${tz} (use an IANA name such as Europe/Berlin)`,
      { permanent: true },
    );
  }
  // Five fields (minute hour day month weekday), or six with seconds first.
  if (![5, 6].includes(cron.trim().split(/\s+/).length)) {
    throw new PachopsError(
      'BAD_REQUEST',
      `"${cron}" is not a cron expression: minute hour day month weekday, e.g. "0 2 * * *"`,
      { permanent: true },
    );
  }
  try {
    CronExpressionParser.parse(cron, { tz });
  } catch (error) {
    throw new PachopsError('BAD_REQUEST', `"${cron}" is not a cron expression: ${(error as Error).message}`, {
      permanent: true,
    });
  }
}

/** The occurrences of a schedule after `from`, up to `until` (at most `limit`). */
export function occurrences(
  schedule: Pick<Schedule, 'cron' | 'tz'>,
  from: Date,
  until: Date,
  limit = 100,
): Date[] {
  const parsed = CronExpressionParser.parse(schedule.cron, {
    tz: schedule.tz,
    currentDate: from,
    endDate: until,
  });
  const found: Date[] = [];
  while (found.length < limit && parsed.hasNext()) found.push(parsed.next().toDate());
  return found;
}

export function nextOccurrence(schedule: Pick<Schedule, 'cron' | 'tz'>, from = new Date()): Date {
  return CronExpressionParser.parse(schedule.cron, { tz: schedule.tz, currentDate: from }).next().toDate();
}

interface ScheduleRow {
  id: string;
  cluster: string;
  cron: string;
  tz: string;
  channel: string;
  note: string | null;
  created_by: string;
  created_at: Date;
  last_fired_for: Date | null;
}

const toSchedule = (row: ScheduleRow): Schedule => ({
  id: row.id,
  cluster: row.cluster,
  cron: row.cron,
  tz: row.tz,
  channel: row.channel,
  note: row.note ?? undefined,
  createdBy: row.created_by,
  createdAt: row.created_at,
  lastFiredFor: row.last_fired_for ?? undefined,
});

/** Schedules live in the state database: they survive Redis losing its scheduler entries. */
export class ScheduleStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async create(input: Omit<Schedule, 'id' | 'createdAt' | 'lastFiredFor'>): Promise<Schedule> {
    checkCron(input.cron, input.tz);
    const { rows } = await this.pool.query<ScheduleRow>(
      `INSERT INTO schedules (id, cluster, cron, tz, channel, note, created_by, last_fired_for)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now()) RETURNING *`,
      [
        `sch-${randomBytes(3).toString('hex')}`,
        input.cluster,
        input.cron,
        input.tz,
        input.channel,
        input.note ?? null,
        input.createdBy,
      ],
    );
    return toSchedule(rows[0]);
  }

  async list(): Promise<Schedule[]> {
    const { rows } = await this.pool.query<ScheduleRow>(
      'SELECT * FROM schedules WHERE deleted_at IS NULL ORDER BY created_at',
    );
    return rows.map(toSchedule);
  }

  async get(id: string): Promise<Schedule | undefined> {
    const { rows } = await this.pool.query<ScheduleRow>(
      'SELECT * FROM schedules WHERE id = $1 AND deleted_at IS NULL',
      [id],
    );
    return rows[0] ? toSchedule(rows[0]) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE schedules SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL',
      [id],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Records the occurrence handled; returns false when another worker already handled it. */
  async markFired(id: string, occurrence: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE schedules SET last_fired_for = $2 WHERE id = $1 AND (last_fired_for IS NULL OR last_fired_for < $2)',
      [id, occurrence],
    );
    return (rowCount ?? 0) > 0;
  }
}
