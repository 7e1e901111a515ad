import type { webApi } from '@slack/bolt';
import type { Queue } from 'bullmq';
import type { ClusterConfig } from '../config/load.ts';
import type { FlowDeps } from '../operations/advance.ts';
import type { ScheduleStore } from '../operations/schedules.ts';
import type { Bucket } from '../storage/s3.ts';
import type { ClusterRoleCheck } from './approvers.ts';

/** Scheduled backups: where schedules are kept, and the queue whose job schedulers fire them. */
export interface ScheduleDeps {
  store: ScheduleStore;
  queue: Queue;
}

/** What the Slack handlers use. They record and enqueue; cluster work happens in the worker. */
export interface BotDeps extends FlowDeps {
  /** The cluster's `slack.approvers` (its own, else the global ones). */
  isApprover: ClusterRoleCheck;
  /** The cluster's `slack.requesters` (empty: anyone in an ops channel). */
  isRequester: ClusterRoleCheck;
  /** The backup bucket of a cluster, for `/pach list` and `/pach show` (read-only). */
  backupBucket(cluster: ClusterConfig): Bucket;
  /** Scheduled backups: the state database's schedules and the queue's schedulers. */
  schedules: ScheduleDeps;
  /** Runs a handler's work after its ack, a few at once (src/slack/after-ack.ts). */
  afterAck<T>(work: () => Promise<T>): Promise<T>;
}

/** One `/pach` subcommand's view of the request. */
export interface CommandRequest {
  userId: string;
  channelId: string;
  /** For opening a modal (valid for 3 s). */
  triggerId: string;
  client: webApi.WebClient;
  /** Replies only to the user who typed the command. */
  reply(text: string): Promise<void>;
}
