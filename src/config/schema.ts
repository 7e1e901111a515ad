import { z } from 'zod';
import { NoticeTemplateSchema } from '../announce/notice.ts';
import { MirrorSchema } from './mirror-schema.ts';

/** Slack user (U…/W…) or user-group (S…) id. */
const SlackPrincipal = z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'a Slack user (U…) or user-group (S…) id');
const SlackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'a Slack channel id (C…)');
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** Per-phase approval policy: `required` waits for a click, `auto` runs as soon as the previous phase ends. */
export const ApprovalPolicy = z.enum(['required', 'auto']);

export const SlackSchema = z
  .object({
    /** Channels where `/pach` is accepted; empty = anywhere. */
    opsChannels: z.array(SlackChannel).default([]),
    /** Users' channels for outage notices and all-clears. */
    announceChannels: z.array(SlackChannel).default([]),
    /** Who may click Approve: user ids or user-group ids. */
    approvers: z.array(SlackPrincipal).min(1, 'name at least one approver'),
    /** Who may request operations; empty = anyone in an ops channel. */
    requesters: z.array(SlackPrincipal).default([]),
    allowSelfApproval: z.boolean().default(false),
    /** An approval prompt older than this is refused and re-posted. */
    approvalTimeoutMinutes: z.number().int().positive().default(240),
    /** A running phase's progress message is updated at most this often. */
    progressIntervalSeconds: z.number().min(0.1).max(300).default(5),
  })
  .strict();

const S3Location = z
  .object({
    bucket: z.string().min(3),
    endpoint: z.url().optional(),
    region: z.string().default('us-east-1'),
    forcePathStyle: z.boolean().default(false),
    accessKeyIdEnv: EnvName.optional(),
    secretAccessKeyEnv: EnvName.optional(),
    /**
     * A request whose connection stays silent this long fails and is retried (as rclone's --timeout); 0 =
     * never. Raise it for a slow link: a streamed copy's download waits while a part uploads.
     */
    idleTimeoutSeconds: z.number().min(0).max(86_400).default(300),
  })
  .strict();

/**
 * The backup bucket: an S3 location plus how what pachops writes there is encrypted at rest. `sse` is
 * sent on every write (PutObject, multipart uploads, CopyObject, UploadPartCopy's CreateMultipartUpload);
 * `encryption` adds client-side encryption of the database dumps before they leave the worker.
 */
const BackupLocation = S3Location.extend({
  /** Server-side encryption of every object pachops writes to the backup bucket; absent = the bucket's default. */
  sse: z.enum(['AES256', 'aws:kms']).optional(),
  /** The KMS key (id, ARN or alias) for `sse: aws:kms`; absent = the account's default aws/s3 key. */
  kmsKeyId: z.string().min(1).optional(),
  /** Client-side encryption of the dumps: the key (32 random bytes, base64) is read from `keyEnv`. */
  encryption: z.object({ keyEnv: EnvName }).strict().optional(),
})
  .strict()
  .refine((location) => !location.kmsKeyId || location.sse === 'aws:kms', {
    message: 'kmsKeyId needs sse: aws:kms',
    path: ['kmsKeyId'],
  });

const PostgresSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    user: z.string().min(1),
    passwordEnv: EnvName.optional(),
    sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).default('require'),
    sslrootcert: z.string().optional(),
    databases: z.array(z.string().min(1)).min(1).default(['pachyderm', 'dex']),
    /**
     * pg_dump's `--compress`: a gzip level 0–9 (absent = 1), or with pg_dump 16 or newer a method such as
     * `zstd`, `lz4:3` or `gzip:6`. The dump runs while the cluster is paused: level 1 takes about a third
     * of pg_dump's default level 6's time for a few percent more bytes.
     */
    dumpCompression: z
      .union([
        z.number().int().min(0).max(9),
        z
          .string()
          .regex(
            /^(\d|none|(gzip|lz4|zstd)(:(level=)?\d{1,2})?)$/,
            'a gzip level 0–9 or METHOD[:LEVEL] (gzip, lz4, zstd, none)',
          ),
      ])
      .optional(),
    /** The database holding `storage.chunk_objects`; default: the first of `databases`. */
    metadataDatabase: z.string().optional(),
    /** Where pachd reaches this server, when not at host/port (a Service name inside the cluster). */
    deployHost: z.string().min(1).optional(),
    deployPort: z.number().int().min(1).max(65535).optional(),
  })
  .strict();

/** Every phase of a backup, a restore or a prune (approvals may be configured per phase). */
export const PhaseName = z.enum([
  'plan',
  'precopy',
  'announce',
  'pause',
  'dump',
  'mirror',
  'resume',
  'verify',
  'drill',
  'safety-backup',
  'restore-databases',
  'restore-bucket',
  'deploy',
  'health',
  'prune',
]);
export type PhaseName = z.infer<typeof PhaseName>;
/** `plan` only reads and never waits, so it takes no approval setting. */
const ApprovablePhase = PhaseName.exclude(['plan']);

/** A cluster's own Slack settings; each key absent takes the global `slack.*` one. */
const ClusterSlackSchema = z
  .object({
    /** Where `/pach … <this cluster>` is accepted; [] = anywhere. */
    opsChannels: z.array(SlackChannel).optional(),
    /** The users' channels told of this cluster's outages; [] = none. */
    announceChannels: z.array(SlackChannel).optional(),
    /** Who may approve this cluster's phases (and resume, schedule, abort). */
    approvers: z.array(SlackPrincipal).min(1, 'name at least one approver').optional(),
    /** Who may request this cluster's operations; [] = anyone in its ops channels. */
    requesters: z.array(SlackPrincipal).optional(),
    allowSelfApproval: z.boolean().optional(),
  })
  .strict();
