/** Shapes shared by the Slack stand-in: what it stores, records and hands back to tests. */

/** A Block Kit block or element as JSON; the stand-in only looks at a few fields. */
export type Block = { type: string; block_id?: string; [key: string]: unknown };

/** A message as the stand-in currently holds it (Slack's shape plus `channel`). */
export interface SlackMessage {
  type: 'message';
  channel: string;
  ts: string;
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  user: string;
  bot_id?: string;
  app_id?: string;
  team: string;
  text: string;
  blocks?: Block[];
  attachments?: Record<string, unknown>[];
  metadata?: unknown;
  edited?: { user: string; ts: string };
}

/** An ephemeral message: seen by one user only, never in the channel history. */
export interface EphemeralMessage {
  channel: string;
  user: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Block[];
  attachments?: Record<string, unknown>[];
  /** How it arrived: the Web API, a response_url POST, or a slash command's immediate (ack) reply. */
  via: 'chat.postEphemeral' | 'response_url' | 'ack';
  replaced?: boolean;
}

/** One Web API call as received (form/JSON fields decoded, `blocks`/`attachments`/`view` parsed). */
export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  result: Record<string, unknown>;
}

/** One POST to a response_url. */
export interface RecordedResponse {
  url: string;
  body: Record<string, unknown>;
  at: number;
  /** what the stand-in did with it */
  effect: 'ephemeral' | 'in_channel' | 'replaced' | 'deleted' | 'rejected';
  channel: string;
  user: string;
}

/** One element's entry in a view's `state.values`, as Slack sends it (`value`, `selected_option`…). */
export interface ViewStateValue {
  type: string;
  [field: string]: unknown;
}

/** `state.values`: block_id -> action_id -> entry. */
export type ViewStateValues = Record<string, Record<string, ViewStateValue>>;

/**
 * A view object as Slack returns it from views.* and sends it in payloads: the app's fields plus
 * id, hash, root_view_id, app/bot ids and defaults. In the stand-in's record `state.values` holds
 * only what the user has entered; payloads carry the full state (see `fullState`).
 */
export interface ViewObject {
  id: string;
  team_id: string;
  type: string;
  title: Block;
  submit: Block | null;
  close: Block | null;
  blocks: Block[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: ViewStateValues };
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string;
  previous_view_id: string | null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
  [key: string]: unknown;
}

/** A modal in the stand-in: on a user's screen (in their stack) until `closedAt` is set. */
export interface SlackView {
  id: string;
  /** whose screen it is on (the user the trigger_id was issued to) */
  user: string;
  view: ViewObject;
  /** the current hash (also `view.hash`); changes on every update */
  hash: string;
  openedAt: number;
  updatedAt: number;
  closedAt?: number;
  /** how it left: submitted (empty ack), cleared (response_action clear, or a close that clears the
   *  stack), closed by the user, or replaced by a new views.open for the same user */
  closedBy?: 'submit' | 'cleared' | 'user' | 'replaced';
  /** the errors of the last `response_action: 'errors'`, block_id -> message, shown under the
   *  inputs until the next submission or update */
  errors?: Record<string, string>;
}

export interface SlackChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  botIsMember: boolean;
  created: number;
}

export interface SlackUser {
  id: string;
  name: string;
  realName: string;
  tz: string;
  isBot: boolean;
  deleted: boolean;
}

/** What a response_url or trigger_id was issued for. */
export interface ResponseUrlGrant {
  kind: 'commands' | 'actions';
  channel: string;
  user: string;
  messageTs?: string;
  isEphemeral: boolean;
  threadTs?: string;
  uses: number;
  createdAt: number;
}

/** The bot's HTTP answer to a request the stand-in sent it. */
export interface BotReply {
  status: number;
  /** parsed JSON when the bot answered JSON, else the raw text ('' when empty) */
  body: unknown;
  text: string;
  ms: number;
}

/** The workspace identity the stand-in plays. */
export interface Workspace {
  teamId: string;
  teamDomain: string;
  teamName: string;
  appId: string;
  botId: string;
  botUserId: string;
  botName: string;
  verificationToken: string;
}
