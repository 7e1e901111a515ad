import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PhaseName } from './model.ts';

/** `approve`: run a phase; `failure`: a phase failed (retry / resume / abort); `resume`: bring the cluster back. */
export type PromptKind = 'approve' | 'failure';
export type Decision = 'approve' | 'reject' | 'retry' | 'resume' | 'abort';

export interface Prompt {
  id: string;
  operationId: string;
  phase: PhaseName;
  kind: PromptKind;
  status: 'pending' | 'decided' | 'superseded';
  channel?: string;
  ts?: string;
  createdAt: Date;
  expiresAt: Date;
  decidedBy?: string;
  decision?: Decision;
  decidedAt?: Date;
}

export type ClaimResult =
  | { ok: true; prompt: Prompt }
  | { ok: false; reason: 'unknown' | 'decided' | 'expired' | 'superseded'; prompt?: Prompt };

/**
 * Approval prompts. A button carries its prompt's id; the first click that claims a pending, unexpired prompt
 * wins, atomically, so two clicks at once start one job and an old button starts nothing.
 */
export class PromptStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async create(input: {
    operationId: string;
    phase: PhaseName;
    kind: PromptKind;
    ttlMinutes: number;
  }): Promise<Prompt> {
    // Only one prompt per operation is live at a time: a new one makes the older ones stale. The
    // operation's row lock serialises two creates, so two pending prompts can never coexist.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM operations WHERE id = $1 FOR UPDATE', [input.operationId]);
      await client.query(
        `UPDATE prompts SET status = 'superseded' WHERE operation_id = $1 AND status = 'pending'`,
        [input.operationId],
      );
      const { rows } = await client.query(
        `INSERT INTO prompts (id, operation_id, phase, kind, status, expires_at)
         VALUES ($1, $2, $3, $4, 'pending', now() + make_interval(mins => $5)) RETURNING *`,
        [randomUUID(), input.operationId, input.phase, input.kind, input.ttlMinutes],
      );
      await client.query('COMMIT');
      return toPrompt(rows[0]);
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async attachMessage(id: string, channel: string, ts: string): Promise<void> {
    await this.pool.query('UPDATE prompts SET channel = $2, ts = $3 WHERE id = $1', [id, channel, ts]);
  }

  async get(id: string): Promise<Prompt | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM prompts WHERE id = $1', [id]);
    return rows[0] ? toPrompt(rows[0]) : undefined;
  }

  async pendingFor(operationId: string): Promise<Prompt | undefined> {
    const { rows } = await this.pool.query(
      `SELECT * FROM prompts WHERE operation_id = $1 AND status = 'pending' ORDER BY created_at DESC LIMIT 1`,
      [operationId],
    );
    return rows[0] ? toPrompt(rows[0]) : undefined;
  }

  async claim(id: string, decision: Decision, userId: string): Promise<ClaimResult> {
    const { rows } = await this.pool.query(
      `UPDATE prompts SET status = 'decided', decision = $2, decided_by = $3, decided_at = now()
       WHERE id = $1 AND status = 'pending' AND expires_at > now() RETURNING *`,
      [id, decision, userId],
    );
    if (rows[0]) return { ok: true, prompt: toPrompt(rows[0]) };
    const prompt = await this.get(id);
    if (!prompt) return { ok: false, reason: 'unknown' };
    if (prompt.status === 'decided') return { ok: false, reason: 'decided', prompt };
    if (prompt.status === 'superseded') return { ok: false, reason: 'superseded', prompt };
    return { ok: false, reason: 'expired', prompt };
  }

  /** Re-opens a claimed prompt whose action could not be started, so that the next click can try again. */
  async release(id: string): Promise<void> {
    await this.pool.query(
      `UPDATE prompts SET status = 'pending', decision = NULL, decided_by = NULL, decided_at = NULL
       WHERE id = $1 AND status = 'decided'`,
      [id],
    );
  }

  async supersede(operationId: string): Promise<void> {
    await this.pool.query(
      `UPDATE prompts SET status = 'superseded' WHERE operation_id = $1 AND status = 'pending'`,
      [operationId],
    );
  }
}

interface PromptRow {
  id: string;
  operation_id: string;
  phase: PhaseName;
  kind: PromptKind;
  status: Prompt['status'];
  channel: string | null;
  ts: string | null;
  created_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decision: Decision | null;
  decided_at: Date | null;
}

function toPrompt(row: PromptRow): Prompt {
  return {
    id: row.id,
    operationId: row.operation_id,
    phase: row.phase,
    kind: row.kind,
    status: row.status,
    channel: row.channel ?? undefined,
    ts: row.ts ?? undefined,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedBy: row.decided_by ?? undefined,
    decision: row.decision ?? undefined,
    decidedAt: row.decided_at ?? undefined,
  };
}