/**
 * A backup is kept when any rule keeps it. Daily/weekly/monthly keep the newest backup of each of the
 * last N UTC days (ISO weeks, months) that have one.
 */
export const RetentionSchema = z
  .object({
    /** The newest N complete backups; at least 1, so a prune never leaves no backup. */
    keepLast: z
      .number()
      .int()
      .min(1, 'keepLast must be at least 1: the newest backup is always kept')
      .default(1),
    keepDaily: z.number().int().min(0).default(0),
    keepWeekly: z.number().int().min(0).default(0),
    keepMonthly: z.number().int().min(0).default(0),
  })
  .strict();
export type Retention = z.infer<typeof RetentionSchema>;

const ClusterSchema = z
  .object({
    /** Channels and people for this cluster, over the global `slack` ones. */
    slack: ClusterSlackSchema.default({}),
    kubernetes: z.object({ context: z.string().optional(), namespace: z.string().min(1) }).strict(),
    pause: z
      .object({
        mode: z.enum(['scale', 'enterprise']).default('scale'),
        /** How long pause waits for pods to terminate (and resume for pachd to be ready). */
        timeoutSeconds: z.number().int().positive().default(600),
      })
      .strict()
      .default({ mode: 'scale', timeoutSeconds: 600 }),
    postgres: PostgresSchema,
    objectStore: S3Location,
    backup: BackupLocation,
    helm: z
      .object({
        release: z.string().min(1),
        namespace: z.string().optional(),
        /** The chart a restore deploys (at the version the backup recorded): a repo/name or an OCI reference. */
        chart: z.string().min(1).default('pachyderm/pachyderm'),
      })
      .strict(),
    approvals: z.partialRecord(ApprovablePhase, ApprovalPolicy).default({}),
    /** The safety net for a paused cluster (checked every `watchdogIntervalSeconds`). */
    watchdog: z
      .object({
        /** Remind the thread and the ops channel when the pause outlasts the estimate by this much (or this long without one). */
        reminderMarginMinutes: z.number().positive().default(15),
        /** Mention the approvers when the pause lasts this long. */
        escalateAfterMinutes: z.number().positive().default(60),
        /** Resume the cluster by itself after this long paused; absent = never on its own. */
        autoResumeAfterMinutes: z.number().positive().optional(),
      })
      .strict()
      .default({ reminderMarginMinutes: 15, escalateAfterMinutes: 60 }),
    /** The users' outage notice: a template with {cluster} {when} {estimate} {expectedEnd} {requester} {thread} {unavailable} {note}. */
    announce: z
      .object({ template: NoticeTemplateSchema.optional(), unavailable: z.string().min(1).optional() })
      .strict()
      .default({}),
    /** A restore rehearsal into scratch databases as the last phase of every backup. */
    drill: z
      .object({ afterBackup: z.boolean().default(false) })
      .strict()
      .default({ afterBackup: false }),
    /** Which complete backups `prune` keeps (restic-like `--keep-*`); absent = prune refuses. */
    retention: RetentionSchema.optional(),
    mirror: MirrorSchema.default(MirrorSchema.parse({})),
  })
  .strict();

export const ConfigSchema = z
  .object({
    slack: SlackSchema,
    redis: z
      .object({
        url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
        /** Key prefix of the queues: two pachops installations may share one Redis with different ones. */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -')
          .default('pachops'),
      })
      .strict(),
    stateDatabase: z
      .object({
        url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
        /** The password, from this environment variable rather than the URL. */
        passwordEnv: EnvName.optional(),
      })
      .strict(),
    clusters: z.record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a cluster name: a-z, 0-9, -'),
      ClusterSchema,
    ),
    jobs: z
      .object({
        /** How often the watchdog looks at paused clusters and lost jobs. */
        watchdogIntervalSeconds: z.number().min(1).max(3600).default(60),
        /** A phase job whose worker died is taken up again by another worker after this long. */
        lockSeconds: z.number().min(1).max(3600).default(30),
        /** Attempts per phase job: transient failures (a 503, a dropped connection) are retried. */
        attempts: z.number().int().min(1).max(20).default(3),
        /** First retry delay; doubles with each attempt. */
        backoffSeconds: z.number().min(0).max(3600).default(5),
      })
      .strict()
      .default({ watchdogIntervalSeconds: 60, lockSeconds: 30, attempts: 3, backoffSeconds: 5 }),
    schedules: z
      .object({
        /** Advance notices in the users' channels before a scheduled backup (minutes ahead). */
        noticeLeadMinutes: z.array(z.number().positive()).default([1440, 15]),
        /** A scheduled backup that fires later than this (pachops was down) is reported and not run. */
        missedGraceMinutes: z.number().positive().default(10),
      })
      .strict()
      .default({ noticeLeadMinutes: [1440, 15], missedGraceMinutes: 10 }),
    tools: z
      .object({
        pachctl: z.string().default('pachctl'),
        helm: z.string().default('helm'),
        /** Folder holding pg_dump and pg_restore; empty = PATH. */
        pgBin: z.string().default(''),
      })
      .strict()
      .default({ pachctl: 'pachctl', helm: 'helm', pgBin: '' }),
  })
  .strict()
  .refine((c) => Object.keys(c.clusters).length > 0, {
    message: 'name at least one cluster',
    path: ['clusters'],
  });

export type FileConfig = z.infer<typeof ConfigSchema>;
export type FileCluster = z.infer<typeof ClusterSchema>;
export type S3LocationConfig = z.infer<typeof S3Location>;
export type BackupLocationConfig = z.infer<typeof BackupLocation>;
