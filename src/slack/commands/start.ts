import { PachopsError } from '../../errors.ts';
import { type Operation, requesterText } from '../../operations/model.ts';
import { type StartInput, startOperation } from '../../operations/start.ts';
import type { BotDeps } from '../deps.ts';

/** Starts an operation requested in Slack; a second one on a busy cluster is refused in Slack's terms. */
export async function startFromSlack(deps: BotDeps, input: Omit<StartInput, 'via'>): Promise<Operation> {
  if (!(await deps.isRequester(input.cluster, input.requestedBy))) {
    throw new PachopsError(
      'FORBIDDEN',
      `you are not allowed to request operations on ${input.cluster} (its slack.requesters)`,
      { permanent: true },
    );
  }
  try {
    return await startOperation(deps, { ...input, via: 'slack' });
  } catch (error) {
    if (error instanceof PachopsError && error.code === 'OPERATION_ACTIVE')
      throw await activeRefusal(deps, input.cluster);
    throw error;
  }
}

/** Who started the active operation and where its thread is. */
async function activeRefusal(deps: BotDeps, cluster: string): Promise<PachopsError> {
  const active = await deps.store.activeOperation(cluster);
  const where = active?.thread ? ` (its thread is in <#${active.thread.channel}>)` : '';
  const by = active ? requesterText(active) : undefined;
  const what = active
    ? `: ${active.kind} \`${active.backupId}\`, ${active.status}, requested by ${by}${where}`
    : '';
  return new PachopsError('OPERATION_ACTIVE', `${cluster} already has an active operation${what}`, {
    permanent: true,
    hint: 'only one operation per cluster runs at a time; finish or abort that one first',
  });
}
